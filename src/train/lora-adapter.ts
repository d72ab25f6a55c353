// LoRA adapter files: what `finetune --lora --save-adapter` trained, kept apart from the base model so
// that one base serves many lines or products, each with its own small file, merged at load time
// (onnxruntime-node has no adapter API). The file is an ONNX model with no nodes: its initializers are
// the adapters' A and B and, for a classifier, the new head; its metadata says each adapter's weight
// and a digest of the base's weights, so that an adapter applied to another base is refused instead of
// silently giving wrong answers. Two kinds:
//   head   – a classifier fine-tuned on a cut: where the base was cut, the head's shape, and the digest
//            of the base's weights up to the cut;
//   whole  – the whole model trained, no new head (CTC fine-tuning of an OCR recogniser): the digest of
//            the base in its trainable form (trainableForm), which the merge rebuilds.

import { createHash } from 'node:crypto';
import { EdgefitError, UsageError } from '../onnx/errors.js';
import { Graph } from '../onnx/graph.js';
import { Model } from '../onnx/model.js';
import { upgradeOpset } from '../onnx/opset-upgrade.js';
import { readModel } from '../onnx/read-model.js';
import { trainableForm } from '../onnx/trainable-form.js';
import type { Tensor } from '../onnx/tensor.js';
import { writeModel } from '../onnx/write-model.js';
import { attachHead, cutAt, type FinetuneResult } from './finetune.js';
import { mergeLora, type LoraAdapter } from './lora.js';

export const ADAPTER_META = 'edgefit.lora-adapter';
const FORMAT = 1;

/** What an adapter file holds. */
export interface AdapterContent {
  /** The base model's tensor the head reads; absent in a whole-model adapter (no new head). */
  feature?: string;
  /** The feature's shape as the head was built for it (batch first). */
  featureShape?: number[];
  classes?: number;
  /** sha256 of the base's initializers up to the cut, or of the whole base in its trainable form (backboneDigest). */
  backbone: string;
  /** The opset the merged model was built at, when finetune upgraded the base's. */
  opset?: number;
  adapters: LoraAdapter[];
  /** The adapters' A and B, and head.weight / head.bias. */
  tensors: Tensor[];
}

/** sha256 over the names, types, dims and bytes of a model's initializers, in name order. */
export function backboneDigest(backbone: Model): string {
  const h = createHash('sha256');
  for (const name of [...backbone.graph.initializers.keys()].sort()) {
    const t = backbone.graph.initializers.get(name)!;
    h.update(`${name}\0${t.dataType}\0${t.dims.join(',')}\0`);
    h.update(t.data);
  }
  return h.digest('hex');
}

/** The adapter file's content for a `finetune` run with LoRA on `source`. */
export function adapterContent(source: Model, r: FinetuneResult): AdapterContent {
  if (!r.loraParts) throw new UsageError('an adapter file holds what LoRA trained', 'add --lora rank (e.g. --lora 8) to save one');
  const { adapters, tensors, classes, opset } = r.loraParts;
  return { feature: r.feature, featureShape: r.featureShape, classes, backbone: backboneDigest(cutAt(source, r.feature)), opset, adapters, tensors };
}

/** The adapter file's content for adapters trained on the whole of `source` (no new head): their A and B from `trained`. */
export function wholeModelAdapterContent(source: Model, trained: Model, adapters: LoraAdapter[]): AdapterContent {
  const tensors = adapters.flatMap((ad) => [ad.a, ad.b]).map((n) => trained.graph.initializers.get(n)!);
  return { backbone: backboneDigest(trainableForm(source)), adapters, tensors };
}

export function writeAdapter(path: string, a: AdapterContent): void {
  const g = new Graph();
  for (const t of a.tensors) g.initializers.set(t.name, t);
  const m = new Model(g);
  const { tensors: _t, ...meta } = a;
  void _t;
  m.setMeta(ADAPTER_META, JSON.stringify({ format: FORMAT, ...meta }));
  writeModel(m, path);
}

