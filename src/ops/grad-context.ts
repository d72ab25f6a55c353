// What a gradient rule sees and the helpers it emits nodes with: the forward node, the incoming
// gradients of its outputs, which inputs need one, probed shapes and element types, and small
// builders (scalars of the right type, un-broadcasting, reductions spelled for the graph's opset).

import { DataType } from '../onnx/dtype.js';
import type { GraphBuilder } from '../onnx/builder.js';
import type { Node } from '../onnx/graph.js';
import { Tensor } from '../onnx/tensor.js';

/** Concrete shapes and element types of every value, found by running the forward graph once. */
export interface ValueFacts {
  shape(name: string): number[];
  dtype(name: string): number;
}

type Attr = number | string | number[] | Tensor;

export class GradContext {
  constructor(
    readonly node: Node,
    readonly b: GraphBuilder,
    /** Gradient of the loss w.r.t. each output of the node; undefined where none flows. */
    readonly gy: (string | undefined)[],
    /** Whether input k needs a gradient. */
    readonly needs: boolean[],
    readonly facts: ValueFacts,
    readonly opset: number,
    private readonly scalars: Map<string, string>,
  ) {}

  get x(): string[] {
    return this.node.inputs;
  }
  get y(): string[] {
    return this.node.outputs;
  }
  shape(name: string): number[] {
    return this.facts.shape(name);
  }
  rank(name: string): number {
    return this.facts.shape(name).length;
  }
  dtype(name: string): number {
    return this.facts.dtype(name);
  }
  op(opType: string, inputs: string[], attrs: Record<string, Attr> = {}): string {
    return this.b.op(opType, inputs, attrs, { name: this.b.name(`grad/${this.node.name || this.node.opType}/${opType}`) });
  }
  opN(opType: string, inputs: string[], attrs: Record<string, Attr>, outputs: number): string[] {
    return this.b.opN(opType, inputs, attrs, { outputs, name: this.b.name(`grad/${this.node.name || this.node.opType}/${opType}`) });
  }

  /** A scalar constant with the element type of `like` (shared between rules). */
  scalar(value: number, like: string | number): string {
    const dt = typeof like === 'number' ? like : this.dtype(like);
    const key = `${dt}:${value}`;
    let name = this.scalars.get(key);
    if (!name) {
      name = this.b.constant(`grad_const_${Object.is(value, -0) ? 0 : value}`.replace(/[^A-Za-z0-9_]/g, '_'), Tensor.scalar('c', dt, value));
      this.scalars.set(key, name);
    }
    return name;
  }
  int64s(values: number[]): string {
    const key = `i64:${values.join(',')}`;
    let name = this.scalars.get(key);
    if (!name) {
      name = this.b.int64s('grad_ints', values);
      this.scalars.set(key, name);
    }
    return name;
  }

  /** The incoming gradient of output k, or zeros shaped like that output when none flows. */
  gyOrZeros(k: number): string {
    return this.gy[k] ?? this.zerosLike(this.y[k]!);
  }
  zerosLike(name: string): string {
    return this.op('ConstantOfShape', [this.op('Shape', [name])], { value: Tensor.fromNumbers('v', this.dtype(name), [1], [0]) });
  }
  onesLike(name: string): string {
    return this.op('ConstantOfShape', [this.op('Shape', [name])], { value: Tensor.fromNumbers('v', this.dtype(name), [1], [1]) });
  }

  /** Sums `g` (shaped like the broadcast result) down to the shape of `to`, as broadcasting's gradient does. */
  unbroadcast(g: string, to: string, gShape: number[] = this.shape(this.y[0]!)): string {
    const target = this.shape(to);
    if (sameShape(gShape, target)) return g;
    const lead = gShape.length - target.length;
    const axes: number[] = [];
    for (let k = 0; k < gShape.length; k++) if (k < lead || (target[k - lead] === 1 && gShape[k] !== 1)) axes.push(k);
    let r = axes.length ? this.reduce('ReduceSum', g, axes, true) : g;
    if (lead > 0 || axes.length) r = this.op('Reshape', [r, this.op('Shape', [to])]);
    return r;
  }

  /** ReduceSum/ReduceMean over `axes`, with axes as an input or an attribute as the opset wants. */
  reduce(op: 'ReduceSum' | 'ReduceMean' | 'ReduceMax', x: string, axes: number[], keepdims: boolean): string {
    const axesAsInput = op === 'ReduceSum' ? this.opset >= 13 : this.opset >= 18;
    if (axesAsInput) return this.op(op, [x, this.int64s(axes)], { keepdims: keepdims ? 1 : 0 });
    return this.op(op, [x], { axes, keepdims: keepdims ? 1 : 0 });
  }
  unsqueeze(x: string, axes: number[]): string {
    return this.opset >= 13 ? this.op('Unsqueeze', [x, this.int64s(axes)]) : this.op('Unsqueeze', [x], { axes });
  }
  /** Transposes the last two dims of a value of rank r. */
  swapLast(x: string, r: number): string {
    const perm = Array.from({ length: r }, (_, k) => k);
    perm[r - 1] = r - 2;
    perm[r - 2] = r - 1;
    return this.op('Transpose', [x], { perm });
  }
  /** 1 where `cond` (bool) holds, else 0, in the element type of `like`. */
  mask(cond: string, like: string): string {
    return this.op('Cast', [cond], { to: this.dtype(like) });
  }
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, k) => d === b[k]);
}

export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

export function isFloat(dt: number): boolean {
  return dt === DataType.FLOAT || dt === DataType.DOUBLE || dt === DataType.FLOAT16 || dt === DataType.BFLOAT16;
}

/** A gradient rule: the gradient of each input (undefined where none is needed or defined). */
export type GradRule = (c: GradContext) => (string | undefined)[];
