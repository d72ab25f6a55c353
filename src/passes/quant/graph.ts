// Small graph queries the quantization passes share: a Q/DQ node's per-tensor uint8 parameters, which
// nodes match an exclude list, whether a value is a float weight, and fresh names.

import { DataType } from '../../onnx/dtype.js';
import type { Graph, Node } from '../../onnx/graph.js';
import type { Tensor } from '../../onnx/tensor.js';

/** The scale and zero point of a Q or DQ node with per-tensor uint8 parameters (one-element initializers), else undefined. */
export function uint8QParams(graph: Graph, n: Node): { scale: number; zp: number } | undefined {
  const s = n.inputs[1] ? graph.initializers.get(n.inputs[1]) : undefined;
  const z = n.inputs[2] ? graph.initializers.get(n.inputs[2]) : undefined;
  if (s?.size !== 1 || z?.size !== 1 || z.dataType !== DataType.UINT8) return undefined;
  return { scale: s.toNumbers()[0]!, zp: z.toNumbers()[0]! };
}

/** True if the node's name or op type is in the list (the CLI's --exclude accepts both). */
export function isExcluded(node: Node, exclude: readonly string[] | undefined): boolean {
  return !!exclude && (exclude.includes(node.name) || exclude.includes(node.opType));
}

/** The float32 initializer behind a value name, or undefined when it is an activation. */
export function floatWeight(graph: Graph, name: string | undefined): Tensor | undefined {
  if (!name) return undefined;
  const t = scopedInitializer(graph, name);
  return t && t.dataType === DataType.FLOAT ? t : undefined;
}

/** Whether a value is read by exactly one node and is not a graph output. */
export function singleUse(graph: Graph, consumers: Map<string, Node[]>, name: string): boolean {
  return (consumers.get(name)?.length ?? 0) === 1 && !graph.outputs.some((o) => o.name === name);
}

/** Adds the com.microsoft opset import if absent. */
export function ensureMsDomain(model: { opset(d: string): number | undefined; setOpset(d: string, v: number): void }): void {
  if (model.opset('com.microsoft') === undefined) model.setOpset('com.microsoft', 1);
}

/** Removes initializers no node (or graph output) reads any more. */
export function dropUnusedInitializers(graph: Graph): number {
  const used = new Set<string>();
  for (const n of graph.nodes) {
    for (const i of n.inputs) used.add(i);
    for (const g of n.subgraphs()) for (const r of g.outerScopeReads()) used.add(r);
  }
  for (const o of graph.outputs) used.add(o.name);
  let dropped = 0;
  for (const name of [...graph.initializers.keys()]) {
    if (!used.has(name)) {
      graph.initializers.delete(name);
      const k = graph.inputs.findIndex((i) => i.name === name);
      if (k >= 0) graph.inputs.splice(k, 1);
      dropped++;
    }
  }
  return dropped;
}

// Subgraphs: a body (If branch, Loop/Scan body) reads weights of the graphs around it by name.
const parents = new WeakMap<Graph, Graph>();

/** Records, for every subgraph under `root`, the graph around it, so lookups can reach outer scope. */
export function linkScopes(root: Graph): void {
  root.walk((g, parent) => {
    if (!parent) return;
    const outer = findGraphHolding(root, parent);
    if (outer) parents.set(g, outer);
  });
}

function findGraphHolding(root: Graph, node: Node): Graph | undefined {
  let hit: Graph | undefined;
  root.walk((g) => {
    if (!hit && g.nodes.includes(node)) hit = g;
  });
  return hit;
}

/** The initializer a name resolves to in `graph` or, where the graph does not define it, in the graphs around it. */
export function scopedInitializer(graph: Graph, name: string): Tensor | undefined {
  for (let g: Graph | undefined = graph; g; g = parents.get(g)) {
    const t = g.initializers.get(name);
    if (t) return t;
    if (g.definesName(name)) return undefined;
  }
  return undefined;
}

/** Every graph of the model, main graph first, with whether it is a subgraph. */
export function allGraphs(root: Graph): Graph[] {
  const out: Graph[] = [];
  root.walk((g) => out.push(g));
  return out;
}

/** A namer whose names are fresh across the main graph and every subgraph (ONNX forbids shadowing). */
export function modelNamer(root: Graph): (base: string) => string {
  const used = new Set<string>();
  for (const g of allGraphs(root)) for (const n of g.valueNames()) used.add(n);
  return (base: string) => {
    let name = base;
    for (let k = 1; used.has(name); k++) name = `${base}_${k}`;
    used.add(name);
    return name;
  };
}
