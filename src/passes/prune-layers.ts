// prune-layers: removes whole layers (residual blocks, transformer sublayers, same-shape convs). The
// model's segments between cuts (prune/layer-segments.ts) whose input and output have one shape can be
// dropped by reading the input where the output was read. Which ones: named (`drop`), or the `count`
// with the least block influence on calibration data, BI = 1 − cos(input, output) per sample, averaged
// (ShortGPT's metric, per sample rather than per token): a layer that barely changes its input goes first.

import * as ort from 'onnxruntime-node';
import { UsageError } from '../onnx/errors.js';
import { removeDeadNodes } from '../onnx/graph-utils.js';
import { Node } from '../onnx/graph.js';
import type { Model } from '../onnx/model.js';
import { verifyModel } from '../onnx/verify.js';
import { createSession } from '../runtime/session.js';
import type { Feeds, Pass, PassContext, PassRecord, Skipped } from './pass.js';
import { layerSegments, type Segment } from './prune/layer-segments.js';
import { toOrtFeeds } from './quant/calibrate.js';

export interface PruneLayersParams {
  [k: string]: number | string[] | undefined;
  count?: number;
  drop?: string[];
  samples?: number;
}

interface Scored {
  seg: Segment;
  /** Name of the segment: its last node. */
  name: string;
  influence: number;
  same: boolean;
  dims: [readonly number[], readonly number[]];
}

function cosine(a: Float32Array, b: Float32Array, from: number, to: number): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = from; i < to; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : aa === bb ? 1 : 0;
}

/** Every segment's input/output shapes and block influence over up to `samples` calibration rows. */
async function scoreSegments(model: Model, segs: Segment[], ctx: PassContext, samples: number): Promise<Scored[]> {
  if (!ctx.calibration) throw new UsageError('prune-layers ranks layers on data and has none', 'give calibration data (a task or a data folder)');
  const probe = model.clone();
  const names = [...new Set(segs.flatMap((s) => [s.from, s.to]))];
  probe.graph.outputs = names.map((name) => ({ name }));
  probe.graph.valueInfo.clear();
  const s = await createSession(probe);
  const sum = new Map<string, { cos: number; n: number }>(segs.map((g) => [g.to, { cos: 0, n: 0 }]));
  const dims = new Map<string, readonly number[]>();
  try {
    let seen = 0;
    for await (const batch of ctx.calibration() as AsyncIterable<Feeds>) {
      const out = await s.run(toOrtFeeds(batch));
      for (const g of segs) {
        const [a, b] = [out[g.from]!, out[g.to]!];
        dims.set(g.from, a.dims.slice(1));
        dims.set(g.to, b.dims.slice(1));
        if (a.dims.join() !== b.dims.join() || a.type !== 'float32') continue;
        const rows = a.dims[0] ?? 1;
        const per = a.size / rows;
        const acc = sum.get(g.to)!;
        for (let r = 0; r < rows; r++) acc.cos += cosine(a.data as Float32Array, b.data as Float32Array, r * per, (r + 1) * per);
        acc.n += rows;
      }
      seen += Object.values(batch)[0]?.dims[0] ?? 1;
      if (seen >= samples) break;
    }
  } finally {
    await s.release();
  }
  return segs.map((seg) => {
    const d: [readonly number[], readonly number[]] = [dims.get(seg.from) ?? [], dims.get(seg.to) ?? []];
    const acc = sum.get(seg.to)!;
    return { seg, name: seg.nodes.at(-1)!.name || seg.to, influence: acc.n ? 1 - acc.cos / acc.n : Number.NaN, same: acc.n > 0, dims: d };
  });
}

/** Reads `from` wherever `to` was read (an Identity where `to` is a graph output); the segment then dies. */
function bypass(model: Model, seg: Segment): void {
  const g = model.graph;
  for (const n of g.nodes) n.inputs = n.inputs.map((i) => (i === seg.to ? seg.from : i));
  for (const n of g.nodes) for (const sub of n.subgraphs()) if (sub.outerScopeReads().has(seg.to)) throw new Error(`a subgraph reads ${seg.to}`);
  if (g.outputs.some((o) => o.name === seg.to)) g.nodes.push(new Node('Identity', [seg.from], [seg.to], `${seg.to}/bypass`));
}

