// Graph utilities: what a node reads, topological order, dead-node removal. Reads from inside a node's
// subgraphs (If branches, Loop/Scan bodies reading outer values) count as reads of that node.

import { EdgefitError } from './errors.js';
import { Graph, cloneValueInfo, type Node, type ValueInfo } from './graph.js';
import type { Model } from './model.js';
import { inferShapes } from './shape-inference.js';

/** Every value a node reads: its inputs plus the outer-scope values its subgraphs read. */
export function nodeReads(n: Node): string[] {
  const out = n.inputs.filter((i) => i !== '');
  for (const g of n.subgraphs()) for (const name of g.outerScopeReads()) out.push(name);
  return out;
}

/** A binary min-heap of node positions, so that topoSort keeps the original order where it can. */
class MinHeap {
  private readonly a: number[] = [];
  get size(): number {
    return this.a.length;
  }
  push(v: number): void {
    const a = this.a;
    a.push(v);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]! <= v) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = v;
  }
  pop(): number {
    const a = this.a;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= a.length) break;
        const r = l + 1;
        const c = r < a.length && a[r]! < a[l]! ? r : l;
        if (a[c]! >= last) break;
        a[i] = a[c]!;
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}

/**
 * Puts `graph.nodes` in topological order (in place) and returns them. Among nodes that are ready at
 * the same time the original order wins, so an already sorted graph is unchanged. Values no node
 * produces (graph inputs, initializers, outer scope, or missing) do not constrain the order; subgraphs
 * are sorted too. A cycle is an error naming the nodes on it.
 */
export function topoSort(graph: Graph): Node[] {
  const nodes = graph.nodes;
  const producer = new Map<string, number>();
  nodes.forEach((n, k) => {
    for (const o of n.outputs) if (o && !producer.has(o)) producer.set(o, k);
  });
  const indegree = new Array<number>(nodes.length).fill(0);
  const users: number[][] = nodes.map(() => []);
  nodes.forEach((n, k) => {
    const deps = new Set<number>();
    for (const name of nodeReads(n)) {
      const p = producer.get(name);
      if (p !== undefined && p !== k) deps.add(p);
    }
    indegree[k] = deps.size;
    for (const p of deps) users[p]!.push(k);
  });
  const ready = new MinHeap();
  for (const [k, d] of indegree.entries()) if (d === 0) ready.push(k);
  const order: Node[] = [];
  while (ready.size > 0) {
    const k = ready.pop();
    order.push(nodes[k]!);
    for (const u of users[k]!) if (--indegree[u]! === 0) ready.push(u);
  }
  if (order.length !== nodes.length) {
    const stuck = nodes.filter((_, k) => indegree[k]! > 0).slice(0, 8);
    throw new EdgefitError(
      `graph '${graph.name}' has a cycle through ${stuck.map((n) => `${n.opType} '${n.name || n.outputs[0]}'`).join(', ')}`,
      'E_CYCLE',
      'a node reads a value that depends on its own output; the model is broken',
    );
  }
  graph.nodes = order;
  for (const n of order) for (const g of n.subgraphs()) topoSort(g);
  return order;
}

export interface DeadCodeResult {
  nodes: number;
  initializers: number;
}

/**
 * Removes nodes whose outputs nothing reads (transitively from the graph outputs), then initializers
 * and value_info that nothing reads, in this graph and every subgraph. Values a subgraph reads from
 * the enclosing graph keep their producers alive. Graph inputs that a caller feeds are kept.
 */
