// Unstructured and N:M magnitude pruning of Conv/MatMul/Gemm weights: weights are set to zero, shapes
// stay. PyTorch's l1_unstructured semantics: round(ratio · size) weights of smallest |w| per layer, or
// over all layers at once (global_unstructured). N:M keeps the N largest |w| of every M consecutive
// weights along the reduction axis (2:4, 4:8). The gain is file size after compression: ONNX Runtime's
// CPU kernels are dense, so expect no speed-up (bench/prune.ts measures it).

import { gzipSync } from 'node:zlib';
import { constantsToInitializers } from '../onnx/constants.js';
import { DataType } from '../onnx/dtype.js';
import { UsageError } from '../onnx/errors.js';
import type { Graph, Node } from '../onnx/graph.js';
import type { Model } from '../onnx/model.js';
import { Tensor } from '../onnx/tensor.js';
import { serializeModel } from '../onnx/write-model.js';
import type { Pass, PassRecord, Skipped } from './pass.js';
import { isExcluded } from './quant/graph.js';

export interface PruneMagnitudeParams {
  [k: string]: number | boolean | string | string[] | undefined;
  ratio?: number;
  scope?: 'layer' | 'global';
  /** '2:4' or '4:8' (N:M; ratio unused), '' for unstructured. */
  nm?: string;
  exclude?: string[];
  /** Also gzip the model before and after (slow on big models). */
  measureSize?: boolean;
}

interface Target {
  node: Node;
  name: string;
  t: Tensor;
  /** Reduction axis of the weight (N:M groups run along it). */
  axis: number;
}

function targets(g: Graph, exclude: string[] | undefined, skipped: Skipped[]): Target[] {
  const out: Target[] = [];
  const seen = new Set<string>();
  for (const n of g.nodes) {
    if (!n.isDefaultDomain || (n.opType !== 'Conv' && n.opType !== 'MatMul' && n.opType !== 'Gemm')) continue;
    const name = n.inputs[1]!;
    const t = g.initializers.get(name);
    if (!t || t.dataType !== DataType.FLOAT || t.dims.length < 2 || seen.has(name)) continue;
    if (isExcluded(n, exclude)) {
      skipped.push({ node: n.name, opType: n.opType, reason: 'excluded by parameter' });
      continue;
    }
    seen.add(name);
    const axis = n.opType === 'Conv' ? 1 : n.opType === 'Gemm' && n.int('transB', 0) ? 1 : 0;
    out.push({ node: n, name, t, axis });
  }
  return out;
}

/** Indices of the k smallest |v| (ties: lower index first, as a stable sort gives). */
function smallest(v: Float32Array, k: number): Uint32Array {
  const idx = Uint32Array.from({ length: v.length }, (_, i) => i);
  idx.sort((a, b) => Math.abs(v[a]!) - Math.abs(v[b]!) || a - b);
  return idx.subarray(0, k);
}

/** Zeroes all but the N largest |w| in each group of M along `axis` (the rest of a short group stays). */
function nmMask(v: Float32Array, dims: readonly number[], axis: number, n: number, m: number): Float32Array {
  const out = Float32Array.from(v);
  const len = dims.slice(axis).reduce((a, b) => a * b, 1);
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = v.length / len;
  const along = dims[axis]!;
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < inner; i++)
      for (let s = 0; s + m <= along; s += m) {
        const at = Array.from({ length: m }, (_, j) => o * len + (s + j) * inner + i);
        at.sort((a, b) => Math.abs(v[a]!) - Math.abs(v[b]!) || a - b);
        for (const p of at.slice(0, m - n)) out[p] = 0;
      }
  return out;
}

function parseNm(nm: string): [number, number] | undefined {
  if (!nm) return undefined;
  const m = /^(\d+):(\d+)$/.exec(nm);
  const n = Number(m?.[1]);
  const mm = Number(m?.[2]);
  if (!m || !(n >= 1 && n < mm && mm <= 64)) throw new UsageError(`prune-magnitude: nm '${nm}' is not N:M with 1 ≤ N < M ≤ 64`, "write e.g. '2:4' or '4:8'");
  return [n, mm];
}

