// Finds the concrete shape and element type of every value by running the graph once on sample
// inputs with every intermediate exposed as an output. Gradient rules use these facts to pick
// reduction axes and output paddings.

import type * as ort from 'onnxruntime-node';
import { DataType } from '../onnx/dtype.js';
import type { Model } from '../onnx/model.js';
import type { ValueFacts } from '../ops/grad-context.js';
import { createSession } from '../runtime/session.js';

const ORT_TYPES: Record<string, number> = {
  float32: DataType.FLOAT,
  float64: DataType.DOUBLE,
  float16: DataType.FLOAT16,
  int64: DataType.INT64,
  int32: DataType.INT32,
  int8: DataType.INT8,
  uint8: DataType.UINT8,
  bool: DataType.BOOL,
};

export class ProbedFacts implements ValueFacts {
  constructor(readonly values: Map<string, { shape: number[]; dtype: number }>) {}
  shape(name: string): number[] {
    const v = this.values.get(name);
    if (!v) throw new Error(`no probed shape for value '${name}'`);
    return v.shape;
  }
  dtype(name: string): number {
    const v = this.values.get(name);
    if (!v) throw new Error(`no probed type for value '${name}'`);
    return v.dtype;
  }
}

export async function probeFacts(model: Model, feeds: Record<string, ort.Tensor>): Promise<ProbedFacts> {
  const m = model.clone();
  const g = m.graph;
  const values = new Map<string, { shape: number[]; dtype: number }>();
  for (const [name, t] of g.initializers) values.set(name, { shape: [...t.dims], dtype: t.dataType });
  for (const [name, t] of Object.entries(feeds)) values.set(name, { shape: [...t.dims], dtype: ORT_TYPES[t.type] ?? DataType.UNDEFINED });
  const outs: string[] = [];
  for (const n of g.nodes) for (const o of n.outputs) if (o && !values.has(o)) outs.push(o);
  g.outputs = outs.map((name) => ({ name }));
  g.valueInfo.clear();
  const session = await createSession(m, { graphOptimizationLevel: 'disabled' });
  try {
    const used = new Set(session.inputNames);
    const r = await session.run(Object.fromEntries(Object.entries(feeds).filter(([k]) => used.has(k))));
    for (const name of outs) {
      const t = r[name];
      if (t) values.set(name, { shape: [...t.dims], dtype: ORT_TYPES[t.type] ?? DataType.UNDEFINED });
    }
  } finally {
    await session.release();
  }
  return new ProbedFacts(values);
}
