// HardSwish written out by the exporter, x·Clip(x + 3, 0, 6)/6 (Paddle2ONNX) or x·HardSigmoid(x, 1/6, ½),
// replaced by the HardSwish op (opset 14): one kernel instead of four, which ORT can then keep in its
// blocked layout next to the conv.

import type { Graph, Node } from '../../onnx/graph.js';
import type { CleanRule } from './rule.js';
import { removeNodes, scalarConst, soleReader, splitConstOperand } from './weights.js';

const near = (a: number | undefined, b: number) => a !== undefined && Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));
const is = (n: Node | undefined, op: string): n is Node => n?.opType === op && n.isDefaultDomain;

/** Clip's bounds: inputs from opset 11, attributes before. */
function clipBounds(g: Graph, clip: Node): [number | undefined, number | undefined] {
  if (clip.inputs.length > 1) return [scalarConst(g, clip.inputs[1]), scalarConst(g, clip.inputs[2])];
  return [clip.float('min'), clip.float('max')];
}

/** The gate g(x) ∈ [0, 6]·k that `gate` computes from x, as (x, nodes to drop, scale k), for k = 1 or 1/6. */
function gateOf(g: Graph, gate: Node | undefined): { x: string; nodes: Node[]; k: number } | undefined {
  if (is(gate, 'HardSigmoid') && near(gate.float('alpha', 0.2), 1 / 6) && near(gate.float('beta', 0.5), 0.5))
    return { x: gate.inputs[0]!, nodes: [gate], k: 1 / 6 };
  if (!is(gate, 'Clip')) return undefined;
  const [lo, hi] = clipBounds(g, gate);
  const add = g.producers().get(gate.inputs[0] ?? '');
  const split = is(add, 'Add') ? splitConstOperand(g, add) : undefined;
  if (lo !== 0 || hi !== 6 || !split || scalarConst(g, split.c) !== 3 || soleReader(g, add!.outputs[0]) !== gate) return undefined;
  return { x: split.x, nodes: [add!, gate], k: 1 };
}

/** Matches y = (x·gate)·(1/6) or (x·gate)/6 at `last` (gate from gateOf with k = 1), or x·HardSigmoid(x) at a Mul. */
function match(g: Graph, last: Node): { x: string; drop: Node[] } | undefined {
  const producers = g.producers();
  const tryMul = (mul: Node | undefined, k: number) => {
    if (!is(mul, 'Mul') || mul.inputs.length !== 2) return undefined;
    for (const [a, b] of [mul.inputs, [...mul.inputs].reverse()] as [string, string][]) {
      const gate = producers.get(b);
      const gt = gateOf(g, gate);
      if (gt && gt.x === a && near(gt.k, k) && soleReader(g, gate!.outputs[0]) === mul) return { x: a, drop: gt.nodes };
    }
    return undefined;
  };
  const direct = tryMul(last, 1 / 6);
  if (direct) return direct;
  const split = (is(last, 'Div') || is(last, 'Mul')) && splitConstOperand(g, last);
  if (!split || (last.opType === 'Div' && split.c !== last.inputs[1])) return undefined;
  const c = scalarConst(g, split.c);
  if (!(last.opType === 'Div' ? near(c, 6) : near(c, 1 / 6))) return undefined;
  const mul = producers.get(split.x);
  const inner = soleReader(g, split.x) === last ? tryMul(mul, 1) : undefined;
  return inner && { x: inner.x, drop: [...inner.drop, mul!] };
}

export const hardswish: CleanRule = {
  name: 'hardswish',
  description: 'x·Clip(x+3, 0, 6)/6 and x·HardSigmoid(x, 1/6, ½) replaced by one HardSwish (opset 14)',
  minOpset: 14,
  apply(g) {
    let k = 0;
    for (const last of [...g.nodes]) {
      if (!g.nodes.includes(last)) continue;
      const m = match(g, last);
      if (!m) continue;
      removeNodes(g, ...m.drop);
      last.opType = 'HardSwish';
      last.domain = '';
      last.inputs = [m.x];
      last.attributes.clear();
      k++;
    }
    return k;
  },
};
