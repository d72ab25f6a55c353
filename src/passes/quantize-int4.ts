// Weight-only 4-bit quantization: MatMul (and Gemm with transB) weights become com.microsoft
// MatMulNBits blocks (block size, symmetric or asymmetric, accuracy_level as parameters). Activations
// stay float; with accuracy_level 4 ORT quantizes them to int8 inside the kernel, which is what makes
// int4 fast on CPU. Methods: 'rtn' (round to nearest, per block), 'gptq' (error feedback through the
// inverse Hessian of calibration activations) and 'hqq' (data-free lp-norm zero-point optimization).

import type * as ort from 'onnxruntime-node';
import { DataType } from '../onnx/dtype.js';
import { UsageError } from '../onnx/errors.js';
import { Node, attr, type Graph } from '../onnx/graph.js';
import type { Model } from '../onnx/model.js';
import { Tensor } from '../onnx/tensor.js';
import { createSession } from '../runtime/session.js';
import type { Pass, PassContext, PassRecord, Skipped } from './pass.js';
import { type BlockQuant, dequantizeBlocks, packMatMulNBits, quantizeBlocksRtn } from './quant/block.js';
import { toOrtFeeds } from './quant/calibrate.js';
import { type GptqFactor, HessianAccumulator, gptqFactor, quantizeBlocksGptq } from './quant/gptq.js';
import { type HqqQuant, quantizeBlocksHqq } from './quant/hqq.js';
import { allGraphs, dropUnusedInitializers, ensureMsDomain, floatWeight, isExcluded, linkScopes, modelNamer, singleUse } from './quant/graph.js';
import { foldExporterHabits } from '../onnx/fold-exporter-habits.js';
import { transpose2d } from './quant/math.js';

export interface QuantizeInt4Params {
  [k: string]: number | boolean | string | string[] | undefined;
  blockSize?: number;
  symmetric?: boolean;
  accuracyLevel?: number;
  method?: 'rtn' | 'gptq' | 'hqq';
  floatZeroPoints?: boolean;
  damp?: number;
  exclude?: string[];
  minWeightElements?: number;
  /** Fold exporter habits first (default true). Not a declared parameter: the CLI and the search always fold; tests turn it off. */
  foldExporterHabits?: boolean;
}

interface Target {
  node: Node;
  a: string;
  /** Weight transposed, [N, K]: MatMulNBits wants one row per output channel. */
  wT: Float32Array;
  k: number;
  n: number;
  bias?: Float32Array;
  biasAdd?: Node;
  out: string;
}

function findTargets(g: Graph, params: QuantizeInt4Params, blockSize: number, skipped: Skipped[]): Target[] {
  const consumers = g.consumers();
  const targets: Target[] = [];
  const minElems = params.minWeightElements ?? 0;
  for (const node of g.nodes) {
    if (!node.isDefaultDomain || (node.opType !== 'MatMul' && node.opType !== 'Gemm')) continue;
    const skip = (reason: string) => skipped.push({ node: node.name, opType: node.opType, reason });
    if (isExcluded(node, params.exclude)) {
      skip('excluded by parameter');
      continue;
    }
    const w = floatWeight(g, node.inputs[1]);
    if (!w) {
      skip(g.initializers.has(node.inputs[1] ?? '') ? 'weight is not float32' : 'both inputs are activations (weight-only quantization)');
      continue;
    }
    if (w.dims.length !== 2) {
      skip(`weight has rank ${w.dims.length}; only 2-D weights are quantized`);
      continue;
    }
    let wT: Float32Array;
    let k: number;
    let n: number;
    let bias: Float32Array | undefined;
    let biasAdd: Node | undefined;
    let out = node.outputs[0]!;
    if (node.opType === 'Gemm') {
      if (node.int('transA', 0) !== 0 || node.float('alpha', 1) !== 1) {
        skip('Gemm with transA or alpha ≠ 1 is left in float');
        continue;
      }
      const transB = node.int('transB', 0) !== 0;
      const [r, c] = w.dims as [number, number];
      [k, n] = transB ? [c, r] : [r, c];
      wT = transB ? Float32Array.from(w.toFloat32()) : transpose2d(w.toFloat32(), r, c);
      const cw = floatWeight(g, node.inputs[2]);
      if (node.inputs[2] && !(cw && cw.size === n && (cw.dims.length === 1 || cw.dims[0] === 1))) {
        skip('Gemm C is not a [N] float32 bias');
        continue;
      }
      if (cw) bias = cw.toFloat32().map((v) => v * node.float('beta', 1));
    } else {
      [k, n] = w.dims as [number, number];
      wT = transpose2d(w.toFloat32(), k, n);
      const next = consumers.get(out)?.[0];
      if (next && next.opType === 'Add' && next.isDefaultDomain && singleUse(g, consumers, out)) {
        const b = floatWeight(g, next.inputs[0] === out ? next.inputs[1] : next.inputs[0]);
        if (b && b.size === n && b.dims.length === 1) {
          bias = b.toFloat32();
          biasAdd = next;
          out = next.outputs[0]!;
        }
      }
    }
    if (k * n < minElems) {
      skip(`weight has ${k * n} elements, below minWeightElements ${minElems}`);
      continue;
    }
    if (k < blockSize) {
      skip(`K = ${k} is smaller than the block size ${blockSize}`);
      continue;
    }
    targets.push({ node, a: node.inputs[0]!, wT, k, n, bias, biasAdd, out });
  }
  return targets;
}

