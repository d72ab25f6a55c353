// Dynamic int8 quantization: weights of MatMul and Gemm (attention projections, FFN, heads) become
// int8 with one scale per output channel; activations are quantized at run time (uint8, per tensor).
// The default form is com.microsoft DynamicQuantizeMatMul with the bias folded in: the kernel ORT's own
// fusions aim for from the standard-ONNX form (DynamicQuantizeLinear → MatMulInteger → Cast → Mul). From
// that form ORT only gets part way where projections share an input (Q/K/V: the shared
// DynamicQuantizeLinear leaves MatMulIntegerToFloat), so emitting the fused op directly is the surer
// path; bench/quantize.ts measures both forms and records ORT's optimized kernels.

import { DataType } from '../onnx/dtype.js';
import { Node, attr, type Graph } from '../onnx/graph.js';
import type { Model } from '../onnx/model.js';
import { Tensor } from '../onnx/tensor.js';
import type { Pass, PassRecord, Skipped } from './pass.js';
import { foldExporterHabits } from '../onnx/fold-exporter-habits.js';
import { allGraphs, dropUnusedInitializers, ensureMsDomain, floatWeight, isExcluded, linkScopes, modelNamer, singleUse } from './quant/graph.js';
import { intRange, quantizeTensor, transpose2d } from './quant/math.js';

export interface QuantizeDynamicParams {
  [k: string]: number | boolean | string | string[] | undefined;
  form?: 'fused' | 'integer';
  perChannel?: boolean;
  exclude?: string[];
  minWeightElements?: number;
  mergeSiblings?: boolean;
  /** Fold exporter habits first (default true). Not a declared parameter: the CLI and the search always fold; tests turn it off. */
  foldExporterHabits?: boolean;
}

const INT8 = intRange(8, true);

/** A matmul-like node reduced to Y = A · W (+ bias), W as [K, N] float32. */
interface Plan {
  node: Node;
  a: string;
  w: Float32Array;
  k: number;
  n: number;
  /** Multiplies the whole product (Gemm alpha). */
  alpha: number;
  /** [N] float bias to fold in, and the node that held it (an Add that becomes dead). */
  bias?: Float32Array;
  biasAdd?: Node;
  /** A non-foldable addend (Gemm C of another shape): added after, times beta. */
  addend?: { name: string; beta: number };
  out: string;
}

function planMatMul(graph: Graph, node: Node, consumers: Map<string, Node[]>): Plan | string {
  const w = floatWeight(graph, node.inputs[1]);
  if (!w)
    return graph.initializers.has(node.inputs[1] ?? '') ? 'weight is not float32' : 'both inputs are activations (dynamic quantization covers weights only)';
  if (w.dims.length !== 2) return `weight has rank ${w.dims.length}; only 2-D weights are quantized`;
  const [k, n] = w.dims as [number, number];
  const plan: Plan = { node, a: node.inputs[0]!, w: w.toFloat32(), k, n, alpha: 1, out: node.outputs[0]! };
  // Fold a following `Add(y, bias[N])` into the kernel's bias input.
  const y = node.outputs[0]!;
  const next = consumers.get(y)?.[0];
  if (next && next.opType === 'Add' && next.isDefaultDomain && singleUse(graph, consumers, y)) {
    const other = next.inputs[0] === y ? next.inputs[1] : next.inputs[0];
    const b = floatWeight(graph, other);
    if (b && b.size === n && (b.dims.length === 1 || (b.dims.length === 2 && b.dims[0] === 1)) && next.inputs[0] !== next.inputs[1]) {
      plan.bias = b.toFloat32();
      plan.biasAdd = next;
      plan.out = next.outputs[0]!;
    }
  }
  return plan;
}

