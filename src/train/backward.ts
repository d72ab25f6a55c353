// The backward builder: appends to a graph the nodes that compute d(loss)/d(value) for chosen values,
// by walking the nodes in reverse topological order and applying each op's row of the gradient table.
// Gradients that reach a value along several paths are summed.

import { EdgefitError } from '../onnx/errors.js';
import { GraphBuilder } from '../onnx/builder.js';
import type { Graph } from '../onnx/graph.js';
import { Tensor } from '../onnx/tensor.js';
import { GradContext, isFloat, type ValueFacts } from '../ops/grad-context.js';
import { GRADIENTS } from '../ops/gradients.js';
import { EXPANSIONS, type BatchStats, type ExpandOptions } from '../ops/expand-norm.js';

export class MissingGradientError extends EdgefitError {
  constructor(opType: string, nodeName: string) {
    super(
      `no gradient rule for op '${opType}' (node '${nodeName}')`,
      'E_NO_GRADIENT',
      'freeze the parameters before this node (train only what comes after it), or add a rule to src/ops/gradients.ts',
    );
    this.name = 'MissingGradientError';
  }
}

/** Values that depend on any of `sources` through differentiable inputs. */
export function dependents(graph: Graph, sources: Iterable<string>): Set<string> {
  const s = new Set(sources);
  for (const n of graph.nodes) {
    const nondiff = n.isDefaultDomain ? (GRADIENTS[n.opType]?.nondiff ?? []) : [];
    if (n.inputs.some((i, k) => i && s.has(i) && !nondiff.includes(k))) for (const o of n.outputs) if (o) s.add(o);
  }
  return s;
}

/** Lets rows prepare forward nodes (MaxPool indices) before the graph is probed. */
export function prepareForward(graph: Graph, wrt: Iterable<string>): void {
  const dep = dependents(graph, wrt);
  const fresh = graph.namer();
  for (const n of graph.nodes) {
    const row = GRADIENTS[n.opType];
    if (row?.prepare && n.isDefaultDomain && n.inputs.some((i) => dep.has(i))) row.prepare(n, fresh);
  }
}

/**
 * Rewrites ops listed in EXPANSIONS (BatchNormalization, LayerNormalization) that lie on a gradient path
 * into primitive ops, in place. Needs facts for the ranks of their inputs. Returns batch statistics to track.
 */
export function expandForTraining(graph: Graph, wrt: Iterable<string>, facts: ValueFacts, opset: number, opts: ExpandOptions): BatchStats[] {
  const dep = dependents(graph, wrt);
  const stats: BatchStats[] = [];
  const scalars = new Map<string, string>();
  for (let k = 0; k < graph.nodes.length; k++) {
    const n = graph.nodes[k]!;
    const expand = n.isDefaultDomain ? EXPANSIONS[n.opType] : undefined;
    if (!expand || !n.inputs.some((i) => dep.has(i))) continue;
    const b = new GraphBuilder(graph);
    const before = graph.nodes.length;
    const s = expand(new GradContext(n, b, [], [], facts, opset, scalars), opts);
    if (s) stats.push(s);
    const added = graph.nodes.splice(before);
    graph.nodes.splice(k, 1, ...added);
    k += added.length - 1;
  }
  return stats;
}

/**
 * Appends the backward pass for scalar `loss` w.r.t. `wrt` to the graph; returns each value's gradient
 * name. Forward nodes must already be prepared/expanded and `facts` must cover every value.
 */
export function buildBackward(graph: Graph, loss: string, wrt: string[], facts: ValueFacts, opset: number): Map<string, string> {
  const requires = dependents(graph, wrt);
  if (!requires.has(loss))
    throw new EdgefitError(
      `the loss '${loss}' does not depend on any trainable parameter`,
      'E_NO_TRAINABLE',
      'check which parameters are trainable and that they feed the output the loss reads',
    );
  const reaches = new Set([loss]);
  for (let k = graph.nodes.length - 1; k >= 0; k--) {
    const n = graph.nodes[k]!;
    if (n.outputs.some((o) => reaches.has(o))) for (const i of n.inputs) if (i) reaches.add(i);
  }
  const b = new GraphBuilder(graph);
  const scalars = new Map<string, string>();
  const contributions = new Map<string, string[]>();
  const forward = [...graph.nodes];
  const lossShape = facts.shape(loss);
  const seed = b.constant('grad_seed', tensorOnes(facts.dtype(loss), lossShape));
  contributions.set(loss, [seed]);

  const total = (name: string): string | undefined => {
    const parts = contributions.get(name);
    if (!parts || parts.length === 0) return undefined;
    if (parts.length === 1) return parts[0];
    const s = b.op('Sum', parts, {}, { name: b.name(`grad/sum/${name}`) });
    contributions.set(name, [s]);
    return s;
  };

  for (let k = forward.length - 1; k >= 0; k--) {
    const n = forward[k]!;
    if (!n.outputs.some((o) => reaches.has(o) && requires.has(o))) continue;
    const gy = n.outputs.map((o) => (o ? total(o) : undefined));
    if (gy.every((g) => g === undefined)) continue;
    const row = n.isDefaultDomain ? GRADIENTS[n.opType] : undefined;
    const nondiff = row?.nondiff ?? [];
    const needs = n.inputs.map(
      (i, j) => !!i && requires.has(i) && reaches.has(i) && !nondiff.includes(j) && (isFloat(facts.dtype(i)) || !!row?.throughInt?.includes(j)),
    );
    if (!needs.some(Boolean)) continue;
    if (!row?.grad) throw new MissingGradientError(n.domain ? `${n.domain}.${n.opType}` : n.opType, n.name || `#${k}`);
    const grads = row.grad(new GradContext(n, b, gy, needs, facts, opset, scalars));
    n.inputs.forEach((input, j) => {
      const g = grads[j];
      if (!needs[j] || !g) return;
      const list = contributions.get(input);
      if (list) list.push(g);
      else contributions.set(input, [g]);
    });
  }

  const out = new Map<string, string>();
  for (const w of wrt) {
    let g = total(w);
    if (!g) {
      const shape = b.op('Shape', [w], {}, { name: b.name(`grad/zeros/${w}`) });
      g = b.op('ConstantOfShape', [shape], { value: tensorOnes(facts.dtype(w), [1], 0) });
    }
    out.set(w, g);
  }
  return out;
}

function tensorOnes(dt: number, dims: number[], value = 1): Tensor {
  return Tensor.fromNumbers('ones', dt, dims, new Array<number>(dims.reduce((p, q) => p * q, 1)).fill(value));
}