export async function pruneMagnitude(source: Model, params: PruneMagnitudeParams): Promise<{ model: Model; record: PassRecord }> {
  const ratio = params.ratio ?? 0;
  const scope = params.scope ?? 'layer';
  const nm = parseNm(params.nm ?? '');
  if (!(ratio >= 0 && ratio <= 1)) throw new UsageError(`prune-magnitude: ratio ${ratio} is outside [0, 1]`);
  const record: PassRecord = {
    pass: 'prune-magnitude',
    params: { ratio, scope, nm: params.nm ?? '', exclude: params.exclude },
    stats: {},
    skipped: [],
    notes: [],
  };
  if (!nm && ratio === 0) return { model: source.clone(), record };
  const model = source.clone();
  constantsToInitializers(model);
  const g = model.graph;
  const ts = targets(g, params.exclude, record.skipped);
  const values = ts.map((x) => Float32Array.from(x.t.toFloat32()));
  if (nm) for (const [k, v] of values.entries()) v.set(nmMask(v, ts[k]!.t.dims, ts[k]!.axis, nm[0], nm[1]));
  else if (scope === 'layer') for (const v of values) for (const i of smallest(v, Math.round(ratio * v.length))) v[i] = 0;
  else {
    const all = new Float32Array(values.reduce((a, v) => a + v.length, 0));
    let at = 0;
    for (const v of values) {
      all.set(v, at);
      at += v.length;
    }
    for (const i of smallest(all, Math.round(ratio * all.length))) all[i] = 0;
    at = 0;
    for (const v of values) {
      v.set(all.subarray(at, at + v.length));
      at += v.length;
    }
  }
  let total = 0;
  let zeros = 0;
  ts.forEach((x, k) => {
    const v = values[k]!;
    g.initializers.set(x.name, Tensor.fromFloat32(x.name, x.t.dims, v));
    total += v.length;
    for (const w of v) if (w === 0) zeros++;
  });
  record.stats = { layers: ts.length, weights: total, zeros, sparsity: total ? zeros / total : 0 };
  if (params.measureSize) {
    record.stats.gzipBefore = gzipSync(serializeModel(source)).length;
    record.stats.gzipAfter = gzipSync(serializeModel(model)).length;
  }
  record.notes.push("shapes are unchanged and ONNX Runtime's CPU kernels are dense: expect a smaller compressed file, not a faster model");
  return { model, record };
}

export const pruneMagnitudePass: Pass<PruneMagnitudeParams> = {
  name: 'prune-magnitude',
  description: 'sets the smallest weights of Conv/MatMul/Gemm to zero (unstructured, or N:M); smaller when compressed, not faster in ORT',
  params: {
    ratio: { type: 'number', default: 0, min: 0, max: 1, description: 'fraction of weights set to zero (PyTorch l1_unstructured); 0 changes nothing' },
    scope: { type: 'enum', values: ['layer', 'global'], default: 'layer', description: 'the ratio in every layer, or over all layers at once' },
    nm: { type: 'string', default: '', description: "N:M sparsity along the reduction axis, e.g. '2:4' or '4:8' (ratio unused); empty: unstructured" },
    exclude: { type: 'string[]', default: [], description: 'node names or op types left dense' },
    measureSize: { type: 'boolean', default: false, description: 'record the gzip size of the model before and after' },
  },
  // The default ratio 0 changes nothing; a ratio > 0 moves the outputs by design until recovery.
  tolerance: { metric: 'maxAbs', value: 0 },
  effect: { params: { ratio: 0.5 }, why: 'half the weights of each layer set to zero (no speed in ORT; smaller compressed file)' },
  run: (model, params) => pruneMagnitude(model, params),
};
