// Structured pruning on the ONNX graph: whole output channels of Conv/MatMul/Gemm layers (and attention
// heads, FFN neurons) are removed together with everything coupled to them, so the tensors really
// shrink. Dependency groups come from prune/dependency-graph.ts; a group that cannot be pruned safely is
// left alone and recorded, naming the node. Quality drops until recovery (src/train/recover.ts).

import type * as ort from 'onnxruntime-node';
import { foldExporterHabits } from '../onnx/fold-exporter-habits.js';
import type { Model } from '../onnx/model.js';
import { UsageError } from '../onnx/errors.js';
import { verifyModel } from '../onnx/verify.js';
import type { Pass, PassContext, PassRecord } from './pass.js';
import { applyEdits } from './prune/apply-edits.js';
import { compensateRemoved } from './prune/compensate.js';
import { buildDependencyGraph } from './prune/dependency-graph.js';
import { elementScores, type ImportanceMethod } from './prune/importance.js';
import { selectChannels, type GroupPlan } from './prune/select-channels.js';

export interface PruneStructuredParams {
  [k: string]: number | boolean | string | string[] | undefined;
  ratio?: number;
  method?: ImportanceMethod;
  scope?: 'layer' | 'global' | 'wide';
  multiple?: number;
  exclude?: string[];
  /** 'layer=ratio' entries: a ratio for the group of that layer, overriding `ratio`. */
  layerRatios?: string[];
  /** Fold the constant part of removed channels into the next layers' biases (default true). */
  compensate?: boolean;
}

function parseLayerRatios(entries: string[] | undefined, model: Model): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of entries ?? []) {
    const eq = e.lastIndexOf('=');
    const name = e.slice(0, eq);
    const r = Number(e.slice(eq + 1));
    if (eq <= 0 || !(r >= 0 && r < 1))
      throw new UsageError(`prune-structured: layerRatios entry '${e}' is not layer=ratio with 0 ≤ ratio < 1`, 'e.g. conv3=0.25');
    if (!model.graph.nodes.some((n) => n.name === name))
      throw new UsageError(`prune-structured: no layer named '${name}'`, '`edgefit inspect` lists node names');
    out.set(name, r);
  }
  return out;
}

export interface PruneStructuredResult {
  model: Model;
  record: PassRecord;
  groups: GroupPlan[];
}

export async function pruneStructured(
  source: Model,
  params: PruneStructuredParams,
  data: { gradients?: ReadonlyMap<string, Float32Array>; sample?: Record<string, ort.Tensor> } = {},
): Promise<PruneStructuredResult> {
  const ratio = params.ratio ?? 0;
  const method = params.method ?? 'l1';
  const scope = params.scope ?? 'layer';
  const multiple = params.multiple ?? 8;
  if (!(ratio >= 0 && ratio < 1))
    throw new UsageError(`prune-structured: ratio ${ratio} is outside [0, 1)`, 'e.g. 0.5 removes half the channels of each group');
  const record: PassRecord = {
    pass: 'prune-structured',
    params: { ratio, method, scope, multiple, exclude: params.exclude, layerRatios: params.layerRatios, compensate: params.compensate ?? true },
    stats: {},
    skipped: [],
    notes: [],
  };
  const model = source.clone();
  // exporters reach weights through Identity/Constant chains; pruning edits the weights themselves
  foldExporterHabits(model);
  const dg = buildDependencyGraph(model);
  if (method === 'taylor' && !data.gradients && ratio > 0)
    throw new UsageError(
      'taylor importance needs the loss gradients of the weights on task data',
      'edgefit prune --method taylor computes them; or use l1, l2 or bn',
    );
  const { scores, hasBn } = elementScores(model.graph, dg, method, data.gradients);
  if (method === 'bn' && hasBn.every((b) => !b))
    record.notes.push('no BatchNormalization follows a pruned layer (folded by the exporter?); ranked by L2 norm instead');
  const layerRatios = parseLayerRatios(params.layerRatios, model);
  const { removed, plans, skipped } = selectChannels(dg, scores, { ratio, multiple, scope, exclude: params.exclude, layerRatios });
  record.skipped = skipped;
  const channels = plans.reduce((a, p) => a + p.channels, 0);
  const kept = plans.reduce((a, p) => a + p.kept, 0);
  record.stats = { groups: plans.length, channels, kept, removed: channels - kept, fixedGroups: plans.filter((p) => p.fixed > 0).length };
  // ratio 0, or nothing removable: the input itself, so outputs are bit-identical
  if (removed.size === 0) return { model: source.clone(), record, groups: plans };
  if (params.compensate ?? true) {
    const comp = await compensateRemoved(model, dg, removed, data.sample);
    record.stats.compensatedLayers = comp.layers;
    record.notes.push(...comp.notes);
  }
  record.stats.editedConstants = applyEdits(model, dg, removed);
  verifyModel(model, { context: 'after pass prune-structured' });
  return { model, record, groups: plans };
}