/**
 * A copy of the model that also outputs, for each target input X (any rank, last axis K), the Gram
 * matrix XᵀX [K, K] and X's row count: ORT does the O(rows·K²) work, the pass only sums K² numbers.
 */
function withGramOutputs(model: Model, inputs: Map<string, number>): { model: Model; outputs: Map<string, { gram: string; shape: string }> } {
  const m = model.clone();
  const g = m.graph;
  const fresh = g.namer();
  const outputs = new Map<string, { gram: string; shape: string }>();
  for (const [x, k] of inputs) {
    const shape2d = fresh(`${x}.rows_k`);
    g.initializers.set(shape2d, Tensor.fromInt64(shape2d, [2], [-1, k]));
    const rows = fresh(`${x}.as_rows`);
    const rowsT = fresh(`${x}.as_rows_t`);
    const gram = fresh(`${x}.gram`);
    const shape = fresh(`${x}.rows_shape`);
    g.nodes.push(new Node('Reshape', [x, shape2d], [rows], fresh(`${x}.gram_reshape`)));
    g.nodes.push(new Node('Transpose', [rows], [rowsT], fresh(`${x}.gram_transpose`), '', { perm: attr.ints([1, 0]) }));
    g.nodes.push(new Node('MatMul', [rowsT, rows], [gram], fresh(`${x}.gram_matmul`)));
    g.nodes.push(new Node('Shape', [rows], [shape], fresh(`${x}.gram_shape`)));
    g.outputs.push({ name: gram, type: { kind: 'tensor', elemType: DataType.FLOAT, shape: [k, k] } });
    g.outputs.push({ name: shape, type: { kind: 'tensor', elemType: DataType.INT64, shape: [2] } });
    outputs.set(x, { gram, shape });
  }
  return { model: m, outputs };
}

/** Streams calibration data through the float model and accumulates XᵀX of each target's input. */
async function collectHessians(model: Model, targets: Target[], ctx: PassContext): Promise<Map<string, HessianAccumulator>> {
  if (!ctx.calibration) throw new UsageError("quantize-int4 method 'gptq' needs calibration data", "pass --calibration <data or task>, or use method 'rtn'");
  const acc = new Map<string, HessianAccumulator>();
  const ks = new Map<string, number>();
  for (const t of targets)
    if (!acc.has(t.a)) {
      acc.set(t.a, new HessianAccumulator(t.k));
      ks.set(t.a, t.k);
    }
  const probe = withGramOutputs(model, ks);
  const fetch = [...probe.outputs.values()].flatMap((o) => [o.gram, o.shape]);
  const session = await createSession(probe.model);
  try {
    let batches = 0;
    for await (const feeds of ctx.calibration()) {
      const out = await session.run(toOrtFeeds(feeds), fetch);
      for (const [x, o] of probe.outputs) {
        const rows = Number((out[o.shape] as ort.Tensor).data[0]);
        acc.get(x)!.addGram((out[o.gram] as ort.Tensor).data as Float32Array, rows);
      }
      batches++;
    }
    if (batches === 0) throw new UsageError('quantize-int4: the calibration stream gave no data', 'check the calibration data set is not empty');
  } finally {
    await session.release();
  }
  return acc;
}