function chosen(scored: Scored[], params: PruneLayersParams): Scored[] {
  const droppable = scored.filter((s) => s.same);
  if (params.drop?.length) {
    return params.drop.map((name) => {
      const s = scored.find((x) => x.name === name);
      if (!s) throw new UsageError(`prune-layers: no layer ends at a node named '${name}'`, `layers: ${scored.map((x) => x.name).join(', ')}`);
      if (!s.same)
        throw new UsageError(
          `prune-layers: '${name}' changes the shape [${s.dims[0]}] → [${s.dims[1]}]; it cannot be dropped`,
          `droppable: ${droppable.map((x) => x.name).join(', ')}`,
        );
      return s;
    });
  }
  return [...droppable].sort((a, b) => a.influence - b.influence).slice(0, params.count ?? 0);
}

export async function pruneLayers(source: Model, params: PruneLayersParams, ctx: PassContext = {}): Promise<{ model: Model; record: PassRecord }> {
  const record: PassRecord = { pass: 'prune-layers', params: { count: params.count ?? 0, drop: params.drop ?? [] }, stats: {}, skipped: [], notes: [] };
  if (!(params.count ?? 0) && !params.drop?.length) return { model: source.clone(), record };
  const model = source.clone();
  const segs = layerSegments(model.graph);
  if (!segs.length) {
    record.notes.push('no layer to remove: no segment between two cuts holds a Conv, MatMul or Gemm (in the main graph)');
    return { model, record };
  }
  const scored = await scoreSegments(model, segs, ctx, params.samples ?? 64);
  record.skipped = scored
    .filter((s) => !s.same)
    .map((s): Skipped => ({ node: s.name, opType: s.seg.nodes.at(-1)!.opType, reason: `changes the shape [${s.dims[0]}] → [${s.dims[1]}]` }));
  const drop = chosen(scored, params);
  if (drop.length < (params.count ?? 0))
    record.notes.push(`count ${params.count} but only ${drop.length} layers keep their shape: ${drop.length ? 'dropped those' : 'the model is unchanged'}`);
  // later segments first, so that dropping adjacent ones chains their bypasses
  for (const s of [...drop].sort((a, b) => segs.indexOf(b.seg) - segs.indexOf(a.seg))) bypass(model, s.seg);
  const dead = removeDeadNodes(model.graph, { initializers: true });
  verifyModel(model, { context: 'after pass prune-layers' });
  record.stats = { layers: segs.length, droppable: scored.filter((s) => s.same).length, dropped: drop.length, nodesRemoved: dead.nodes };
  record.notes.push(...drop.map((s) => `dropped '${s.name}' (${s.seg.nodes.length} nodes, block influence ${s.influence.toFixed(4)})`));
  return { model, record };
}

export const pruneLayersPass: Pass<PruneLayersParams> = {
  name: 'prune-layers',
  description:
    'removes whole layers (residual blocks, transformer sublayers, same-shape convs) that change their input least on calibration data; recover quality afterwards',
  params: {
    count: { type: 'integer', default: 0, min: 0, description: 'layers to remove, those of least block influence first; 0 leaves the model unchanged' },
    drop: { type: 'string[]', default: [], description: 'names of the layers to remove (the node each ends at), instead of count' },
    samples: { type: 'integer', default: 64, min: 1, description: 'calibration samples the block influence is measured on' },
  },
  needsCalibration: true,
  tolerance: { metric: 'maxAbs', value: 0 },
  effect: { params: { count: 1 }, why: 'one whole layer removed; recovery restores quality' },
  async run(model, params, ctx) {
    return pruneLayers(model, params, ctx);
  },
};
