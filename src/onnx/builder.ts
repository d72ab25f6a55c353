// Builds models in code: tests, fixtures, training graphs and passes use it to emit nodes.
//   const b = new GraphBuilder('mlp');
//   const x = b.input('x', DataType.FLOAT, ['batch', 784]);
//   const h = b.op('Relu', [b.op('MatMul', [x, b.constant('w1', w1)])]);
//   b.output(h); const model = b.model({ opset: 17 });

import { DataType } from './dtype.js';
import { Graph, Node, type AttributeValue, type Dim, type ValueType } from './graph.js';
import { Model } from './model.js';
import { Tensor } from './tensor.js';

type AttrInput = number | string | number[] | string[] | Tensor | Graph | AttributeValue;

/** Turns plain values into attributes: integers → int, other numbers → float; arrays likewise. */
export function toAttribute(v: AttrInput, floatHint = false): AttributeValue {
  if (v instanceof Tensor) return { type: 'tensor', value: v };
  if (v instanceof Graph) return { type: 'graph', value: v };
  if (typeof v === 'number') return Number.isInteger(v) && !floatHint ? { type: 'int', value: v } : { type: 'float', value: v };
  if (typeof v === 'string') return { type: 'string', value: v };
  if (Array.isArray(v)) {
    if (v.length > 0 && typeof v[0] === 'string') return { type: 'strings', value: v as string[] };
    const nums = v as number[];
    return nums.every((x) => Number.isInteger(x)) && !floatHint ? { type: 'ints', value: nums } : { type: 'floats', value: nums };
  }
  return v;
}

/** Attributes that ONNX declares as float even when the value is whole (alpha: 1, epsilon…). */
const FLOAT_ATTRS = new Set([
  'alpha',
  'beta',
  'gamma',
  'epsilon',
  'momentum',
  'ratio',
  'bias',
  'lambd',
  'min',
  'max',
  'value_float',
  'value_floats',
  'scale',
  'scales',
  'spatial_scale',
  'extrapolation_value',
  'cubic_coeff_a',
  'seed',
]);

export class GraphBuilder {
  readonly graph: Graph;
  private readonly fresh: (base: string) => string;
  private counter = 0;

  constructor(graphOrName: Graph | string = 'graph') {
    this.graph = typeof graphOrName === 'string' ? new Graph(graphOrName) : graphOrName;
    this.fresh = this.graph.namer();
  }

  name(base: string): string {
    return this.fresh(base);
  }

  input(name: string, elemType: number = DataType.FLOAT, shape?: Dim[]): string {
    this.graph.inputs.push({ name, type: { kind: 'tensor', elemType, shape } });
    this.fresh(name);
    return name;
  }

  output(name: string, elemType: number = DataType.FLOAT, shape?: Dim[]): string {
    this.graph.outputs.push({ name, type: { kind: 'tensor', elemType, shape } });
    return name;
  }

  /** Adds an initializer; renames it if the name is taken. Returns the value name. */
  constant(name: string, t: Tensor): string {
    const n = this.graph.initializers.has(name) ? this.fresh(name) : (this.fresh(name), name);
    this.graph.initializers.set(n, t.withName(n));
    return n;
  }

  floats(name: string, dims: number[], values: ArrayLike<number>): string {
    return this.constant(name, Tensor.fromNumbers(name, DataType.FLOAT, dims, values));
  }

  int64s(name: string, values: number[], dims: number[] = [values.length]): string {
    return this.constant(name, Tensor.fromInt64(name, dims, values));
  }

  scalar(name: string, value: number, dt: number = DataType.FLOAT): string {
    return this.constant(name, Tensor.scalar(name, dt, value));
  }

  /** Appends a node; returns its first output name. */
  op(
    opType: string,
    inputs: string[],
    attrs: Record<string, AttrInput> = {},
    opts: { outputs?: number | string[]; name?: string; domain?: string } = {},
  ): string {
    return this.opN(opType, inputs, attrs, opts)[0]!;
  }

  /** Appends a node; returns all its output names. */
  opN(
    opType: string,
    inputs: string[],
    attrs: Record<string, AttrInput> = {},
    opts: { outputs?: number | string[]; name?: string; domain?: string } = {},
  ): string[] {
    const nodeName = opts.name ?? this.fresh(`${opType}_${this.counter++}`);
    const outs = Array.isArray(opts.outputs) ? opts.outputs : Array.from({ length: opts.outputs ?? 1 }, (_, k) => this.fresh(`${nodeName}_out${k}`));
    const a = new Map<string, AttributeValue>();
    for (const [k, v] of Object.entries(attrs)) a.set(k, toAttribute(v, FLOAT_ATTRS.has(k)));
    this.graph.nodes.push(new Node(opType, inputs, outs, nodeName, opts.domain ?? '', a));
    return outs;
  }

  setType(name: string, type: ValueType): void {
    this.graph.valueInfo.set(name, { name, type });
  }

  model(opts: { opset?: number; irVersion?: number; extraOpsets?: Record<string, number> } = {}): Model {
    const m = new Model(this.graph);
    m.opsetImports = [{ domain: '', version: opts.opset ?? 17 }];
    for (const [d, v] of Object.entries(opts.extraOpsets ?? {})) m.opsetImports.push({ domain: d, version: v });
    m.irVersion = opts.irVersion ?? 8;
    return m;
  }
}
