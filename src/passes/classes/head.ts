// The classifier head of a model: the graph output whose last axis is classes, computed as
// [Softmax | LogSoftmax](Add(MatMul(x, W), b)) or a Gemm, with W (and b) constant. This is the shape
// PaddleOCR rec (its CTC head over 6,625 characters), torch.onnx's Linear and most classifiers take.
// Found here, it can be narrowed to the classes a task uses (narrow-head.ts).

import type { Graph, Node } from '../../onnx/graph.js';
import type { Tensor } from '../../onnx/tensor.js';
import { floatWeight } from '../quant/graph.js';

export interface ClassHead {
  /** The graph output holding one score per class on its last axis. */
  output: string;
  /** MatMul or Gemm: the node whose weight columns are the classes. */
  linear: Node;
  /** The weight, [D, C] (or [C, D] for a Gemm with transB). */
  weight: Tensor;
  /** Whether the weight is [C, D] (Gemm transB = 1). */
  transposed: boolean;
  /** The bias Add after a MatMul (absent for a Gemm, or a MatMul without bias). */
  biasAdd?: Node;
  /** The bias, C values (a Gemm's C input or the Add's constant). */
  bias?: Tensor;
  /** Softmax or LogSoftmax over the classes, when the output is normalised. */
  normalise?: Node;
  classes: number;
}

/** Skips Identity nodes back to the value they pass on (torch.onnx shares weights through them). */
function throughIdentity(name: string, producers: Map<string, Node>): string {
  let n = producers.get(name);
  for (let k = 0; n?.isDefaultDomain && n.opType === 'Identity' && k < 16; k++) {
    name = n.inputs[0]!;
    n = producers.get(name);
  }
  return name;
}

/** Whether a normalising node works on the last axis of a tensor of `rank` (undefined: unknown). */
function onLastAxis(node: Node, opset: number, rank: number | undefined): boolean {
  const axis = node.int('axis', opset >= 13 ? -1 : 1);
  if (axis === -1) return true;
  return rank !== undefined && axis === rank - 1;
}

/** One consumer only, and not a graph output: the value can change width without anyone else seeing it. */
function private1(g: Graph, consumers: Map<string, Node[]>, name: string): boolean {
  return (consumers.get(name)?.length ?? 0) === 1 && !g.outputs.some((o) => o.name === name);
}

/** The linear part (MatMul + bias Add, or Gemm) that produces `name`, or why it is not one. */
function linearAt(g: Graph, name: string, producers: Map<string, Node>, consumers: Map<string, Node[]>): Omit<ClassHead, 'output' | 'normalise'> | string {
  const p = producers.get(name);
  if (!p?.isDefaultDomain) return 'it is not computed by a MatMul, Gemm or bias Add';
  if (p.opType === 'Gemm') {
    const weight = floatWeight(g, throughIdentity(p.inputs[1] ?? '', producers));
    if (weight?.dims.length !== 2 || p.int('transA', 0) !== 0) return 'its Gemm has no constant 2-D weight (or transposes its input)';
    const transposed = p.int('transB', 0) === 1;
    const classes = weight.dims[transposed ? 0 : 1]!;
    const bias = p.inputs[2] ? floatWeight(g, throughIdentity(p.inputs[2], producers)) : undefined;
    if (p.inputs[2] && (!bias || bias.size !== classes)) return 'its Gemm bias is not one constant per class';
    return { linear: p, weight, transposed, ...(bias ? { bias } : {}), classes };
  }
  let biasAdd: Node | undefined;
  let bias: Tensor | undefined;
  let mm = p;
  if (p.opType === 'Add') {
    const k = p.inputs.findIndex((i) => floatWeight(g, throughIdentity(i, producers)));
    if (k < 0) return 'its Add has no constant bias';
    bias = floatWeight(g, throughIdentity(p.inputs[k]!, producers))!;
    const other = p.inputs[1 - k]!;
    const q = producers.get(other);
    if (!q || !private1(g, consumers, other)) return 'the bias is not added to a MatMul read by the Add alone';
    biasAdd = p;
    mm = q;
  }
  if (!mm.isDefaultDomain || mm.opType !== 'MatMul') return 'it is not computed by a MatMul, Gemm or bias Add';
  const weight = floatWeight(g, throughIdentity(mm.inputs[1] ?? '', producers));
  if (weight?.dims.length !== 2) return 'its MatMul has no constant 2-D weight';
  const classes = weight.dims[1]!;
  if (bias && (bias.size !== classes || bias.dims.slice(0, -1).some((d) => d !== 1))) return 'its bias is not one value per class on the last axis';
  return { linear: mm, weight, transposed: false, ...(biasAdd ? { biasAdd, bias: bias! } : {}), classes };
}

/** The class head behind graph output `output`, or why there is none. */
export function findClassHead(g: Graph, output: string, opset: number): ClassHead | string {
  const producers = g.producers();
  const consumers = g.consumers();
  const last = producers.get(output);
  if (!last) return `output ${output} is not computed by a node`;
  let normalise: Node | undefined;
  let logits = output;
  if (last.isDefaultDomain && (last.opType === 'Softmax' || last.opType === 'LogSoftmax')) {
    normalise = last;
    logits = last.inputs[0]!;
    if (!private1(g, consumers, logits)) return `the scores before ${last.opType} are read elsewhere too`;
  }
  const lin = linearAt(g, logits, producers, consumers);
  if (typeof lin === 'string') return `output ${output}: ${lin}`;
  const rank = g.typeOf(logits)?.kind === 'tensor' ? (g.typeOf(logits) as { shape?: unknown[] }).shape?.length : undefined;
  if (normalise && !onLastAxis(normalise, opset, rank ?? (lin.linear.opType === 'Gemm' ? 2 : undefined)))
    return `output ${output}: its ${normalise.opType} is not over the last axis`;
  return { output, ...lin, ...(normalise ? { normalise } : {}) };
}
