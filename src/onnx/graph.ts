// The mutable graph IR: a Graph of Nodes joined by value names, with initializers, declared types and
// subgraphs (If/Loop/Scan bodies) held as Graph attributes. Names are the edges, as in ONNX itself.

import type { Tensor } from './tensor.js';
import type { ProtoObject } from './protobuf.js';

/** A dimension: a number when known, a name when symbolic ('batch'), undefined when unknown. */
export type Dim = number | string | undefined;

export type ValueType =
  | { kind: 'tensor'; elemType: number; shape?: Dim[] }
  | { kind: 'sparse'; elemType: number; shape?: Dim[] }
  | { kind: 'sequence'; elem?: ValueType }
  | { kind: 'map'; keyType: number; value?: ValueType }
  | { kind: 'optional'; elem?: ValueType };

export interface ValueInfo {
  name: string;
  type?: ValueType;
  docString?: string;
}

export type AttributeValue =
  | { type: 'float'; value: number }
  | { type: 'int'; value: number }
  | { type: 'string'; value: string }
  | { type: 'tensor'; value: Tensor }
  | { type: 'graph'; value: Graph }
  | { type: 'floats'; value: number[] }
  | { type: 'ints'; value: number[] }
  | { type: 'strings'; value: string[] }
  | { type: 'tensors'; value: Tensor[] }
  | { type: 'graphs'; value: Graph[] }
  /** sparse tensors and type protos: kept as decoded protobuf, written back unchanged. */
  | { type: 'opaque'; value: ProtoObject }
  /** A reference to an attribute of the enclosing function. */
  | { type: 'ref'; value: string; refType: number };

export class Node {
  attributes: Map<string, AttributeValue>;
  docString?: string;
  overload?: string;
  metadata?: [string, string][];

  constructor(
    public opType: string,
    public inputs: string[],
    public outputs: string[],
    public name = '',
    public domain = '',
    attributes?: Map<string, AttributeValue> | Record<string, AttributeValue>,
  ) {
    this.attributes = attributes instanceof Map ? attributes : new Map(Object.entries(attributes ?? {}));
  }

  /** ONNX domain '' and 'ai.onnx' are the same domain. */
  get isDefaultDomain(): boolean {
    return this.domain === '' || this.domain === 'ai.onnx';
  }

  attr(name: string): AttributeValue | undefined {
    return this.attributes.get(name);
  }
  int(name: string): number | undefined;
  int(name: string, fallback: number): number;
  int(name: string, fallback?: number): number | undefined {
    const a = this.attributes.get(name);
    return a?.type === 'int' ? a.value : fallback;
  }
  float(name: string): number | undefined;
  float(name: string, fallback: number): number;
  float(name: string, fallback?: number): number | undefined {
    const a = this.attributes.get(name);
    return a?.type === 'float' ? a.value : a?.type === 'int' ? a.value : fallback;
  }
  ints(name: string): number[] | undefined;
  ints(name: string, fallback: number[]): number[];
  ints(name: string, fallback?: number[]): number[] | undefined {
    const a = this.attributes.get(name);
    return a?.type === 'ints' ? a.value : fallback;
  }
  floats(name: string): number[] | undefined {
    const a = this.attributes.get(name);
    return a?.type === 'floats' ? a.value : undefined;
  }
  string(name: string): string | undefined;
  string(name: string, fallback: string): string;
  string(name: string, fallback?: string): string | undefined {
    const a = this.attributes.get(name);
    return a?.type === 'string' ? a.value : fallback;
  }
  tensor(name: string): Tensor | undefined {
    const a = this.attributes.get(name);
    return a?.type === 'tensor' ? a.value : undefined;
  }
  set(name: string, value: AttributeValue): this {
    this.attributes.set(name, value);
    return this;
  }
  /** Subgraphs held in this node's attributes (If branches, Loop/Scan bodies). */
  subgraphs(): Graph[] {
    const out: Graph[] = [];
    for (const a of this.attributes.values()) {
      if (a.type === 'graph') out.push(a.value);
      else if (a.type === 'graphs') out.push(...a.value);
    }
    return out;
  }
  /** A shallow copy: new arrays and attribute map, subgraphs cloned, tensors shared. */
  clone(): Node {
    const attrs = new Map<string, AttributeValue>();
    for (const [k, a] of this.attributes) {
      if (a.type === 'graph') attrs.set(k, { type: 'graph', value: a.value.clone() });
      else if (a.type === 'graphs') attrs.set(k, { type: 'graphs', value: a.value.map((g) => g.clone()) });
      else if (a.type === 'ints' || a.type === 'floats' || a.type === 'strings' || a.type === 'tensors')
        attrs.set(k, { ...a, value: [...a.value] } as AttributeValue);
      else attrs.set(k, a);
    }
    const n = new Node(this.opType, [...this.inputs], [...this.outputs], this.name, this.domain, attrs);
    n.docString = this.docString;
    n.overload = this.overload;
    if (this.metadata) n.metadata = this.metadata.map(([k, v]) => [k, v]);
    return n;
  }
}

export const attr = {
  int: (value: number): AttributeValue => ({ type: 'int', value }),
  float: (value: number): AttributeValue => ({ type: 'float', value }),
  string: (value: string): AttributeValue => ({ type: 'string', value }),
  ints: (value: number[]): AttributeValue => ({ type: 'ints', value }),
  floats: (value: number[]): AttributeValue => ({ type: 'floats', value }),
  strings: (value: string[]): AttributeValue => ({ type: 'strings', value }),
  tensor: (value: Tensor): AttributeValue => ({ type: 'tensor', value }),
  graph: (value: Graph): AttributeValue => ({ type: 'graph', value }),
};

