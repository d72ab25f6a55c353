// Static (calibrated) int8 quantization in QDQ form: uint8 activations with ranges from task data,
// int8 symmetric weights per channel or per tensor, int32 biases. Q/DQ pairs go where ONNX Runtime's
// QDQ transformer fuses them into QLinearConv / QLinearMatMul / QGemm / QLinearAdd …: every quantized
// node gets a QuantizeLinear on its output (without one, ORT keeps DQ(weight) → float op and
// dequantizes the weights on every run), and Relu/Clip after a quantized node is folded into that
// output's range instead of costing a hop of its own.

import { DataType } from '../onnx/dtype.js';
import { EdgefitError } from '../onnx/errors.js';
import { Node, attr } from '../onnx/graph.js';
import type { Graph } from '../onnx/graph.js';
import { removeDeadNodes } from '../onnx/graph-utils.js';
import type { Model } from '../onnx/model.js';
import { upgradeOpset } from '../onnx/opset-upgrade.js';
import { Tensor } from '../onnx/tensor.js';
import type { Pass, PassContext, PassRecord, ParamValues, Skipped } from './pass.js';
import { calibrate } from './quant/calibrate.js';
import { quantizeHardSwishReaders } from './quant/hardswish-readers.js';
import { hardSwishToUint8 } from './quant/hardswish-uint8.js';
import { elementTypes } from './quant/elem-types.js';
import { quantizeIfBodies } from './quant/if-bodies.js';
import { foldExporterHabits } from '../onnx/fold-exporter-habits.js';
import { isExcluded } from './quant/graph.js';
import { divToMul, foldAffineIntoConv, foldBatchNorm, fuseHardSwish } from './quant/prepare.js';
import type { CalibrationMethod } from './quant/histogram.js';
import { type Affine, affineFromRange, intRange, quantizeTensor } from './quant/math.js';

/**
 * How each op joins an int8 chain, and the ORT kernel it becomes:
 *   compute    – has weights (Conv, MatMul, Gemm); always quantized unless excluded
 *   binary     – Add / Mul of two tensors (QLinearAdd / QLinearMul)
 *   variadic   – Concat (QLinearConcat)
 *   unary      – one quantized input, one output with its own range
 *   same-scale – moves uint8 values without changing them; output keeps the input's scale
 *   activation – Relu / Clip(0, …): folded into the producer's output range when possible
 * Ops outside this table stay float and are listed in the record.
 */
export const QDQ_OPS: Record<string, { role: 'compute' | 'binary' | 'variadic' | 'unary' | 'same-scale' | 'activation'; kernel: string }> = {
  Conv: { role: 'compute', kernel: 'QLinearConv' },
  MatMul: { role: 'compute', kernel: 'QLinearMatMul' },
  Gemm: { role: 'compute', kernel: 'QGemm' },
  Add: { role: 'binary', kernel: 'QLinearAdd' },
  Mul: { role: 'binary', kernel: 'QLinearMul' },
  Concat: { role: 'variadic', kernel: 'QLinearConcat' },
  AveragePool: { role: 'unary', kernel: 'QLinearAveragePool' },
  GlobalAveragePool: { role: 'unary', kernel: 'QLinearGlobalAveragePool' },
  Sigmoid: { role: 'unary', kernel: 'QLinearSigmoid' },
  LeakyRelu: { role: 'unary', kernel: 'QLinearLeakyRelu' },
  MaxPool: { role: 'same-scale', kernel: 'MaxPool (uint8)' },
  Reshape: { role: 'same-scale', kernel: 'Reshape (uint8)' },
  Flatten: { role: 'same-scale', kernel: 'Flatten (uint8)' },
  Transpose: { role: 'same-scale', kernel: 'Transpose (uint8)' },
  Squeeze: { role: 'same-scale', kernel: 'Squeeze (uint8)' },
  Unsqueeze: { role: 'same-scale', kernel: 'Unsqueeze (uint8)' },
  Relu: { role: 'activation', kernel: 'folded into the Q range' },
  Clip: { role: 'activation', kernel: 'folded into the Q range' },
};

/** Float ops with no int8 kernel in ORT's CPU provider: they stay float and are reported. */
const FLOAT_ONLY_REASON = 'no int8 kernel in ONNX Runtime: left in float';

export class QuantizeError extends EdgefitError {
  constructor(message: string, hint?: string) {
    super(message, 'E_QUANTIZE', hint);
    this.name = 'QuantizeError';
  }
}

export interface StaticQuantResult {
  model: Model;
  record: PassRecord;
  /** Calibrated range of every quantized activation tensor. */
  ranges: Map<string, [number, number]>;
  /** Names of the nodes that were quantized (their names in the input model). */
  quantized: string[];
}

/**
 * Which nodes go int8:
 *   all       – compute nodes and every chain op next to them (the classic QDQ recipe)
 *   compute   – Conv / MatMul / Gemm only (with Relu/Clip folded in); elementwise ops stay float
 *   pointwise – as compute, but only 1x1 ungrouped Conv, MatMul and Gemm, and not squeeze-excite
 *               convs: the nodes whose int8 kernels gain most per Q/DQ they cost
 */
export type Scope = 'all' | 'compute' | 'pointwise';
export const SCOPES: readonly Scope[] = ['all', 'compute', 'pointwise'];

