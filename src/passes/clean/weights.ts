// What the clean-fp32 rules share: reading float32 constants, finding a value's only reader, a Conv's
// weight and bias as numbers, and writing folded weights back as new initializers (tensors are shared
// between clones of a model, so a fold never edits one in place).

import { DataType } from '../../onnx/dtype.js';
import type { Graph, Node } from '../../onnx/graph.js';
import { Tensor } from '../../onnx/tensor.js';

/** The values of a float32 initializer, or undefined when `name` is not one. */
export function floatConst(g: Graph, name: string | undefined): Float32Array | undefined {
  const t = name ? g.initializers.get(name) : undefined;
  return t?.dataType === DataType.FLOAT ? t.toFloat32() : undefined;
}

/** The dims of an initializer (undefined for a computed value). */
export const constDims = (g: Graph, name: string | undefined): readonly number[] | undefined => (name ? g.initializers.get(name)?.dims : undefined);

/** The one node that reads `value`, when exactly one does and the value is not a graph output. */
export function soleReader(g: Graph, value: string | undefined): Node | undefined {
  if (!value || g.outputs.some((o) => o.name === value)) return undefined;
  const rs = g.consumers().get(value) ?? [];
  return rs.length === 1 ? rs[0] : undefined;
}

/** For a binary op with exactly one float32 constant operand: the other operand and the constant's name. */
export function splitConstOperand(g: Graph, n: Node): { x: string; c: string } | undefined {
  if (n.inputs.length !== 2) return undefined;
  const [a, b] = n.inputs as [string, string];
  const ca = floatConst(g, a) !== undefined;
  const cb = floatConst(g, b) !== undefined;
  if (ca === cb) return undefined;
  return ca ? { x: b, c: a } : { x: a, c: b };
}

/** The scalar constant that `n` applies to `x`, when `n` is an `op` with operands `x` and a float32 scalar. */
export function scalarAfter(g: Graph, n: Node, op: string, x: string): number | undefined {
  const split = n.opType === op ? splitConstOperand(g, n) : undefined;
  return split?.x === x ? scalarConst(g, split.c) : undefined;
}

/**
 * A constant's values per channel of a tensor of rank `rank` whose axis 1 has `channels` entries, when
 * it broadcasts along that axis only (a scalar, [C], [C,1,1], [1,C,1,1], …) and so leaves the shape
 * unchanged; undefined otherwise.
 */
export function perChannel(g: Graph, name: string, channels: number, rank: number): Float64Array | undefined {
  const v = floatConst(g, name);
  const dims = constDims(g, name);
  if (!v || !dims || dims.length > rank) return undefined;
  const out = new Float64Array(channels);
  if (v.length === 1) return out.fill(v[0]!);
  const axis = dims.length - (rank - 1); // where axis 1 of the tensor lands in the constant's dims
  if (axis < 0 || dims[axis] !== channels || dims.some((d, i) => i !== axis && d !== 1)) return undefined;
  for (let c = 0; c < channels; c++) out[c] = v[c]!;
  return out;
}

/** A scalar constant (any rank, one element), or undefined. */
export function scalarConst(g: Graph, name: string | undefined): number | undefined {
  const v = floatConst(g, name);
  return v?.length === 1 ? v[0] : undefined;
}

export interface ConvWeights {
  /** [M, C/group, k…] */
  dims: readonly number[];
  w: Float64Array;
  /** [M]; zeros when the Conv has no bias. */
  b: Float64Array;
}

/** A float32 Conv's weight and bias as float64 numbers, or undefined when either is not a constant. */
export function convWeights(g: Graph, conv: Node): ConvWeights | undefined {
  if (conv.opType !== 'Conv' || !conv.isDefaultDomain) return undefined;
  const w = floatConst(g, conv.inputs[1]);
  const dims = constDims(g, conv.inputs[1]);
  if (!w || !dims || dims.length < 3) return undefined;
  const m = dims[0]!;
  const bias = conv.inputs[2] ? floatConst(g, conv.inputs[2]) : undefined;
  if (conv.inputs[2] && bias?.length !== m) return undefined;
  return { dims, w: Float64Array.from(w), b: bias ? Float64Array.from(bias) : new Float64Array(m) };
}

/** Writes folded weights to the Conv as new initializers (the old ones go when nothing reads them). */
export function setConvWeights(g: Graph, conv: Node, cw: ConvWeights): void {
  const fresh = g.namer();
  const base = conv.name || conv.outputs[0] || 'conv';
  const wName = fresh(`${base}_w_clean`);
  const bName = fresh(`${base}_b_clean`);
  g.initializers.set(wName, Tensor.fromFloat32(wName, cw.dims, Float32Array.from(cw.w)));
  g.initializers.set(bName, Tensor.fromFloat32(bName, [cw.dims[0]!], Float32Array.from(cw.b)));
  conv.inputs[1] = wName;
  conv.inputs[2] = bName;
}

/** Elements of one output channel's filter. */
export const filterSize = (dims: readonly number[]): number => dims.slice(1).reduce((a, d) => a * d, 1);

/**
 * Lets `producer` write `consumer`'s output and drops `consumer`: for a node folded into the one before
 * it. The producer's old output had no other reader, so graph outputs keep their names.
 */
export function absorbInto(g: Graph, producer: Node, consumer: Node): void {
  const old = producer.outputs[0]!;
  producer.outputs[0] = consumer.outputs[0]!;
  g.valueInfo.delete(old);
  g.nodes = g.nodes.filter((n) => n !== consumer);
}

export function removeNodes(g: Graph, ...drop: Node[]): void {
  g.nodes = g.nodes.filter((n) => !drop.includes(n));
}