export async function quantizeInt4(model: Model, params: QuantizeInt4Params, ctx: PassContext = {}): Promise<{ model: Model; record: PassRecord }> {
  const blockSize = params.blockSize ?? 32;
  const symmetric = params.symmetric ?? true;
  const accuracyLevel = params.accuracyLevel ?? 4;
  const method = params.method ?? 'rtn';
  if (blockSize < 16 || (blockSize & (blockSize - 1)) !== 0)
    throw new UsageError(`quantize-int4: blockSize ${blockSize} is not a power of two ≥ 16`, 'use 16, 32, 64, 128 or 256');
  const out = model.clone();
  if (params.foldExporterHabits !== false) foldExporterHabits(out);
  const main = out.graph;
  linkScopes(main);
  const skipped: Skipped[] = [];
  // The main graph's targets, then those of every If/Loop/Scan body (their weights may be outer).
  const graphs = allGraphs(main).map((sub) => ({ sub, targets: findTargets(sub, params, blockSize, skipped) }));
  const mainTargets = graphs[0]!.targets;
  const targets = graphs.flatMap((x) => x.targets);
  const inBodies = targets.length - mainTargets.length;
  // GPTQ needs activations; a body's are not reachable from outside, so bodies get RTN.
  const hessians = method === 'gptq' && mainTargets.length ? await collectHessians(out, mainTargets, ctx) : undefined;
  const factors = new Map<string, GptqFactor>();
  const fresh = modelNamer(main);
  const replaced = new Map<Node, Node>();
  const dead = new Set<Node>();
  const home = new Map<Target, Graph>(graphs.flatMap(({ sub, targets: ts }) => ts.map((t) => [t, sub] as [Target, Graph])));
  let bytesBefore = 0;
  let bytesAfter = 0;
  let errRtn = 0;
  let errNorm = 0;
  for (const t of targets) {
    const g = home.get(t)!;
    let q: BlockQuant;
    if (hessians && g === main) {
      // Layers that read the same input (Q, K, V) share its Hessian and its factorization.
      let f = factors.get(t.a);
      if (!f) factors.set(t.a, (f = gptqFactor(hessians.get(t.a)!.hessian(), t.k, params.damp)));
      q = quantizeBlocksGptq(t.wT, t.n, t.k, f, { blockSize, symmetric });
    } else if (method === 'hqq') q = quantizeBlocksHqq(t.wT, t.n, t.k, { blockSize, integerZeroPoints: !(params.floatZeroPoints ?? false) });
    else q = quantizeBlocksRtn(t.wT, t.n, t.k, blockSize, symmetric);
    const floatZp = (q as Partial<HqqQuant>).floatZeroPoints;
    const packed = packMatMulNBits(q);
    const base = t.node.name || fresh('matmul_nbits');
    const bName = fresh(`${base}.weight_q4`);
    const sName = fresh(`${base}.scales`);
    g.initializers.set(bName, new Tensor(bName, DataType.UINT8, packed.bDims, packed.b));
    g.initializers.set(sName, Tensor.fromFloat32(sName, [packed.scales.length], packed.scales));
    const inputs = [t.a, bName, sName];
    if (floatZp) {
      // HQQ's fractional zero points: unpacked, in A's type.
      const zName = fresh(`${base}.zero_points`);
      g.initializers.set(zName, Tensor.fromFloat32(zName, [floatZp.length], floatZp));
      inputs.push(zName);
    } else if (packed.zeroPoints) {
      const zName = fresh(`${base}.zero_points`);
      g.initializers.set(zName, new Tensor(zName, DataType.UINT8, [packed.zeroPoints.length], packed.zeroPoints));
      inputs.push(zName);
    }
    if (t.bias) {
      const biasName = fresh(`${base}.bias`);
      g.initializers.set(biasName, Tensor.fromFloat32(biasName, [t.n], t.bias));
      while (inputs.length < 5) inputs.push('');
      inputs.push(biasName);
    }
    const attrs = { K: attr.int(t.k), N: attr.int(t.n), bits: attr.int(4), block_size: attr.int(blockSize), accuracy_level: attr.int(accuracyLevel) };
    replaced.set(t.node, new Node('MatMulNBits', inputs, [t.out], base, 'com.microsoft', attrs));
    if (t.biasAdd) dead.add(t.biasAdd);
    bytesBefore += t.k * t.n * 4;
    bytesAfter += packed.b.length + packed.scales.length * 4 + (floatZp ? floatZp.length * 4 : (packed.zeroPoints?.length ?? 0));
    // Weight reconstruction error, for the record.
    const deq = dequantizeBlocks(q, floatZp);
    for (let i = 0; i < deq.length; i++) {
      errRtn += (deq[i]! - t.wT[i]!) ** 2;
      errNorm += t.wT[i]! ** 2;
    }
  }
  for (const { sub } of graphs) sub.nodes = sub.nodes.flatMap((n) => (dead.has(n) ? [] : [replaced.get(n) ?? n]));
  if (targets.length) ensureMsDomain(out);
  for (const { sub } of graphs.reverse()) dropUnusedInitializers(sub);
  return {
    model: out,
    record: {
      pass: 'quantize-int4',
      params: { blockSize, symmetric, accuracyLevel, method, floatZeroPoints: params.floatZeroPoints ?? false, exclude: params.exclude },
      stats: {
        quantized: targets.length,
        quantizedInSubgraphs: inBodies,
        weightBytesBefore: bytesBefore,
        weightBytesAfter: bytesAfter,
        weightRelError: errNorm ? Math.sqrt(errRtn / errNorm) : 0,
        skipped: skipped.length,
      },
      skipped,
      notes: [
        ...(targets.length === 0 ? ['no MatMul or Gemm with a 2-D float weight was found; the model is unchanged'] : []),
        ...(method === 'gptq' && inBodies ? [`${inBodies} MatMul(s) inside If/Loop/Scan bodies used RTN: GPTQ needs their activations`] : []),
        ...(method === 'hqq' && symmetric ? ["method 'hqq' optimizes the zero point, so blocks are asymmetric whatever 'symmetric' says"] : []),
      ],
    },
  };
}

