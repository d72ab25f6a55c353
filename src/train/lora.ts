// LoRA: low-rank adapters on the weights of MatMul, Gemm and 1×1 Conv, chosen by a pattern over
// weight names. The adapted weight is W + (α/r)·A·B, where rows×cols is W seen as a matrix (a 1×1 conv
// [M, C, 1, 1] as [M, C]), A [rows, r] is small and random and B [r, cols] is zero, so step 0 is the base
// model. The graph never forms that product: it adds the low-rank path to the layer's output, computed on
// the activations (x·A·B for a MatMul, two thin convs for a 1×1 Conv), as PEFT does. A full-size A·B and
// its full-size gradient each step would cost as much memory and time as training W itself. Only A and
// B train; the export merges them into W, so the adapters cost nothing at run time.

import { UsageError } from '../onnx/errors.js';
import { attr, Node } from '../onnx/graph.js';
import type { Model } from '../onnx/model.js';
import { Tensor } from '../onnx/tensor.js';
import { DataType } from '../onnx/dtype.js';
import { Rng } from './rng.js';

export interface LoraSpec {
  rank: number;
  /** Scale numerator: the update is (alpha/rank)·A·B (default alpha = rank). */
  alpha?: number;
  /** Regular expression over weight names (default: every eligible weight). */
  pattern?: string;
  seed?: number;
}

export interface LoraAdapter {
  weight: string;
  a: string;
  b: string;
  rows: number;
  cols: number;
  rank: number;
  scale: number;
}

export interface LoraModel {
  model: Model;
  adapters: LoraAdapter[];
  /** Names of the trainable adapter tensors. */
  trainable: string[];
}

/** Parses --lora rank[:alpha]. */
export function parseLora(s: string, pattern?: string): LoraSpec {
  const m = /^(\d+)(?::(\d+(?:\.\d+)?))?$/.exec(s);
  if (!m) throw new UsageError(`--lora '${s}' is not rank[:alpha]`, 'e.g. --lora 8 or --lora 8:16');
  return { rank: Number(m[1]), alpha: m[2] !== undefined ? Number(m[2]) : undefined, pattern };
}

/** Weights LoRA can adapt: 2-D MatMul/Gemm weights and 1×1 ungrouped Conv weights, held as initializers. */
export function loraCandidates(model: Model): { name: string; rows: number; cols: number }[] {
  const g = model.graph;
  const out = new Map<string, { name: string; rows: number; cols: number }>();
  for (const n of g.nodes) {
    const w = n.inputs[1] ? g.initializers.get(n.inputs[1]) : undefined;
    if (!w || w.dataType !== DataType.FLOAT) continue;
    const d = w.dims;
    if ((n.opType === 'MatMul' || n.opType === 'Gemm') && d.length === 2) out.set(w.name, { name: w.name, rows: d[0]!, cols: d[1]! });
    else if (n.opType === 'Conv' && d.length === 4 && d[2] === 1 && d[3] === 1 && n.int('group', 1) === 1)
      out.set(w.name, { name: w.name, rows: d[0]!, cols: d[1]! });
  }
  return [...out.values()];
}

/** The model with adapters on the weights matching the pattern. */
export function addLora(source: Model, spec: LoraSpec): LoraModel {
  if (!(Number.isInteger(spec.rank) && spec.rank >= 0)) throw new UsageError(`LoRA rank must be a whole number ≥ 0, got ${spec.rank}`);
  const model = source.clone();
  const g = model.graph;
  let re: RegExp | undefined;
  try {
    re = spec.pattern ? new RegExp(spec.pattern) : undefined;
  } catch (e) {
    throw new UsageError(`--lora-pattern '${spec.pattern}' is not a valid regular expression: ${(e as Error).message}`);
  }
  const all = loraCandidates(model);
  const chosen = all.filter((c) => !re || re.test(c.name));
  if (chosen.length === 0)
    throw new UsageError(
      `the LoRA pattern '${spec.pattern ?? ''}' matches no MatMul, Gemm or 1×1 Conv weight`,
      `adaptable weights: ${all
        .slice(0, 6)
        .map((c) => c.name)
        .join(', ')}${all.length > 6 ? ', …' : all.length === 0 ? '(none)' : ''}`,
    );
  if (spec.rank === 0) return { model, adapters: [], trainable: [] };
  const rng = new Rng(spec.seed ?? 0);
  const fresh = g.namer();
  const r = spec.rank;
  const scale = (spec.alpha ?? r) / r;
  const adapters: LoraAdapter[] = [];
  const out: Node[] = [];
  const byWeight = new Map<string, { a: string; b: string; s: string }>();
  for (const c of chosen) {
    const w = g.initializers.get(c.name)!;
    const a = fresh(`${c.name}.lora_A`);
    const b = fresh(`${c.name}.lora_B`);
    const conv = w.dims.length === 4;
    // A ~ N(0, 1/rows), B = 0: the product starts at zero. A 1×1 conv's factors are 1×1 conv weights.
    const aDims = conv ? [c.rows, r, 1, 1] : [c.rows, r];
    const bDims = conv ? [r, c.cols, 1, 1] : [r, c.cols];
    g.initializers.set(
      a,
      Tensor.fromFloat32(
        a,
        aDims,
        Float32Array.from({ length: c.rows * r }, () => rng.normal() / Math.sqrt(c.rows)),
      ),
    );
    g.initializers.set(b, Tensor.fromFloat32(b, bDims, new Float32Array(r * c.cols)));
    const s = fresh(`${c.name}.lora_scale`);
    g.initializers.set(s, Tensor.scalar(s, DataType.FLOAT, scale));
    byWeight.set(c.name, { a, b, s });
    adapters.push({ weight: c.name, a, b, rows: c.rows, cols: c.cols, rank: r, scale });
  }
  for (const n of g.nodes) {
    out.push(n);
    const ad = (n.opType === 'MatMul' || n.opType === 'Gemm' || n.opType === 'Conv') && n.inputs[1] ? byWeight.get(n.inputs[1]) : undefined;
    if (ad) out.push(...lowRankPath(n, ad, fresh));
  }
  g.nodes = out;
  g.valueInfo.clear();
  return { model, adapters, trainable: adapters.flatMap((x) => [x.a, x.b]) };
}