const params = {
  scope: {
    type: 'enum',
    values: SCOPES,
    default: 'all',
    description:
      "which nodes go int8: 'all' (compute + neighbouring chain ops), 'compute' (Conv/MatMul/Gemm only), 'pointwise' (1x1 convs, MatMul, Gemm; not depthwise or squeeze-excite)",
  },
  method: {
    type: 'enum',
    values: ['minmax', 'percentile', 'entropy'],
    default: 'minmax',
    description: 'how calibration turns observed activations into ranges',
  },
  percentile: { type: 'number', default: 99.99, min: 50, max: 100, description: "share of values kept inside the range for method 'percentile'" },
  perChannel: { type: 'boolean', default: true, description: 'one weight scale per output channel (else one per tensor)' },
  activations: { type: 'enum', values: ['uint8', 'int8'], default: 'uint8', description: 'activation type; uint8 fuses best on x86' },
  exclude: { type: 'string[]', default: [], description: 'node names or op types to keep in float' },
  keepFloat: { type: 'string[]', default: [], description: 'node names kept float by the mixed-precision search (set by it; reported apart from exclude)' },
  calibrationSamples: { type: 'integer', default: 256, min: 1, description: 'calibration samples to read at most' },
  quantizeDepthwise: {
    type: 'boolean',
    default: false,
    description:
      'quantize depthwise convs (one input channel per group) too. Off by default: each channel reads only itself, so one per-tensor activation scale set by the widest channel leaves narrow channels a few levels (the largest loss on PP-OCRv4 det), and int8 gains little on them',
  },
  minMacsPerOutput: {
    type: 'integer',
    default: 0,
    min: 0,
    description:
      'keep Conv/MatMul/Gemm float when each output element costs fewer multiply-adds than this (depthwise 3x3: 9): their int8 gain does not pay for the Q/DQ around them',
  },
  outputs: {
    type: 'enum',
    values: ['all', 'not-matmul', 'none'],
    default: 'all',
    description:
      "which Conv/MatMul/Gemm outputs get a QuantizeLinear: 'all' (every one fuses to a QLinear kernel); 'not-matmul' (MatMul outputs stay float: ORT runs MatMulIntegerToFloat, no requantization — but a 2-D MatMul + Add can be caught by MatMulAddFusion and dequantize its weights every run); 'none' (measurements only)",
  },
  prepare: {
    type: 'boolean',
    default: true,
    description:
      'first fold BatchNormalization and constant Mul/Add into Conv, fuse decomposed HardSwish, turn Div by a constant into Mul (fewer re-roundings, unbroken int8 chains)',
  },
  narrowRanges: {
    type: 'boolean',
    default: true,
    description: 'clamp an activation read only by HardSwish / HardSigmoid / Relu / Clip to where they are not flat (exact; more codes where values matter)',
  },
  foldActivations: { type: 'boolean', default: true, description: 'fold Relu / Clip(0, …) after a quantized op into its output range' },
  hardswish: {
    type: 'enum',
    values: ['float', 'uint8'],
    default: 'float',
    description:
      "'uint8': a HardSwish between uint8 Q/DQ becomes QLinearAdd + QLinearMul on the codes (ORT has no int8 HardSwish; in float it costs DQ, HardSigmoid, Mul and Q), a positive scalar Mul and a scalar Add after it folded into its scales and zero point; a HardSwish read only by pools or by a Mul with a [0, 1] gate (squeeze-excite) takes those readers into int8 too",
  },
} as const;

export const quantizeStaticPass: Pass = {
  name: 'quantize-static',
  description: 'calibrated int8 QDQ: uint8 activations, int8 weights per channel, fused by ORT into QLinear kernels',
  params: params as unknown as Pass['params'],
  tolerance: { metric: 'cosine', value: 0.98 },
  needsCalibration: true,
  keepFloatParam: 'keepFloat',
  presets: [
    {
      tag: 'int8-chains',
      params: { scope: 'compute', quantizeDepthwise: true, method: 'percentile', hardswish: 'uint8' },
      why: 'every conv int8 and HardSwish on the uint8 codes, so MobileNet-style blocks stay int8 end to end (no float depthwise or HardSwish between Q/DQ); percentile ranges keep the per-tensor depthwise scales tight',
    },
  ],
  async run(model, p, ctx) {
    const r = await quantizeStatic(model, p, ctx);
    return { model: r.model, record: r.record };
  },
};

// ---------------------------------------------------------------------------------------------------
// Types: which values are float. Needed so that int64 shape arithmetic (Concat / Mul on shapes) is
// never quantized. A value is float when declared so, or produced by a type-preserving op from a float.

const KEEPS_TYPE_OF_INPUT0 = new Set([
  'Conv',
  'MatMul',
  'Gemm',
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Relu',
  'Clip',
  'Sigmoid',
  'HardSigmoid',
  'HardSwish',
  'LeakyRelu',
  'Tanh',
  'Erf',
  'Sqrt',
  'Pow',
  'Exp',
  'Log',
  'Neg',
  'Abs',
  'MaxPool',
  'AveragePool',
  'GlobalAveragePool',
  'GlobalMaxPool',
  'Concat',
  'Reshape',
  'Flatten',
  'Transpose',
  'Squeeze',
  'Unsqueeze',
  'BatchNormalization',
  'Softmax',
  'LogSoftmax',
  'Identity',
  'Resize',
  'Upsample',
  'Pad',
  'Slice',
  'Split',
  'Gather',
  'Expand',
  'Tile',
  'LayerNormalization',
  'ReduceMean',
  'ReduceSum',
  'ReduceMax',
  'InstanceNormalization',
  'PRelu',
  'ConvTranspose',
  'Dropout',
  'Elu',
  'Selu',
  'Softplus',
  'Gelu',
]);