export class Graph {
  nodes: Node[] = [];
  inputs: ValueInfo[] = [];
  outputs: ValueInfo[] = [];
  initializers = new Map<string, Tensor>();
  /** Types of intermediate values, by name. */
  valueInfo = new Map<string, ValueInfo>();
  docString?: string;
  /** Kept as decoded protobuf and written back unchanged. */
  sparseInitializers: ProtoObject[] = [];
  quantizationAnnotation: ProtoObject[] = [];
  metadata: [string, string][] = [];

  constructor(public name = 'graph') {}

  /** The node that produces each value. */
  producers(): Map<string, Node> {
    const m = new Map<string, Node>();
    for (const n of this.nodes) for (const o of n.outputs) if (o) m.set(o, n);
    return m;
  }

  /** The nodes that read each value (including reads from inside subgraphs of a node). */
  consumers(): Map<string, Node[]> {
    const m = new Map<string, Node[]>();
    const add = (name: string, n: Node) => {
      if (!name) return;
      const l = m.get(name);
      if (l) {
        if (l[l.length - 1] !== n) l.push(n);
      } else m.set(name, [n]);
    };
    for (const n of this.nodes) {
      for (const i of n.inputs) add(i, n);
      for (const g of n.subgraphs()) for (const name of g.outerScopeReads()) add(name, n);
    }
    return m;
  }

  /** Names this graph reads that it neither defines nor declares as inputs: values of enclosing graphs. */
  outerScopeReads(): Set<string> {
    const defined = new Set<string>([...this.inputs.map((i) => i.name), ...this.initializers.keys()]);
    for (const n of this.nodes) for (const o of n.outputs) defined.add(o);
    const out = new Set<string>();
    for (const n of this.nodes) {
      for (const i of n.inputs) if (i && !defined.has(i)) out.add(i);
      for (const g of n.subgraphs()) for (const i of g.outerScopeReads()) if (!defined.has(i)) out.add(i);
    }
    for (const o of this.outputs) if (!defined.has(o.name)) out.add(o.name);
    return out;
  }

  /** The declared type of a value: graph input/output, value_info, or initializer. */
  typeOf(name: string): ValueType | undefined {
    const init = this.initializers.get(name);
    if (init) return { kind: 'tensor', elemType: init.dataType, shape: [...init.dims] };
    const vi = this.valueInfo.get(name) ?? this.inputs.find((i) => i.name === name) ?? this.outputs.find((o) => o.name === name);
    return vi?.type;
  }

  /** Graph inputs that are not initializers (what a caller must feed). */
  realInputs(): ValueInfo[] {
    return this.inputs.filter((i) => !this.initializers.has(i.name));
  }

  /** Every value name in use in this graph (not subgraphs). */
  valueNames(): Set<string> {
    const s = new Set<string>([...this.inputs.map((i) => i.name), ...this.outputs.map((o) => o.name), ...this.initializers.keys(), ...this.valueInfo.keys()]);
    for (const n of this.nodes) {
      for (const i of n.inputs) if (i) s.add(i);
      for (const o of n.outputs) if (o) s.add(o);
      if (n.name) s.add(n.name);
    }
    return s;
  }

  /** A namer that returns names not yet used in this graph (nor handed out by it before). */
  namer(): (base: string) => string {
    const used = this.valueNames();
    return (base: string) => {
      let name = base;
      for (let k = 1; used.has(name); k++) name = `${base}_${k}`;
      used.add(name);
      return name;
    };
  }

  /** Rewrites every read of `from` to read `to` instead (node inputs and graph outputs). */
  replaceUses(from: string, to: string): void {
    for (const n of this.nodes) {
      for (let k = 0; k < n.inputs.length; k++) if (n.inputs[k] === from) n.inputs[k] = to;
      for (const g of n.subgraphs()) if (!g.definesName(from)) g.replaceUses(from, to);
    }
    for (const o of this.outputs) if (o.name === from) o.name = to;
  }

  definesName(name: string): boolean {
    return this.initializers.has(name) || this.inputs.some((i) => i.name === name) || this.nodes.some((n) => n.outputs.includes(name));
  }

  /** Deep copy of the structure; tensors are shared (they are immutable by convention). */
  clone(): Graph {
    const g = new Graph(this.name);
    g.nodes = this.nodes.map((n) => n.clone());
    g.inputs = this.inputs.map(cloneValueInfo);
    g.outputs = this.outputs.map(cloneValueInfo);
    g.initializers = new Map(this.initializers);
    g.valueInfo = new Map([...this.valueInfo].map(([k, v]) => [k, cloneValueInfo(v)]));
    g.docString = this.docString;
    g.sparseInitializers = [...this.sparseInitializers];
    g.quantizationAnnotation = [...this.quantizationAnnotation];
    g.metadata = this.metadata.map(([k, v]) => [k, v]);
    return g;
  }

  /** Calls `fn` on this graph and every subgraph, outermost first. */
  walk(fn: (g: Graph, parent?: Node) => void, parent?: Node): void {
    fn(this, parent);
    for (const n of this.nodes) for (const sub of n.subgraphs()) sub.walk(fn, n);
  }
}

export function cloneValueInfo(v: ValueInfo): ValueInfo {
  return { name: v.name, type: v.type ? cloneType(v.type) : undefined, docString: v.docString };
}

export function cloneType(t: ValueType): ValueType {
  switch (t.kind) {
    case 'tensor':
    case 'sparse':
      return { ...t, shape: t.shape ? [...t.shape] : undefined };
    case 'sequence':
    case 'optional':
      return { ...t, elem: t.elem ? cloneType(t.elem) : undefined };
    case 'map':
      return { ...t, value: t.value ? cloneType(t.value) : undefined };
  }
}

export function tensorType(elemType: number, shape?: Dim[]): ValueType {
  return { kind: 'tensor', elemType, shape };
}
