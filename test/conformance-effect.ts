// The conformance suite's effect rule: what counts as "the pass changed the model", and on which
// models each transforming pass must change something. A pass that returns its input unchanged keeps
// every output within tolerance, so tolerance alone cannot catch it.

import { DataType } from '../src/onnx/dtype.js';
import { foldExporterHabits } from '../src/onnx/fold-exporter-habits.js';
import type { Graph } from '../src/onnx/graph.js';
import type { Model } from '../src/onnx/model.js';
import type { PassRecord } from '../src/passes/pass.js';

/** Node count, op-type histogram, initializer dtype histogram and zero float weights, over the main graph and every body. */
export function graphSignature(m: Model): string {
  const ops = new Map<string, number>();
  const dtypes = new Map<number, number>();
  let nodes = 0;
  let zeros = 0; // unstructured pruning shows only here
  m.graph.walk((g) => {
    for (const n of g.nodes) {
      nodes++;
      const k = `${n.domain}.${n.opType}`;
      ops.set(k, (ops.get(k) ?? 0) + 1);
    }
    for (const t of g.initializers.values()) {
      dtypes.set(t.dataType, (dtypes.get(t.dataType) ?? 0) + t.size);
      if (t.dataType === DataType.FLOAT) zeros += countZeroFloats(t.data);
    }
  });
  const sorted = <K>(x: Map<K, number>) => JSON.stringify([...x].sort((a, b) => String(a[0]).localeCompare(String(b[0]))));
  return `${nodes}|${sorted(ops)}|${sorted(dtypes)}|${zeros}`;
}

/** Float32 elements equal to ±0 in a little-endian raw buffer. */
function countZeroFloats(raw: Uint8Array): number {
  const data = raw.byteOffset % 4 === 0 ? raw : raw.slice();
  const u = new Uint32Array(data.buffer, data.byteOffset, data.byteLength >> 2);
  let n = 0;
  for (let i = 0; i < u.length; i++) if ((u[i]! & 0x7fffffff) === 0) n++;
  return n;
}

/** True for a node reading a 2-D float32 weight held by its own graph or the main graph. */
function hasWeightedMatMul(g: Graph, main: Graph): boolean {
  return g.nodes.some((n) => {
    if (!n.isDefaultDomain || (n.opType !== 'MatMul' && n.opType !== 'Gemm')) return false;
    const w = g.initializers.get(n.inputs[1] ?? '') ?? main.initializers.get(n.inputs[1] ?? '');
    return w?.dataType === DataType.FLOAT && w.dims.length === 2;
  });
}

/** Rows: why a pass applies to a model (after exporter folding, as the passes see it), or undefined. */
const APPLIES: Record<string, (main: Graph, graphs: Graph[]) => string | undefined> = {
  'quantize-dynamic': (main, gs) => (gs.some((g) => hasWeightedMatMul(g, main)) ? 'it has a MatMul/Gemm with a float32 2-D weight' : undefined),
  'quantize-int4': (main, gs) => (gs.some((g) => hasWeightedMatMul(g, main)) ? 'it has a MatMul/Gemm with a float32 2-D weight' : undefined),
  'quantize-static': (_, gs) =>
    gs.some((g) => g.nodes.some((n) => n.isDefaultDomain && ['Conv', 'MatMul', 'Gemm'].includes(n.opType))) ? 'it has Conv/MatMul/Gemm nodes' : undefined,
  fp16: (_, gs) => (gs.some((g) => [...g.initializers.values()].some((t) => t.dataType === DataType.FLOAT)) ? 'it has float32 initializers' : undefined),
};

/**
 * Why `pass` must change `model`, or undefined when it need not: a row of the table above, or the
 * pass's own record claiming work (a count above zero) that the graph must then show.
 */
export function passApplies(pass: string, model: Model, record: PassRecord): string | undefined {
  const row = APPLIES[pass];
  if (row) {
    const folded = model.clone();
    foldExporterHabits(folded);
    const graphs: Graph[] = [];
    folded.graph.walk((g) => graphs.push(g));
    const why = row(folded.graph, graphs);
    if (why) return why;
  }
  const claim = Object.entries(record.stats).find(([k, v]) => /quantized|converted|pruned|removed/i.test(k) && typeof v === 'number' && v > 0);
  return claim ? `its record says ${claim[0]} = ${claim[1]}` : undefined;
}