/** Reads an adapter file; a model or a file of another kind is refused with what it is. */
export function readAdapter(path: string): AdapterContent {
  const m = readModel(path);
  const raw = m.meta(ADAPTER_META);
  if (raw === undefined)
    throw new UsageError(
      `${path} is not an edgefit LoRA adapter (no ${ADAPTER_META} metadata)`,
      m.graph.nodes.length > 0
        ? 'it is a model: serve it as one, or pass the file written by `edgefit finetune --lora r --save-adapter`'
        : 'pass the file written by `edgefit finetune --lora r --save-adapter`',
    );
  let meta: Omit<AdapterContent, 'tensors'> & { format?: number };
  try {
    meta = JSON.parse(raw);
  } catch (e) {
    throw new UsageError(
      `${path}: its adapter metadata is not valid JSON (${(e as Error).message})`,
      'write the adapter again with `edgefit finetune --save-adapter`',
    );
  }
  if (meta.format !== FORMAT)
    throw new UsageError(`${path}: adapter format ${meta.format} is not the one this edgefit reads (${FORMAT})`, 'write the adapter again with this version');
  const need = [...meta.adapters.flatMap((ad) => [ad.a, ad.b]), ...(meta.feature !== undefined ? ['head.weight', 'head.bias'] : [])];
  const missing = need.filter((n) => !m.graph.initializers.has(n));
  if (missing.length) throw new UsageError(`${path}: the adapter lacks the tensor(s) ${missing.join(', ')}`, 'the file is damaged; write it again');
  for (const n of need)
    if (!m.graph.initializers.get(n)!.toFloat32().every(Number.isFinite))
      throw new UsageError(`${path}: tensor '${n}' holds NaN or infinite values`, 'the training diverged or the file is damaged; train again');
  return { ...meta, tensors: need.map((n) => m.graph.initializers.get(n)!) };
}

/**
 * The fine-tuned model from its base and an adapter: the base cut where the adapter says, the head
 * attached with the adapter's weights, and each adapter merged into its weight (a whole-model
 * adapter: the base in its trainable form, adapters merged). The same graph `finetune` exported,
 * built from one shared base.
 */
export function applyAdapter(base: Model, a: AdapterContent, label = 'the adapter'): Model {
  const feature = a.feature;
  if (feature === undefined) return applyWholeModel(base, a, label);
  if (!base.graph.nodes.some((n) => n.outputs.includes(feature)))
    throw new UsageError(
      `${label} reads tensor '${a.feature}', which this model lacks`,
      'apply it to the model that was fine-tuned (the <model> given to `edgefit finetune`)',
    );
  const backbone = cutAt(base, feature);
  const digest = backboneDigest(backbone);
  if (digest !== a.backbone)
    throw new UsageError(
      `${label} was trained on another base model: its weights up to '${a.feature}' differ (sha256 ${digest.slice(0, 12)}… here, ${a.backbone.slice(0, 12)}… in the adapter)`,
      'apply it to the model that was fine-tuned (the <model> given to `edgefit finetune`)',
    );
  const tensor = (name: string) => a.tensors.find((t) => t.name === name)!;
  const [featureShape, classes] = [a.featureShape!, a.classes!];
  const features = featureShape.length > 2 ? featureShape[1]! : featureShape.slice(1).reduce((p, q) => p * q, 1);
  if (tensor('head.weight').size !== features * classes)
    throw new EdgefitError(
      `${label}: head.weight has ${tensor('head.weight').size} values, not ${features} × ${classes}`,
      'E_ADAPTER',
      'the file is damaged; write it again',
    );
  const m = attachHead(backbone, featureShape, classes, 0, { weight: tensor('head.weight').toFloat32(), bias: tensor('head.bias').toFloat32() });
  if (a.opset !== undefined && (m.opset() ?? 0) < a.opset) upgradeOpset(m, a.opset);
  return mergeChecked(m, a, label);
}

/** A whole-model adapter: the base in its trainable form, checked against the digest, with the adapters merged. */
function applyWholeModel(base: Model, a: AdapterContent, label: string): Model {
  const m = trainableForm(base);
  const digest = backboneDigest(m);
  if (digest !== a.backbone)
    throw new UsageError(
      `${label} was trained on another base model: its weights differ (sha256 ${digest.slice(0, 12)}… here, ${a.backbone.slice(0, 12)}… in the adapter)`,
      'apply it to the model that was fine-tuned (the <model> given to `edgefit finetune`)',
    );
  return mergeChecked(m, a, label);
}

/** The adapters merged into their weights, once each adapter's A and B fit the weight's shape. */
function mergeChecked(m: Model, a: AdapterContent, label: string): Model {
  if (a.adapters.length === 0) return m;
  const tensor = (name: string) => a.tensors.find((t) => t.name === name)!;
  for (const ad of a.adapters) {
    const w = m.graph.initializers.get(ad.weight);
    const sizes = [w?.size, tensor(ad.a).size, tensor(ad.b).size];
    const want = [ad.rows * ad.cols, ad.rows * ad.rank, ad.rank * ad.cols];
    if (sizes.some((v, k) => v !== want[k]))
      throw new EdgefitError(`${label}: adapter of '${ad.weight}' does not fit this model's weight`, 'E_ADAPTER', 'the file is damaged; write it again');
  }
  const holder = new Model();
  for (const t of a.tensors) holder.graph.initializers.set(t.name, t);
  return mergeLora(m, holder, a.adapters);
}

/** readModel(base) with the adapter file at `adapterPath` applied; the adapter is read first, so a file that is no adapter is refused before a large base is read. */
export function loadWithAdapter(basePath: string, adapterPath: string): Model {
  const adapter = readAdapter(adapterPath);
  return applyAdapter(readModel(basePath), adapter, adapterPath);
}