export const quantizeInt4Pass: Pass<QuantizeInt4Params> = {
  name: 'quantize-int4',
  description: 'weight-only 4-bit block quantization of MatMul/Gemm weights to com.microsoft MatMulNBits',
  params: {
    blockSize: { type: 'integer', default: 32, min: 16, max: 256, description: 'weights per block along K, each block with its own scale (power of two)' },
    symmetric: { type: 'boolean', default: true, description: 'symmetric blocks (zero point 8, not stored) or asymmetric (a zero point per block)' },
    accuracyLevel: {
      type: 'integer',
      default: 4,
      min: 0,
      max: 4,
      description: 'MatMulNBits accuracy_level: minimum compute precision of A (0 unset, 1 fp32, 2 fp16, 3 bf16, 4 int8 — the fast one on CPU)',
    },
    method: {
      type: 'enum',
      values: ['rtn', 'gptq', 'hqq'],
      default: 'rtn',
      description:
        "'rtn': round to nearest per block; 'gptq': error feedback through the Hessian of calibration activations (needs calibration data); 'hqq': data-free half-quadratic zero-point optimization (asymmetric)",
    },
    floatZeroPoints: {
      type: 'boolean',
      default: false,
      description: 'hqq: keep the optimized zero points fractional instead of rounding them (ORT runs float zero points on a slower path)',
    },
    damp: { type: 'number', default: 0.01, min: 0, description: 'GPTQ: dampening added to the Hessian diagonal, as a fraction of its mean' },
    exclude: { type: 'string[]', default: [], description: 'node names or op types to leave in float' },
    minWeightElements: { type: 'integer', default: 0, min: 0, description: 'leave weights with fewer elements than this in float' },
  },
  tolerance: { metric: 'cosine', value: 0.98 },
  run: (model, params, ctx) => quantizeInt4(model, params, ctx),
};