function floatValues(model: Model): Set<string> {
  const g = model.graph;
  // element types through every op (Transposes, If outputs…), then the declared ones below
  const isFloat = new Set<string>([...elementTypes(g)].filter(([, t]) => t === DataType.FLOAT).map(([k]) => k));
  for (const v of [...g.inputs, ...g.valueInfo.values(), ...g.outputs])
    if (v.type?.kind === 'tensor' && v.type.elemType === DataType.FLOAT) isFloat.add(v.name);
  for (const [name, t] of g.initializers) if (t.dataType === DataType.FLOAT) isFloat.add(name);
  for (const n of g.nodes) {
    if (!n.isDefaultDomain) continue;
    let f = false;
    if (n.opType === 'Constant')
      f = n.tensor('value')?.dataType === DataType.FLOAT || n.attr('value_float') !== undefined || n.attr('value_floats') !== undefined;
    else if (n.opType === 'Cast') f = n.int('to') === DataType.FLOAT;
    else if (n.opType === 'Where') f = isFloat.has(n.inputs[1] ?? '');
    else if (KEEPS_TYPE_OF_INPUT0.has(n.opType)) f = isFloat.has(n.inputs[0] ?? '');
    if (f) for (const o of n.outputs.slice(0, n.opType === 'Dropout' ? 1 : undefined)) if (o) isFloat.add(o);
  }
  return isFloat;
}

/** The value of a constant input: an initializer or the output of a Constant node. */
function constantOf(g: Graph, name: string, producers: Map<string, Node>): Tensor | undefined {
  const init = g.initializers.get(name);
  if (init) return init;
  const p = producers.get(name);
  if (p?.opType === 'Constant' && p.isDefaultDomain) return p.tensor('value');
  return undefined;
}

/** Clip's lower and upper bounds when they are constants (attributes before opset 11, inputs after). */
function clipBounds(n: Node, g: Graph, producers: Map<string, Node>): [number, number] | undefined {
  if (n.opType === 'Relu') return [0, Infinity];
  const lo = n.inputs[1] ? constantOf(g, n.inputs[1], producers)?.toNumbers()[0] : n.float('min', -Infinity);
  const hi = n.inputs[2] ? constantOf(g, n.inputs[2], producers)?.toNumbers()[0] : n.float('max', Infinity);
  if (lo === undefined || hi === undefined) return undefined;
  return [lo, hi];
}

// ---------------------------------------------------------------------------------------------------