function planGemm(graph: Graph, node: Node): Plan | string {
  if (node.int('transA', 0) !== 0) return 'Gemm with transA=1 is left in float';
  const w = floatWeight(graph, node.inputs[1]);
  if (!w) return 'B is not a float32 initializer';
  const transB = node.int('transB', 0) !== 0;
  const [r, c] = w.dims as [number, number];
  const [k, n] = transB ? [c, r] : [r, c];
  const plan: Plan = {
    node,
    a: node.inputs[0]!,
    w: transB ? transpose2d(w.toFloat32(), r, c) : w.toFloat32(),
    k,
    n,
    alpha: node.float('alpha', 1),
    out: node.outputs[0]!,
  };
  const beta = node.float('beta', 1);
  const cName = node.inputs[2];
  if (cName) {
    const cw = floatWeight(graph, cName);
    if (cw && (cw.size === n || cw.size === 1) && cw.dims.length <= 2 && (cw.dims.length < 2 || cw.dims[0] === 1)) {
      const src = cw.toFloat32();
      plan.bias = Float32Array.from({ length: n }, (_, j) => beta * src[cw.size === 1 ? 0 : j]!);
    } else plan.addend = { name: cName, beta };
  }
  return plan;
}

interface GraphTally {
  quantized: number;
  merged: number;
  bytesBefore: number;
  bytesAfter: number;
  skipped: Skipped[];
}