/**
 * The nodes that add scale·(x through A·B) to `n`'s output, which `n` now writes under a fresh name.
 * MatMul x·W: (x·A)·B. Gemm α·x′·W′ (+βC): α·(x′·A)·B, or with transB (W stored [N, K] = A·B, so
 * W′ = Bᵀ·Aᵀ) α·(x′·Bᵀ)·Aᵀ. Conv 1×1 with W [M, C]: a conv by B [r, C] with the layer's strides and
 * pads, then one by A [M, r]. The scale multiplies the r-wide middle, the cheapest place.
 */
function lowRankPath(n: Node, ad: { a: string; b: string; s: string }, fresh: (hint: string) => string): Node[] {
  const y = n.outputs[0]!;
  const base = fresh(`${y}.lora_base`);
  n.outputs[0] = base;
  const x = n.inputs[0]!;
  const [mid, low, sum] = [fresh(`${y}.lora_xa`), fresh(`${y}.lora_low`), fresh(`${y}.lora_up`)];
  const nodes: Node[] = [];
  const name = (op: string) => fresh(`${n.name || y}/lora_${op}`);
  if (n.opType === 'Conv') {
    const first = new Node('Conv', [x, ad.b], [mid], name('ConvB'));
    for (const [k, v] of n.attributes) if (k !== 'group') first.attributes.set(k, v);
    nodes.push(first, new Node('Mul', [mid, ad.s], [low], name('Mul')), new Node('Conv', [low, ad.a], [sum], name('ConvA')));
  } else if (n.opType === 'MatMul') {
    nodes.push(
      new Node('MatMul', [x, ad.a], [mid], name('MatMulA')),
      new Node('Mul', [mid, ad.s], [low], name('Mul')),
      new Node('MatMul', [low, ad.b], [sum], name('MatMulB')),
    );
  } else {
    const tB = n.int('transB', 0);
    const alpha = n.float('alpha', 1);
    const [first, second] = tB ? [ad.b, ad.a] : [ad.a, ad.b];
    const g1 = new Node('Gemm', [x, first], [mid], name('GemmIn'), '', {
      transA: attr.int(n.int('transA', 0)),
      transB: attr.int(tB),
      alpha: attr.float(alpha),
    });
    const g2 = new Node('Gemm', [low, second], [sum], name('GemmOut'), '', { transB: attr.int(tB) });
    nodes.push(g1, new Node('Mul', [mid, ad.s], [low], name('Mul')), g2);
  }
  nodes.push(new Node('Add', [base, sum], [y], name('Add')));
  return nodes;
}

/** `base` with each adapter of `trained` merged into its weight: W ← W + scale·A·B. */
export function mergeLora(base: Model, trained: Model, adapters: LoraAdapter[]): Model {
  const out = base.clone();
  for (const ad of adapters) {
    const w = Float32Array.from(out.graph.initializers.get(ad.weight)!.toFloat32());
    const A = trained.graph.initializers.get(ad.a)!.toFloat32();
    const B = trained.graph.initializers.get(ad.b)!.toFloat32();
    const r = ad.rank;
    for (let i = 0; i < ad.rows; i++)
      for (let k = 0; k < r; k++) {
        const aik = A[i * r + k]! * ad.scale;
        if (aik === 0) continue;
        for (let j = 0; j < ad.cols; j++) w[i * ad.cols + j]! += aik * B[k * ad.cols + j]!;
      }
    const t = out.graph.initializers.get(ad.weight)!;
    out.graph.initializers.set(ad.weight, Tensor.fromFloat32(ad.weight, t.dims, w));
  }
  return out;
}

/** Parameters the adapters train, against those of the weights they adapt. */
export function loraCounts(adapters: LoraAdapter[]): { trainable: number; adapted: number } {
  let trainable = 0;
  let adapted = 0;
  for (const a of adapters) {
    trainable += (a.rows + a.cols) * a.rank;
    adapted += a.rows * a.cols;
  }
  return { trainable, adapted };
}