/** The loss gradients of every weight on (up to 128 of) the chain's training samples: what Taylor importance ranks by. */
async function chainGradients(model: Model, ctx: PassContext): Promise<Map<string, Float32Array>> {
  if (!ctx.trainData)
    throw new UsageError('prune-structured: taylor importance needs training samples and the run has none', 'pass --task or --data, or use method l1');
  const { floatIdView } = await import('../train/id-input-view.js');
  const { weightGradients } = await import('../train/taylor-gradients.js');
  const d = ctx.trainData;
  ctx.log?.('prune-structured: taylor importance, gradients of the task loss on the training samples');
  return weightGradients(
    floatIdView(model),
    { x: d.x, sampleShape: d.sampleShape, ...(d.labels ? { labels: d.labels } : {}) },
    { samples: 128, threads: ctx.threads ?? 1 },
  );
}

export const pruneStructuredPass: Pass<PruneStructuredParams> = {
  name: 'prune-structured',
  description: 'removes whole channels, attention heads and FFN neurons with everything coupled to them (dependency groups); recover quality afterwards',
  params: {
    ratio: {
      type: 'number',
      default: 0,
      min: 0,
      max: 0.95,
      description: 'fraction of channels removed per group (layer scope) or overall (global); 0 leaves the model unchanged',
      // what the pipeline search tries (each followed by a recovery stage): mild cuts that recovery can repair
      search: { values: [0.125, 0.25] },
    },
    method: {
      type: 'enum',
      values: ['l1', 'l2', 'bn', 'taylor'],
      default: 'l1',
      description: 'importance: L1 or L2 weight norm, |BatchNorm scale|, or first-order Taylor |Σ w·∂L/∂w| on the training samples (in a chain)',
    },
    scope: {
      type: 'enum',
      values: ['layer', 'global', 'wide'],
      default: 'layer',
      description:
        'the same ratio in every group; only in the groups at least half as wide as the widest (where late CNN stages spend their time); or one ranking over all groups',
    },
    multiple: { type: 'integer', default: 8, min: 1, description: 'kept channel counts are rounded up to a multiple of this (heads: 1)' },
    exclude: { type: 'string[]', default: [], description: 'layer (node) names whose groups are left alone' },
    layerRatios: { type: 'string[]', default: [], description: "per-layer ratios as 'layer=ratio' (the layer's whole group), overriding ratio" },
    compensate: {
      type: 'boolean',
      default: true,
      description: "fold what removed channels gave the next layers when their weights are zero (bias, BN/affine shift) into those layers' biases",
    },
  },
  // The default ratio 0 changes nothing; any ratio > 0 changes the outputs by design until recovery.
  tolerance: { metric: 'maxAbs', value: 0 },
  effect: { params: { ratio: 0.5 }, why: 'half the channels of each prunable group removed; recovery (edgefit prune --recover-epochs) restores quality' },
  // Taylor ranks by the task loss: on PaddleOCR rec, a quarter of Conv.18's group cut by Taylor cost
  // 5.4% CER where L1 cost 100% (docs/prune.md). And ORT's uint8 kernels want widths that are multiples
  // of 16: half of rec's six wide groups kept at 120 channels ran int8 1.11× faster than unpruned int8,
  // at 128 channels 1.25× (`node --import tsx bench/prune-rec.ts --only widths`). Scope 'wide' leaves the narrow,
  // sensitive early groups alone: on rec, int8 after wide 0.25 ran 3.11× the fp32 source at p50 (layer
  // 0.25: 3.27×, int8 alone 2.41×; bench/prune-rec.ts stage scopes) and recovered to CER 0.049 in 200
  // CTC+KD steps (source 0.043; docs/prune.md).
  searchParams: { method: 'taylor', multiple: 16, scope: 'wide' },
  needsTrainData: (p) => p.method === 'taylor' && Number(p.ratio ?? 0) > 0,
  async run(model, params, ctx) {
    const gradients = params.method === 'taylor' && (params.ratio ?? 0) > 0 ? await chainGradients(model, ctx) : undefined;
    const { model: out, record } = await pruneStructured(model, params, gradients ? { gradients } : {});
    return { model: out, record };
  },
};