/** Quantizes the MatMul/Gemm nodes of one graph (the main graph or a body); weights may live in outer scope. */
function quantizeGraph(g: Graph, params: QuantizeDynamicParams, opset: number, fresh: (b: string) => string, t: GraphTally): void {
  const form = params.form ?? 'fused';
  const perChannel = params.perChannel ?? true;
  const minElems = params.minWeightElements ?? 0;
  const merge = params.mergeSiblings ?? false;
  const consumers = g.consumers();
  const skipped = t.skipped;
  const replaced = new Map<Node, Node[]>();
  const dead = new Set<Node>();

  const plans: Plan[] = [];
  for (const node of g.nodes) {
    if (!node.isDefaultDomain) continue;
    if (node.opType === 'Conv') {
      skipped.push({ node: node.name, opType: node.opType, reason: 'dynamic quantization covers MatMul and Gemm; use quantize-static for Conv' });
      continue;
    }
    if (node.opType !== 'MatMul' && node.opType !== 'Gemm') continue;
    if (isExcluded(node, params.exclude)) {
      skipped.push({ node: node.name, opType: node.opType, reason: 'excluded by parameter' });
      continue;
    }
    const plan = node.opType === 'MatMul' ? planMatMul(g, node, consumers) : planGemm(g, node);
    if (typeof plan === 'string') {
      skipped.push({ node: node.name, opType: node.opType, reason: plan });
      continue;
    }
    if (plan.k * plan.n < minElems) {
      skipped.push({ node: node.name, opType: node.opType, reason: `weight has ${plan.k * plan.n} elements, below minWeightElements ${minElems}` });
      continue;
    }
    plans.push(plan);
  }

  // Optionally, siblings (Q, K and V projections of one input) become one kernel and a Split: the input
  // is quantized once and the GEMM is wider. Needs per-channel scales, so each keeps its own grid.
  // Off by default: bench/quantize.ts measured no gain on the BERT encoders (ORT 1.30, 1 thread).
  const groups: Plan[][] = [];
  const byInput = new Map<string, Plan[]>();
  for (const p of plans) {
    const key = `${p.a}\u0000${p.k}`;
    const l = merge && perChannel && !p.addend ? byInput.get(key) : undefined;
    if (l) l.push(p);
    else {
      const fresh1 = [p];
      groups.push(fresh1);
      if (merge && perChannel && !p.addend) byInput.set(key, fresh1);
    }
  }

  for (const group of groups) {
    const first = group[0]!;
    const k = first.k;
    const n = group.reduce((a, p) => a + p.n, 0);
    // W [K, ΣN]: each plan's columns side by side; one scale per output column, symmetric (zero point 0).
    const w = group.length === 1 ? first.w : new Float32Array(k * n);
    if (group.length > 1) {
      let col = 0;
      for (const p of group) {
        for (let r = 0; r < k; r++) w.set(p.w.subarray(r * p.n, (r + 1) * p.n), r * n + col);
        col += p.n;
      }
    }
    const cq = quantizeTensor(w, [k, n], perChannel ? 1 : undefined, INT8, true);
    const alphas = group.flatMap((p) => new Array<number>(p.n).fill(p.alpha));
    const scales = perChannel ? cq.scales.map((s, j) => s * alphas[j]!) : Float32Array.of(cq.scales[0]! * first.alpha);
    const base = group.length === 1 ? first.node.name || fresh('dq_matmul') : fresh(group.map((p) => p.node.name).join('+'));
    const wq = fresh(`${base}.weight_int8`);
    g.initializers.set(wq, Tensor.fromNumbers(wq, DataType.INT8, [k, n], cq.q));
    const scaleName = fresh(`${base}.weight_scale`);
    g.initializers.set(
      scaleName,
      perChannel ? Tensor.fromFloat32(scaleName, [n], Float32Array.from(scales)) : Tensor.scalar(scaleName, DataType.FLOAT, scales[0]!),
    );
    let biasName = '';
    if (group.some((p) => p.bias)) {
      const bias = new Float32Array(n);
      let col = 0;
      for (const p of group) {
        if (p.bias) bias.set(p.bias, col);
        col += p.n;
      }
      biasName = fresh(`${base}.bias`);
      g.initializers.set(biasName, Tensor.fromFloat32(biasName, [n], bias));
    }
    const single = group.length === 1;
    const y = single ? (first.addend ? fresh(`${base}.product`) : first.out) : fresh(`${base}.merged`);
    const emitted: Node[] = [];
    if (form === 'fused') {
      const inputs = [first.a, wq, scaleName, '', ...(biasName ? [biasName] : [])];
      if (!biasName) inputs.pop();
      emitted.push(new Node('DynamicQuantizeMatMul', inputs, [y], base, 'com.microsoft'));
    } else {
      const [aq, as, azp] = [fresh(`${base}.a_quant`), fresh(`${base}.a_scale`), fresh(`${base}.a_zero_point`)];
      const [acc, accF, sc, prod] = [fresh(`${base}.acc_int32`), fresh(`${base}.acc_float`), fresh(`${base}.scale`), biasName ? fresh(`${base}.nobias`) : y];
      const wzp = fresh(`${base}.weight_zero_point`);
      g.initializers.set(wzp, perChannel ? Tensor.fromNumbers(wzp, DataType.INT8, [n], new Array(n).fill(0)) : Tensor.scalar(wzp, DataType.INT8, 0));
      emitted.push(new Node('DynamicQuantizeLinear', [first.a], [aq, as, azp], `${base}.quant_a`));
      emitted.push(new Node('MatMulInteger', [aq, wq, azp, wzp], [acc], `${base}.matmul_integer`));
      emitted.push(new Node('Cast', [acc], [accF], `${base}.cast`, '', { to: attr.int(DataType.FLOAT) }));
      emitted.push(new Node('Mul', [as, scaleName], [sc], `${base}.scale_mul`));
      emitted.push(new Node('Mul', [accF, sc], [prod], `${base}.rescale`));
      if (biasName) emitted.push(new Node('Add', [prod, biasName], [y], `${base}.bias_add`));
    }
    if (!single) {
      const sizes = group.map((p) => p.n);
      const outs = group.map((p) => p.out);
      if (opset >= 13) {
        const splitName = fresh(`${base}.split_sizes`);
        g.initializers.set(splitName, Tensor.fromInt64(splitName, [sizes.length], sizes));
        emitted.push(new Node('Split', [y, splitName], outs, `${base}.split`, '', { axis: attr.int(-1) }));
      } else emitted.push(new Node('Split', [y], outs, `${base}.split`, '', { axis: attr.int(-1), split: attr.ints(sizes) }));
    } else if (first.addend) {
      let addend = first.addend.name;
      if (first.addend.beta !== 1) {
        const beta = fresh(`${base}.beta`);
        g.initializers.set(beta, Tensor.scalar(beta, DataType.FLOAT, first.addend.beta));
        addend = fresh(`${base}.c_scaled`);
        emitted.push(new Node('Mul', [first.addend.name, beta], [addend], `${base}.beta_mul`));
      }
      emitted.push(new Node('Add', [y, addend], [first.out], `${base}.c_add`));
    }
    // The merged kernel goes where the first sibling was; the others disappear.
    replaced.set(first.node, emitted);
    for (const p of group.slice(1)) replaced.set(p.node, []);
    for (const p of group) if (p.biasAdd) dead.add(p.biasAdd);
    t.quantized += group.length;
    if (!single) t.merged += group.length;
    t.bytesBefore += k * n * 4;
    t.bytesAfter += k * n;
  }
  g.nodes = g.nodes.flatMap((n) => (dead.has(n) ? [] : (replaced.get(n) ?? [n])));
}