/** Plans and applies static quantization; the sensitivity analysis calls this with its own exclude lists. */
export async function quantizeStatic(
  input: Model,
  raw: ParamValues,
  ctx: PassContext,
  pre?: { ranges?: Map<string, [number, number]>; reserved?: Set<string> },
): Promise<StaticQuantResult> {
  const method = (raw.method ?? 'minmax') as CalibrationMethod;
  const perChannel = raw.perChannel !== false;
  const actType = raw.activations === 'int8' ? DataType.INT8 : DataType.UINT8;
  const exclude = (raw.exclude ?? []) as string[];
  const keepFloat = (raw.keepFloat ?? []) as string[];
  const outputs = (raw.outputs as 'all' | 'not-matmul' | 'none' | undefined) ?? 'all';
  // The model's own output, when a MatMul/Gemm makes it, stays float: requantizing the logits costs
  // precision and buys nothing, and ORT has float-output int8 kernels for both (MatMulIntegerToFloat,
  // QGemm). A Conv has none, so a Conv's output keeps its Q wherever it goes.
  const endsAtOutput = (t: string): boolean => {
    if (graphOutputs.has(t)) return true;
    const cs = consumers.get(t) ?? [];
    return cs.length > 0 && cs.every((c) => c.opType === 'Identity' && endsAtOutput(c.outputs[0]!));
  };
  const quantizesOutput = (n: Node) => {
    if (QDQ_OPS[n.opType]!.role !== 'compute') return true;
    if (outputs === 'none' || (outputs === 'not-matmul' && n.opType === 'MatMul')) return false;
    return !(n.opType !== 'Conv' && endsAtOutput(n.outputs[0]!));
  };
  const fold = raw.foldActivations !== false;
  const minMacs = (raw.minMacsPerOutput as number | undefined) ?? 0;
  const scope = (raw.scope as Scope | undefined) ?? 'all';
  const notes: string[] = [];
  const opset = input.opset('') ?? 0;
  let model = input.clone();
  // Fold exporter habits first (raw.foldExporterHabits === false skips it: not a declared parameter, for tests).
  if (raw.foldExporterHabits !== false) {
    const f = foldExporterHabits(model);
    const done = Object.entries(f.counts).filter(([, v]) => v > 0);
    if (done.length) notes.push(`folded exporter habits first: ${done.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  }
  if (opset < 13) {
    model = upgradeTo13(model, opset);
    notes.push(`upgraded opset ${opset} → ${model.opset('')} (per-channel QDQ needs opset 13)`);
  }
  const g = model.graph;
  if (raw.prepare !== false) {
    const bn = foldBatchNorm(g);
    const hs = fuseHardSwish(g, model.opset('') ?? 0);
    const div = divToMul(g);
    const affine = foldAffineIntoConv(g);
    const done = [
      bn && `${bn} BatchNormalization folded into Conv`,
      hs && `${hs} decomposed HardSwish (x·clip(x+3, 0, 6)/6) fused into HardSwish`,
      div && `${div} Div by a constant turned into Mul`,
      affine && `${affine} constant Mul/Add folded into the weights and bias of the Conv next to it`,
    ].filter(Boolean);
    if (done.length) notes.push(`prepared the float graph: ${done.join(', ')}`);
  }
  const floatModel = g.nodes.some((n) => n.subgraphs().length) ? model.clone() : undefined;
  const producers = g.producers();
  const consumers = g.consumers();
  const isFloat = floatValues(model);
  const graphOutputs = new Set(g.outputs.map((o) => o.name));
  const skipped: Skipped[] = [];

  // 1. Which nodes: compute nodes first, then the chain ops next to quantized nodes, to a fixpoint.
  const chosen = new Set<Node>();
  const weightOf = new Map<Node, { index: number; tensor: Tensor; axis: number | undefined }>();
  for (const n of g.nodes) {
    const rule = n.isDefaultDomain ? QDQ_OPS[n.opType] : undefined;
    if (rule?.role !== 'compute') continue;
    if (isExcluded(n, exclude)) {
      skipped.push({ node: n.name, opType: n.opType, reason: 'excluded: kept in float' });
      continue;
    }
    if (keepFloat.includes(n.name)) {
      skipped.push({ node: n.name, opType: n.opType, reason: 'kept float by mixed precision: quantizing it costs the most quality per ms' });
      continue;
    }
    if (n.opType === 'Conv' && raw.quantizeDepthwise !== true && scope !== 'pointwise' && isDepthwise(n, g, producers)) {
      skipped.push({
        node: n.name,
        opType: n.opType,
        reason: 'depthwise conv kept float (quantizeDepthwise=false): a per-tensor activation scale cannot serve channels that never mix',
      });
      continue;
    }
    if (scope === 'pointwise') {
      const why = notPointwise(n, producers);
      if (why) {
        skipped.push({ node: n.name, opType: n.opType, reason: `scope 'pointwise': ${why}` });
        continue;
      }
    }
    const why = planCompute(n, g, producers, isFloat, perChannel, weightOf);
    const macs = macsPerOutput(n, weightOf.get(n)?.tensor);
    if (why) skipped.push({ node: n.name, opType: n.opType, reason: why });
    else if (macs !== undefined && macs < minMacs) {
      weightOf.delete(n);
      skipped.push({
        node: n.name,
        opType: n.opType,
        reason: `${macs} multiply-adds per output < minMacsPerOutput ${minMacs}: int8 would not pay for its Q/DQ`,
      });
    } else chosen.add(n);
  }
  const activationInputs = (n: Node): string[] => {
    const role = QDQ_OPS[n.opType]!.role;
    const ins = role === 'binary' || role === 'variadic' ? n.inputs : n.inputs.slice(0, 1);
    return ins.filter((i) => i && isFloat.has(i));
  };
  const chainCandidate = (n: Node): boolean => {
    const rule = n.isDefaultDomain ? QDQ_OPS[n.opType] : undefined;
    if (!rule || rule.role === 'compute' || isExcluded(n, exclude)) return false;
    // Narrow scopes keep int8 to the compute nodes; only Relu/Clip folded into them come along.
    if (scope !== 'all' && rule.role !== 'activation') return false;
    if (!n.outputs[0] || !isFloat.has(n.outputs[0]) || !isFloat.has(n.inputs[0] ?? '')) return false;
    if (rule.role === 'binary' || rule.role === 'variadic') return n.inputs.every((i) => !i || isFloat.has(i));
    return true;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (const n of g.nodes) {
      if (chosen.has(n) || !chainCandidate(n)) continue;
      const near = n.inputs.some((i) => chosen.has(producers.get(i)!)) || (consumers.get(n.outputs[0]!) ?? []).some((c) => chosen.has(c));
      if (near) {
        chosen.add(n);
        changed = true;
      }
    }
  }

  // 2. Fold Relu / Clip(0, hi) into the output range of the quantized node that feeds it.
  const folded = new Map<Node, Node>(); // activation → producer
  if (fold) {
    for (const n of g.nodes) {
      if (!chosen.has(n) || QDQ_OPS[n.opType]!.role !== 'activation') continue;
      const src = producers.get(n.inputs[0]!);
      const bounds = clipBounds(n, g, producers);
      const single = (consumers.get(n.inputs[0]!) ?? []).length === 1 && !graphOutputs.has(n.inputs[0]!);
      // A folded Relu relies on the producer's output Q to clip.
      if (
        src &&
        chosen.has(src) &&
        quantizesOutput(src) &&
        QDQ_OPS[src.opType]!.role !== 'activation' &&
        QDQ_OPS[src.opType]!.role !== 'same-scale' &&
        bounds?.[0] === 0 &&
        single
      )
        folded.set(n, src);
    }
  }

  // 3. The activation tensors to quantize. Same-scale ops reuse their input's parameters.
  const sameAs = new Map<string, string>();
  const tensors = new Set<string>();
  for (const n of g.nodes) {
    if (!chosen.has(n) || folded.has(n)) continue;
    const role = QDQ_OPS[n.opType]!.role;
    const ins = role === 'compute' ? (weightOf.has(n) ? [n.inputs[0]!] : n.inputs.slice(0, 2)) : activationInputs(n);
    for (const i of ins) if (i && isFloat.has(i)) tensors.add(i);
    if (role === 'same-scale') sameAs.set(n.outputs[0]!, n.inputs[0]!);
    else if (quantizesOutput(n)) tensors.add(n.outputs[0]!);
  }
  // The folded producer writes the activation's output directly; its own output is gone.
  for (const [a] of folded) {
    tensors.delete(a.inputs[0]!);
    tensors.add(a.outputs[0]!);
  }
  for (const t of sameAs.keys()) tensors.delete(t);

  // What stays float, and why (before the rewrite, while nodes still have their original inputs).
  for (const n of g.nodes) {
    if (chosen.has(n) || !n.isDefaultDomain || n.subgraphs().length || skipped.some((s) => s.node === n.name && s.opType === n.opType)) continue;
    if (!n.outputs[0] || !isFloat.has(n.outputs[0]) || ['Constant', 'Identity', 'Shape', 'Cast', 'Dropout'].includes(n.opType)) continue;
    const rule = QDQ_OPS[n.opType];
    const reason = isExcluded(n, exclude)
      ? 'excluded: kept in float'
      : !rule
        ? FLOAT_ONLY_REASON
        : scope !== 'all' && rule.role !== 'activation'
          ? `scope '${scope}': elementwise, pooling and layout ops stay float`
          : 'not next to a quantized op: a lone int8 op costs more Q/DQ than it saves';
    skipped.push({ node: n.name, opType: n.opType, reason });
  }
  // Constant inputs of binary/variadic ops are quantized from their own values, not calibrated.
  const constInputs = new Set([...tensors].filter((t) => constantOf(g, t, producers)));
  const observed = [...tensors].filter((t) => !constInputs.has(t));

  // 4. Calibrate.
  let ranges = pre?.ranges;
  if (!ranges || observed.some((t) => !ranges!.has(t))) {
    if (!ctx.calibration)
      throw new QuantizeError(
        'quantize-static needs calibration data',
        "give a task (--calibration <task or data dir>), or '--calibration random' to calibrate on synthetic inputs",
      );
    const r = await calibrate(model, observed, ctx.calibration, {
      method,
      percentile: raw.percentile as number | undefined,
      maxSamples: raw.calibrationSamples as number | undefined,
    });
    ranges = r.ranges;
    notes.push(`calibrated ${observed.length} tensors with ${method} on ${r.samples} samples`);
  }
  for (const t of constInputs) {
    const v = constantOf(g, t, producers)!.toNumbers();
    let lo = 0;
    let hi = 0;
    for (const x of v) {
      lo = Math.min(lo, x);
      hi = Math.max(hi, x);
    }
    ranges.set(t, [lo, hi]);
  }

  // A tensor read only by ops that are flat outside an interval (HardSwish is 0 below −3, HardSigmoid
  // is 0 and 1 outside [−β/α, (1−β)/α], Relu, Clip) needs no codes outside it: clamping there changes
  // none of their outputs, and the codes go where the values still matter. (A conv before a HardSwish
  // often spends half its range on large negatives that all become 0.)
  ranges = new Map(ranges);
  let narrowed = 0;
  for (const t of observed) {
    const r = ranges.get(t);
    const cs = consumers.get(t) ?? [];
    if (raw.narrowRanges === false || !r || graphOutputs.has(t) || cs.length === 0) continue;
    let lo = Infinity;
    let hi = -Infinity;
    for (const c of cs) {
      const d = passBand(c, g, producers);
      if (!d || c.inputs[0] !== t) {
        lo = -Infinity;
        hi = Infinity;
        break;
      }
      lo = Math.min(lo, d[0]);
      hi = Math.max(hi, d[1]);
    }
    const nlo = Math.max(r[0], Math.min(0, lo));
    const nhi = Math.min(r[1], Math.max(0, hi));
    if (nlo !== r[0] || nhi !== r[1]) {
      ranges.set(t, [nlo, nhi]);
      narrowed++;
    }
  }
  if (narrowed) notes.push(`${narrowed} activation ranges narrowed to where their readers (HardSwish, HardSigmoid, Relu, Clip) are not flat`);

  // 5. Rewrite.
  const act = actType === DataType.UINT8 ? intRange(8, false) : intRange(8, true);
  const affine = new Map<string, Affine>();
  const paramsOf = (t: string): Affine => {
    const src = sameAs.get(t);
    if (src !== undefined) return paramsOf(src);
    let a = affine.get(t);
    if (!a) {
      const [lo, hi] = ranges!.get(t) ?? [0, 0];
      a = affineFromRange(lo, hi, act, false);
      a.scale = Math.fround(a.scale);
      affine.set(t, a);
    }
    return a;
  };
  const own = g.namer();
  // names must also be fresh in the graphs around a branch being quantized on its own
  const fresh = (b: string): string => {
    let name = own(b);
    while (pre?.reserved?.has(name)) name = own(b);
    return name;
  };
  const prefix: Node[] = [];
  const qdqNames = new Map<string, { scale: string; zp: string }>();
  const qparams = (t: string): { scale: string; zp: string } => {
    const root = sameAs.has(t) ? rootOf(t, sameAs) : t;
    let names = qdqNames.get(root);
    if (!names) {
      const a = paramsOf(root);
      const scale = fresh(`${root}_scale`);
      const zp = fresh(`${root}_zero_point`);
      g.initializers.set(scale, Tensor.scalar(scale, DataType.FLOAT, a.scale));
      g.initializers.set(zp, Tensor.scalar(zp, actType, a.zeroPoint));
      names = { scale, zp };
      qdqNames.set(root, names);
    }
    return names;
  };
  // Which value names get a Q/DQ pair right after they are produced: every quantized activation, and
  // the outputs of same-scale ops (ORT's drop-QDQ rule wants DQ → op → Q with equal parameters).
  const pairAfter = new Set<string>([...tensors, ...sameAs.keys()]);
  const renamed = new Map<string, string>(); // original value → its float name before the Q
  const pairNodes = (floatName: string, outName: string, t: string): Node[] => {
    const { scale, zp } = qparams(t);
    const q = fresh(`${t}_quantized`);
    return [
      new Node('QuantizeLinear', [floatName, scale, zp], [q], fresh(`${t}_QuantizeLinear`)),
      new Node('DequantizeLinear', [q, scale, zp], [outName], fresh(`${t}_DequantizeLinear`)),
    ];
  };
  // Graph inputs and constant inputs: their DQ output replaces them for every reader.
  const inputNames = new Set(g.realInputs().map((i) => i.name));
  const replace = new Map<string, string>();
  for (const t of pairAfter) {
    if (inputNames.has(t)) {
      const dq = fresh(`${t}_dequantized`);
      prefix.push(...pairNodes(t, dq, t));
      replace.set(t, dq);
    } else if (constInputs.has(t)) {
      const a = paramsOf(t);
      const c = constantOf(g, t, producers)!;
      const q = Float64Array.from(c.toNumbers(), (x) => Math.min(act.qmax, Math.max(act.qmin, Math.round(x / a.scale) + a.zeroPoint)));
      const qn = fresh(`${t}_quantized`);
      g.initializers.set(qn, Tensor.fromNumbers(qn, actType, c.dims, q));
      const { scale, zp } = qparams(t);
      const dq = fresh(`${t}_dequantized`);
      prefix.push(new Node('DequantizeLinear', [qn, scale, zp], [dq], fresh(`${t}_DequantizeLinear`)));
      replace.set(t, dq);
    }
  }
  const body: Node[] = [];
  for (const n of g.nodes) {
    if (folded.has(n)) continue;
    // Weights first: the bias scale needs the input's parameters, looked up by its original name.
    const w = weightOf.get(n);
    if (chosen.has(n) && w) prefix.push(...quantizeWeights(n, w, g, fresh, paramsOf, perChannel));
    for (let k = 0; k < n.inputs.length; k++) {
      const r = replace.get(n.inputs[k]!);
      if (r) n.inputs[k] = r;
    }
    // A folded activation: the producer now writes the activation's output directly.
    for (const [a, src] of folded) if (src === n) n.outputs[0] = a.outputs[0]!;
    body.push(n);
    for (let k = 0; k < n.outputs.length; k++) {
      const o = n.outputs[k]!;
      if (!o || !pairAfter.has(o)) continue;
      const f = fresh(`${o}_float`);
      n.outputs[k] = f;
      renamed.set(o, f);
      const vi = g.valueInfo.get(o);
      if (vi) g.valueInfo.set(f, { ...vi, name: f });
      body.push(...pairNodes(f, o, o));
    }
  }
  g.nodes = [...prefix, ...body];
  if (raw.hardswish === 'uint8') notes.push(...hardSwishOnCodes(g, fresh, skipped, model.opset('') ?? 0));
  removeDeadNodes(g, { initializers: true });
  const inBodies = floatModel ? await quantizeIfBodies(model, floatModel, { ...raw, foldExporterHabits: false }, ctx, quantizeStatic) : undefined;
  if (inBodies) {
    skipped.push(...inBodies.skipped);
    removeDeadNodes(g, { initializers: true });
    if (inBodies.bodies) notes.push(`${inBodies.quantized} nodes quantized inside ${inBodies.bodies} If branches (each calibrated on every batch)`);
  }

  const quantizedNames = [...chosen].map((n) => n.name);
  const byOp: Record<string, number> = {};
  for (const n of chosen) byOp[n.opType] = (byOp[n.opType] ?? 0) + 1;
  const record: PassRecord = {
    pass: 'quantize-static',
    params: { ...raw },
    stats: {
      quantizedNodes: chosen.size + (inBodies?.quantized ?? 0),
      quantizedInSubgraphs: inBodies?.quantized ?? 0,
      foldedActivations: folded.size,
      quantizedTensors: tensors.size,
      floatNodes: skipped.length,
      ...Object.fromEntries(Object.entries(byOp).map(([k, v]) => [`quantized.${k}`, v])),
    },
    skipped,
    notes,
  };
  return { model, record, ranges, quantized: quantizedNames };
}

/**
 * hardswish=uint8: opens the HardSwish stages whose readers go int8 with them, then runs every HardSwish
 * between uint8 Q/DQ on the codes. Readers that went int8 leave `skipped`. Returns the notes.
 */
function hardSwishOnCodes(g: Graph, fresh: (base: string) => string, skipped: Skipped[], opset: number): string[] {
  const notes: string[] = [];
  const opened = quantizeHardSwishReaders(g, fresh);
  if (opened.chains) {
    notes.push(`${opened.chains} HardSwish whose readers go int8 with it (squeeze-excite, pooling) given a Q/DQ on their value and gates`);
    const names = new Set(opened.readers.map((r) => `${r.opType}/${r.name}`));
    skipped.splice(0, skipped.length, ...skipped.filter((s) => !names.has(`${s.opType}/${s.node}`)));
  }
  const hs = hardSwishToUint8(g, fresh);
  if (hs.rewritten)
    notes.push(
      `${hs.rewritten} HardSwish run in uint8 (QLinearAdd + QLinearMul)${hs.biasExact + hs.biasRounded ? `; scalar biases folded into zero points: ${hs.biasExact} exactly (scale nudged), ${hs.biasRounded} within half a step` : ''}`,
    );
  else if (opset < 14)
    notes.push(
      `hardswish=uint8 changed nothing: opset ${opset} has no HardSwish op, so a HardSwish written as x·clip(x+3, 0, 6)/6 stays in float; for such a model run clean-fp32 first, or 'edgefit convert --opset 14'`,
    );
  return notes;
}

function rootOf(t: string, sameAs: Map<string, string>): string {
  let r = t;
  while (sameAs.has(r)) r = sameAs.get(r)!;
  return r;
}

/** The interval outside which a float op's output stops changing with its first input, if it has one. */
function passBand(n: Node, g: Graph, producers: Map<string, Node>): [number, number] | undefined {
  if (!n.isDefaultDomain) return undefined;
  switch (n.opType) {
    case 'HardSwish':
      return [-3, Infinity];
    case 'HardSigmoid': {
      const a = n.float('alpha', 0.2);
      const b = n.float('beta', 0.5);
      if (!(a > 0)) return undefined;
      return [-b / a, (1 - b) / a];
    }
    case 'Relu':
    case 'Clip':
      return clipBounds(n, g, producers);
  }
  return undefined;
}

/** A grouped Conv whose groups each read one input channel. */
function isDepthwise(n: Node, g: Graph, producers: Map<string, Node>): boolean {
  const w = constantOf(g, n.inputs[1] ?? '', producers);
  return n.int('group', 1) > 1 && w !== undefined && w.dims[1] === 1;
}

/** Why a compute node is not a pointwise one (spatial or grouped conv, squeeze-excite conv), or undefined. */
function notPointwise(n: Node, producers: Map<string, Node>): string | undefined {
  if (n.opType !== 'Conv') return undefined;
  if (n.int('group', 1) !== 1) return 'grouped (depthwise) conv stays float';
  const k = n.ints('kernel_shape');
  if (!k || k.some((d) => d !== 1)) return 'spatial conv stays float';
  // Squeeze-excite: a 1x1 conv fed (within a few hops) by a global pooling works on a 1x1 map.
  let p = producers.get(n.inputs[0]!);
  for (let hop = 0; hop < 3 && p; hop++) {
    if (p.opType === 'GlobalAveragePool' || p.opType === 'ReduceMean') return 'squeeze-excite conv (1x1 map) stays float';
    p = producers.get(p.inputs[0]!);
  }
  return undefined;
}

/** Multiply-adds per output element: (C/group)·kh·kw for Conv, K for MatMul/Gemm; undefined if unknown. */
function macsPerOutput(n: Node, w: Tensor | undefined): number | undefined {
  if (!w) return undefined;
  if (n.opType === 'Conv') return w.dims.slice(1).reduce((a, d) => a * d, 1);
  if (n.opType === 'Gemm') return n.int('transB', 0) === 1 ? w.dims[1] : w.dims[0];
  return w.dims[0];
}

/** Checks a Conv / MatMul / Gemm can be quantized and notes its weight; returns why not otherwise. */
function planCompute(
  n: Node,
  g: Graph,
  producers: Map<string, Node>,
  isFloat: Set<string>,
  perChannel: boolean,
  weightOf: Map<Node, { index: number; tensor: Tensor; axis: number | undefined }>,
): string | undefined {
  const x = n.inputs[0];
  if (!x || !isFloat.has(x)) return 'input is not float32';
  const wName = n.inputs[1];
  const w = wName ? constantOf(g, wName, producers) : undefined;
  if (w && w.dataType !== DataType.FLOAT) return 'weight is not float32';
  switch (n.opType) {
    case 'Conv':
      if (!w) return 'weight is not a constant';
      if (n.inputs[2] && !constantOf(g, n.inputs[2], producers)) return 'bias is not a constant';
      weightOf.set(n, { index: 1, tensor: w, axis: perChannel ? 0 : undefined });
      return undefined;
    case 'MatMul':
      if (!w) {
        if (!wName || !isFloat.has(wName)) return 'second input is not float32';
        return undefined; // activation × activation: both inputs get Q/DQ
      }
      if (w.dims.length !== 2) return 'weight is not 2-D';
      weightOf.set(n, { index: 1, tensor: w, axis: perChannel ? 1 : undefined });
      return undefined;
    case 'Gemm': {
      if (!w) return 'weight is not a constant';
      if (n.int('transA', 0) !== 0) return 'transA=1 has no int8 kernel';
      if (n.float('alpha', 1) !== 1 || n.float('beta', 1) !== 1) return 'alpha/beta ≠ 1 has no int8 kernel';
      const c = n.inputs[2] ? constantOf(g, n.inputs[2], producers) : undefined;
      if (n.inputs[2] && !c) return 'bias is not a constant';
      const transB = n.int('transB', 0) === 1;
      const outChannels = w.dims[transB ? 0 : 1]!;
      // QGemm takes an int32 bias per output column; a full [M, N] addend has no int8 form.
      if (c && c.size !== 1 && c.size !== outChannels) return `bias of shape [${c.dims.join(', ')}] has no int8 kernel (needs one value per output column)`;
      weightOf.set(n, { index: 1, tensor: w, axis: perChannel ? (transB ? 0 : 1) : undefined });
      return undefined;
    }
  }
  return 'not a compute op';
}

/** int8 symmetric weights (+ int32 bias with scale x_scale·w_scale) as initializers behind DequantizeLinear. */
function quantizeWeights(
  n: Node,
  w: { index: number; tensor: Tensor; axis: number | undefined },
  g: Graph,
  fresh: (b: string) => string,
  paramsOf: (t: string) => Affine,
  perChannel: boolean,
): Node[] {
  const out: Node[] = [];
  const wName = n.inputs[w.index]!;
  const cq = quantizeTensor(w.tensor.toFloat32(), w.tensor.dims, w.axis, intRange(8, true, true), true);
  const base = fresh(`${wName}_${n.name || n.opType}`);
  const q = `${base}_quantized`;
  const scale = `${base}_scale`;
  const zp = `${base}_zero_point`;
  const channelDims = w.axis === undefined ? [] : [w.tensor.dims[w.axis]!];
  g.initializers.set(q, Tensor.fromNumbers(q, DataType.INT8, w.tensor.dims, cq.q));
  g.initializers.set(scale, Tensor.fromNumbers(scale, DataType.FLOAT, channelDims, cq.scales));
  g.initializers.set(zp, Tensor.fromNumbers(zp, DataType.INT8, channelDims, new Int32Array(cq.scales.length)));
  const dq = `${base}_dequantized`;
  const dqNode = new Node('DequantizeLinear', [q, scale, zp], [dq], `${base}_DequantizeLinear`);
  if (w.axis !== undefined) dqNode.set('axis', attr.int(w.axis));
  out.push(dqNode);
  n.inputs[w.index] = dq;
  // Bias: int32 with scale x_scale · w_scale[c], zero point 0; ORT needs it in this form to fuse.
  const bName = (n.opType === 'Conv' || n.opType === 'Gemm') && n.inputs[2] ? n.inputs[2] : undefined;
  if (bName) {
    const b = g.initializers.get(bName) ?? g.nodes.find((m) => m.opType === 'Constant' && m.outputs[0] === bName)?.tensor('value');
    if (b) {
      const xs = paramsOf(n.inputs[0]!).scale;
      const channels = w.axis === undefined ? 1 : w.tensor.dims[w.axis]!;
      // A scalar bias with per-channel weights becomes one value per channel (each its own scale).
      const b0 = b.toFloat32();
      const bv = b0.length === 1 && channels > 1 ? new Float32Array(channels).fill(b0[0]!) : b0;
      if (bv.length === channels || bv.length === 1 || w.axis === undefined) {
        const bs = Float32Array.from({ length: bv.length }, (_, c) => Math.fround(xs * cq.scales[perChannel && w.axis !== undefined ? c : 0]!));
        const bq = Int32Array.from(bv, (v, c) => Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, Math.round(v / bs[c]!))));
        const bb = fresh(`${bName}_${n.name || n.opType}`);
        g.initializers.set(`${bb}_quantized`, Tensor.fromNumbers(`${bb}_quantized`, DataType.INT32, bv.length > 1 ? [bv.length] : b.dims, bq));
        const perC = bv.length > 1 && perChannel;
        const bsT = perC ? Tensor.fromNumbers(`${bb}_scale`, DataType.FLOAT, [bv.length], bs) : Tensor.scalar(`${bb}_scale`, DataType.FLOAT, bs[0]!);
        g.initializers.set(`${bb}_scale`, bsT);
        g.initializers.set(
          `${bb}_zero_point`,
          perC
            ? Tensor.fromNumbers(`${bb}_zero_point`, DataType.INT32, [bv.length], new Int32Array(bv.length))
            : Tensor.scalar(`${bb}_zero_point`, DataType.INT32, 0),
        );
        const bdq = new Node('DequantizeLinear', [`${bb}_quantized`, `${bb}_scale`, `${bb}_zero_point`], [`${bb}_dequantized`], `${bb}_DequantizeLinear`);
        if (perC) bdq.set('axis', attr.int(0));
        out.push(bdq);
        n.inputs[2] = `${bb}_dequantized`;
      }
    }
  }
  return out;
}

function upgradeTo13(model: Model, from: number): Model {
  try {
    upgradeOpset(model, 13);
  } catch (e) {
    if (e instanceof EdgefitError)
      throw new QuantizeError(
        `the model is at opset ${from}; static QDQ needs opset ≥ 13, and the upgrade failed: ${e.message}`,
        e.hint ?? 're-export the model at opset 13 or newer',
      );
    throw e;
  }
  return model;
}
