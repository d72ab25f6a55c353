// A training graph with a loss the caller appends (distillation, QAT): the forward model, the caller's
// loss over its values and extra inputs, and the backward pass, as one ONNX model. Like
// buildTrainingGraph (training-graph.ts) but not tied to a classification loss: trainable parameters
// become inputs, frozen ones stay constants, BatchNormalization uses its running statistics.

import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../onnx/builder.js';
import { UsageError } from '../onnx/errors.js';
import type { Model } from '../onnx/model.js';
import { DataType } from '../onnx/dtype.js';
import { buildBackward, expandForTraining, prepareForward } from './backward.js';
import { probeFacts, type ProbedFacts } from './probe.js';

export interface LossBuild {
  loss: string;
  /** Sample feeds (batch as in `sample`) of every input the loss adds. */
  feeds: Record<string, ort.Tensor>;
  /** Values the loop reads besides the loss and gradients (e.g. the student's logits). */
  outputs?: string[];
}

export interface ObjectiveGraph {
  model: Model;
  params: { name: string; dims: number[]; grad: string }[];
  loss: string;
  outputs: string[];
}

export async function buildObjectiveGraph(
  source: Model,
  opts: {
    sample: Record<string, ort.Tensor>;
    trainable: string[];
    appendLoss: (b: GraphBuilder, facts: ProbedFacts) => LossBuild;
  },
): Promise<ObjectiveGraph> {
  const model = source.clone();
  if ((model.opset() ?? 0) < 13)
    throw new UsageError(`training needs opset ≥ 13; the model imports opset ${model.opset()}`, 'upgrade it first: edgefit convert --opset 17');
  if ((model.opset() ?? 0) < 17) model.setOpset('', 17);
  const opset = model.opset()!;
  const g = model.graph;
  if (opts.trainable.length === 0) throw new UsageError('no parameter is trainable with these settings');
  const params: { name: string; dims: number[]; grad: string }[] = [];
  const paramFeeds: Record<string, ort.Tensor> = {};
  for (const p of opts.trainable) {
    const t = g.initializers.get(p);
    if (!t) throw new UsageError(`'${p}' is not a weight of the model`);
    params.push({ name: p, dims: [...t.dims], grad: '' });
    paramFeeds[p] = new ort.Tensor('float32', Float32Array.from(t.toFloat32()), [...t.dims]);
    g.initializers.delete(p);
    g.inputs = g.inputs.filter((i) => i.name !== p);
    g.inputs.push({ name: p, type: { kind: 'tensor', elemType: DataType.FLOAT, shape: [...t.dims] } });
  }
  g.valueInfo.clear();
  const forwardFacts = await probeFacts(model, { ...opts.sample, ...paramFeeds });
  const built = opts.appendLoss(new GraphBuilder(g), forwardFacts);
  g.outputs = [{ name: built.loss }, ...(built.outputs ?? []).map((name) => ({ name }))];
  const feeds = { ...opts.sample, ...paramFeeds, ...built.feeds };
  prepareForward(g, opts.trainable);
  expandForTraining(g, opts.trainable, await probeFacts(model, feeds), opset, { batchNorm: 'frozen' });
  const grads = buildBackward(g, built.loss, opts.trainable, await probeFacts(model, feeds), opset);
  for (const p of params) p.grad = grads.get(p.name)!;
  g.outputs.push(...params.map((p) => ({ name: p.grad })));
  return { model, params, loss: built.loss, outputs: built.outputs ?? [] };
}