export async function quantizeDynamic(model: Model, params: QuantizeDynamicParams): Promise<{ model: Model; record: PassRecord }> {
  const form = params.form ?? 'fused';
  const perChannel = params.perChannel ?? true;
  const minElems = params.minWeightElements ?? 0;
  const merge = params.mergeSiblings ?? false;
  const out = model.clone();
  const fold = params.foldExporterHabits !== false ? foldExporterHabits(out) : undefined;
  const g = out.graph;
  linkScopes(g);
  const fresh = modelNamer(g);
  const t: GraphTally = { quantized: 0, merged: 0, bytesBefore: 0, bytesAfter: 0, skipped: [] };
  // Main graph first, then every If/Loop/Scan body (a body's weights may be main-graph initializers).
  const graphs = allGraphs(g);
  let inBodies = 0;
  for (const sub of graphs) {
    const before = t.quantized;
    quantizeGraph(sub, params, out.opset('') ?? 17, fresh, t);
    if (sub !== g) inBodies += t.quantized - before;
  }
  for (const sub of graphs.reverse()) dropUnusedInitializers(sub);
  const { quantized, merged, bytesBefore, bytesAfter, skipped } = t;
  if (quantized > 0 && form === 'fused') ensureMsDomain(out);
  return {
    model: out,
    record: {
      pass: 'quantize-dynamic',
      params: { form, perChannel, mergeSiblings: merge, exclude: params.exclude, minWeightElements: minElems },
      stats: {
        quantized,
        quantizedInSubgraphs: inBodies,
        mergedIntoShared: merged,
        weightBytesBefore: bytesBefore,
        weightBytesAfter: bytesAfter,
        skipped: skipped.length,
        ...(fold ? { exporterRewrites: Object.values(fold.counts).reduce((a, v) => a + v, 0) } : {}),
      },
      skipped,
      notes: quantized === 0 ? ['no MatMul or Gemm with a 2-D float weight was found; the model is unchanged'] : [],
    },
  };
}

export const quantizeDynamicPass: Pass<QuantizeDynamicParams> = {
  name: 'quantize-dynamic',
  description: 'int8 weights (one scale per output channel) for MatMul and Gemm; activations quantized at run time',
  params: {
    form: {
      type: 'enum',
      values: ['fused', 'integer'],
      default: 'fused',
      description:
        "'fused': com.microsoft DynamicQuantizeMatMul with the bias folded in; 'integer': standard ONNX DynamicQuantizeLinear + MatMulInteger (ORT fuses it back)",
    },
    perChannel: { type: 'boolean', default: true, description: 'one scale per output channel (true) or one per weight tensor (false)' },
    exclude: { type: 'string[]', default: [], description: 'node names or op types to leave in float' },
    mergeSiblings: {
      type: 'boolean',
      default: false,
      description:
        'quantize MatMuls that read the same input (Q, K, V projections) as one wider kernel followed by a Split (per-channel only; measured no faster on x86 with ORT 1.30, bench/quantize.ts)',
    },
    minWeightElements: { type: 'integer', default: 0, min: 0, description: 'leave weights with fewer elements than this in float' },
  },
  tolerance: { metric: 'cosine', value: 0.99 },
  run: (model, params) => quantizeDynamic(model, params),
};