export function removeDeadNodes(graph: Graph, opts: { initializers?: boolean } = {}): DeadCodeResult {
  const result: DeadCodeResult = { nodes: 0, initializers: 0 };
  // inner graphs first: their dead nodes may be the only readers of outer values
  for (const n of graph.nodes)
    for (const g of n.subgraphs()) {
      const r = removeDeadNodes(g, opts);
      result.nodes += r.nodes;
      result.initializers += r.initializers;
    }
  const live = new Set<string>(graph.outputs.map((o) => o.name));
  const keep = new Array<boolean>(graph.nodes.length).fill(false);
  // walk backwards; a node is live if any output is live. Repeat until stable in case the graph is
  // not sorted (each round is linear; a sorted graph needs one).
  for (let changed = true; changed; ) {
    changed = false;
    for (let k = graph.nodes.length - 1; k >= 0; k--) {
      if (keep[k]) continue;
      const n = graph.nodes[k]!;
      if (!n.outputs.some((o) => o && live.has(o))) continue;
      keep[k] = true;
      changed = true;
      for (const r of nodeReads(n)) live.add(r);
    }
  }
  const before = graph.nodes.length;
  graph.nodes = graph.nodes.filter((_, k) => keep[k]);
  result.nodes += before - graph.nodes.length;
  if (opts.initializers !== false) {
    for (const name of [...graph.initializers.keys()]) {
      if (live.has(name)) continue;
      graph.initializers.delete(name);
      // an initializer listed as an input (IR < 4 style) is an optional input: drop both
      graph.inputs = graph.inputs.filter((i) => i.name !== name);
      result.initializers++;
    }
  }
  const names = new Set<string>(live);
  for (const n of graph.nodes) for (const o of n.outputs) names.add(o);
  for (const name of [...graph.valueInfo.keys()]) if (!names.has(name)) graph.valueInfo.delete(name);
  return result;
}

/**
 * A model that computes `outputs` from `inputs` (value names of `model`'s main graph): the nodes between
 * them, the initializers they read, and types from the declarations or shape inference. Original graph
 * inputs the outputs still depend on stay inputs. The given model is not changed.
 */
export function extractSubgraph(model: Model, inputs: string[], outputs: string[]): Model {
  const src = model.graph;
  const producer = src.producers();
  const cut = new Set(inputs);
  const keep = new Set<Node>();
  const needInputs = new Set<string>();
  const stack = [...outputs];
  const seen = new Set<string>();
  while (stack.length) {
    const v = stack.pop()!;
    if (seen.has(v)) continue;
    seen.add(v);
    if (cut.has(v) || src.initializers.has(v)) continue;
    const p = producer.get(v);
    if (!p) {
      if (src.inputs.some((i) => i.name === v)) needInputs.add(v);
      else throw new EdgefitError(`cannot extract '${v}': no node produces it and it is not an input`, 'E_EXTRACT', 'name values that exist in the main graph');
      continue;
    }
    if (keep.has(p)) continue;
    keep.add(p);
    stack.push(...nodeReads(p));
  }
  const inf = inferShapes(model);
  const typed = (name: string): ValueInfo => {
    const t = inf.types.get(name);
    const declared = src.typeOf(name);
    return { name, type: declared ?? (t ? { kind: 'tensor', elemType: t.elemType, shape: t.shape && [...t.shape] } : undefined) };
  };
  const g = new Graph(`${src.name}_extract`);
  g.nodes = src.nodes.filter((n) => keep.has(n)).map((n) => n.clone());
  g.inputs = [...src.inputs.filter((i) => needInputs.has(i.name)).map(cloneValueInfo), ...inputs.filter((i) => !needInputs.has(i)).map(typed)];
  for (const i of g.inputs)
    if (!i.type) throw new EdgefitError(`cannot extract from '${i.name}': its type is unknown`, 'E_EXTRACT', 'run shape inference first or pick another value');
  g.outputs = outputs.map(typed);
  const reads = new Set<string>(g.outputs.map((o) => o.name));
  for (const n of g.nodes) for (const r of nodeReads(n)) reads.add(r);
  for (const [name, t] of src.initializers) if (reads.has(name) && !cut.has(name)) g.initializers.set(name, t);
  for (const [name, vi] of src.valueInfo) if (reads.has(name) && !g.inputs.some((i) => i.name === name)) g.valueInfo.set(name, cloneValueInfo(vi));
  const m = model.clone();
  m.graph = g;
  return m;
}
