// A removed channel is not a channel of zeros: one whose weights are small still carries a constant (its
// bias, then the BatchNorm or affine shift and the activation of it) into the next layer, and dropping
// that constant shifts every output of the next layer (PaddleOCR rec: 4% of its channels removed turned
// every frame's argmax). Before the surgery, each consumer layer (a 'weight-in' edit) gets Σ_c W[:, c]·v_c
// added to its bias, v_c being the value that removed channel c has at the consumer's input once the
// removed channels' own weights are zero (input-independent; its mean over positions, which differs from
// the constant only near padded borders). Pruning then removes only the part of a channel that depends
// on the input.

import * as ort from 'onnxruntime-node';
import { DataType } from '../../onnx/dtype.js';
import { Node, type Graph } from '../../onnx/graph.js';
import type { Model } from '../../onnx/model.js';
import { Tensor } from '../../onnx/tensor.js';
import { createSession } from '../../runtime/session.js';
import type { DependencyGraph, Edit } from './dependency-graph.js';

/** A symbolic or unknown input dim in the probe: batch 1, any other 128, else (the run failed) 16, then 1. */
const PROBE_DIMS = [128, 16, 1];

interface Consumer {
  edit: Edit;
  /** Positions along the weight's input axis of the removed channels. */
  idx: number[];
}

function consumersOf(dg: DependencyGraph, removed: Set<number>): Consumer[] {
  const out: Consumer[] = [];
  for (const e of dg.edits) {
    if (e.kind !== 'slice' || e.role !== 'weight-in') continue;
    const idx: number[] = [];
    e.ids.forEach((id, k) => {
      if (removed.has(dg.sets.find(id))) idx.push(k);
    });
    if (idx.length) out.push({ edit: e, idx });
  }
  return out;
}

/** Zeros of each real input; symbolic dims become 1 (batch) or `dim`. Undefined for a non-numeric input. */
function zeroFeeds(g: Graph, dim = PROBE_DIMS[0]!): Record<string, ort.Tensor> | undefined {
  const feeds: Record<string, ort.Tensor> = {};
  for (const i of g.realInputs()) {
    if (i.type?.kind !== 'tensor' || !i.type.shape) return undefined;
    const dims = i.type.shape.map((d, a) => (typeof d === 'number' && d > 0 ? d : a === 0 ? 1 : dim));
    const size = dims.reduce((p, q) => p * q, 1);
    if (i.type.elemType === DataType.FLOAT) feeds[i.name] = new ort.Tensor('float32', new Float32Array(size), dims);
    else if (i.type.elemType === DataType.INT64) feeds[i.name] = new ort.Tensor('int64', new BigInt64Array(size), dims);
    else return undefined;
  }
  return feeds;
}

/** The consumers' inputs in a copy of the model whose removed channels have zero weights. */
async function probeInputs(model: Model, dg: DependencyGraph, removed: Set<number>, names: string[], feeds: Record<string, ort.Tensor>) {
  const probe = model.clone();
  const g = probe.graph;
  for (const e of dg.edits) {
    if (e.kind !== 'slice' || e.role !== 'weight-out') continue;
    const node = g.nodes[model.graph.nodes.indexOf(e.node)]!;
    const name = node.inputs[e.input]!;
    const t = g.initializers.get(name)!;
    const v = Float32Array.from(t.toFloat32());
    const inner = t.dims.slice(e.axis + 1).reduce((a, b) => a * b, 1);
    const n = t.dims[e.axis]!;
    for (let i = 0; i < v.length; i++) if (removed.has(dg.sets.find(e.ids[Math.floor(i / inner) % n]!))) v[i] = 0;
    const fresh = `${name}.probe${g.initializers.size}`;
    g.initializers.set(fresh, Tensor.fromFloat32(fresh, t.dims, v));
    node.inputs[e.input] = fresh;
  }
  g.outputs = names.map((name) => ({ name }));
  g.valueInfo.clear();
  // quiet: a failed probe is retried smaller, and reported in a note, not on ORT's log
  const s = await createSession(probe, { logSeverityLevel: 4 });
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

/** Mean over every axis but `axis` of the channels `idx` of x. */
function channelMeans(x: ort.Tensor, axis: number, idx: number[]): Float64Array {
  const d = x.data as Float32Array;
  const n = x.dims[axis]!;
  const inner = x.dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const sums = new Float64Array(n);
  for (let i = 0; i < d.length; i++) sums[Math.floor(i / inner) % n]! += d[i]!;
  const per = d.length / n;
  return Float64Array.from(idx, (k) => sums[k]! / per);
}

/** Σ over the removed inputs of weight × value, per output feature of the consumer. */
function biasDelta(w: Tensor, inAxis: number, idx: number[], values: Float64Array): Float32Array {
  const v = w.toFloat32();
  const outAxis = w.dims.length === 2 ? 1 - inAxis : 0;
  const nOut = w.dims[outAxis]!;
  const delta = new Float32Array(nOut);
  const at = new Map(idx.map((k, j) => [k, values[j]!]));
  const strides = w.dims.map((_, a) => w.dims.slice(a + 1).reduce((p, q) => p * q, 1));
  for (let i = 0; i < v.length; i++) {
    const c = at.get(Math.floor(i / strides[inAxis]!) % w.dims[inAxis]!);
    if (c !== undefined) delta[Math.floor(i / strides[outAxis]!) % nOut]! += v[i]! * c;
  }
  return delta;
}

/** Adds delta to the consumer's bias (Conv B, Gemm C, or a new Add after a MatMul); false when it cannot. */
function addToBias(model: Model, dg: DependencyGraph, n: Node, delta: Float32Array): boolean {
  const g = model.graph;
  const outEdit = dg.edits.find((e) => e.node === n && e.role === 'weight-out');
  if (!outEdit) return false;
  const fresh = g.namer();
  if (n.opType === 'Conv' || n.opType === 'Gemm') {
    const slot = 2;
    const old = n.inputs[slot] ? g.initializers.get(n.inputs[slot]!) : undefined;
    if (n.inputs[slot] && (!old || old.dataType !== DataType.FLOAT)) return false;
    const has = dg.edits.some((e) => e.node === n && e.role === 'bias');
    // a bias sliced with the channels has them on its last axis; a broadcast one (one value) becomes per-feature
    if (old && !has && old.dims.reduce((p, q) => p * q, 1) !== 1) return false;
    const dims = has && old ? old.dims : [delta.length];
    const base = old?.toFloat32();
    // Gemm: Y = alpha·A·B + beta·C
    const scale = n.opType === 'Gemm' ? n.float('alpha', 1) / n.float('beta', 1) : 1;
    const v = new Float32Array(dims.reduce((p, q) => p * q, 1));
    for (let i = 0; i < v.length; i++) v[i] = (base ? base[has ? i : 0]! : 0) + scale * delta[i % delta.length]!;
    const name = fresh(`${n.inputs[slot] || `${n.name}.bias`}.compensated`);
    g.initializers.set(name, Tensor.fromFloat32(name, dims, v));
    while (n.inputs.length <= slot) n.inputs.push('');
    n.inputs[slot] = name;
    if (!has) dg.edits.push({ kind: 'slice', node: n, input: slot, axis: dims.length - 1, ids: outEdit.ids, role: 'bias' });
    return true;
  }
  // MatMul: y = x·W becomes y = x·W + c, the constant sliced with the output features
  const y = n.outputs[0]!;
  const pre = fresh(`${y}.uncompensated`);
  const c = fresh(`${n.name || y}.compensation`);
  g.initializers.set(c, Tensor.fromFloat32(c, [delta.length], delta));
  n.outputs[0] = pre;
  const add = new Node('Add', [pre, c], [y], fresh(`${n.name || y}/compensation`));
  g.nodes.splice(g.nodes.indexOf(n) + 1, 0, add);
  dg.edits.push({ kind: 'slice', node: add, input: 1, axis: 0, ids: outEdit.ids, role: 'constant' });
  return true;
}

/**
 * Folds the constant part of every removed channel into its consumers' biases (before applyEdits).
 * `sample` feeds the probe; without it, zeros. Returns how many layers were compensated and why others were not.
 */
export async function compensateRemoved(
  model: Model,
  dg: DependencyGraph,
  removed: Set<number>,
  sample?: Record<string, ort.Tensor>,
): Promise<{ layers: number; notes: string[] }> {
  const consumers = consumersOf(dg, removed);
  if (!consumers.length) return { layers: 0, notes: [] };
  const feeds = sample ?? zeroFeeds(model.graph);
  if (!feeds) return { layers: 0, notes: ['removed channels were not compensated: an input is neither float32 nor int64 with a known rank'] };
  const names = [...new Set(consumers.map((c) => c.edit.node.inputs[0]!))];
  let probed: ort.InferenceSession.ReturnType | undefined;
  let failure = '';
  // a symbolic dim may have a bound the graph does not declare (BERT: length ≤ its position rows): smaller probes
  for (const f of sample ? [feeds] : PROBE_DIMS.map((d) => zeroFeeds(model.graph, d)!)) {
    try {
      probed = await probeInputs(model, dg, removed, names, f);
      break;
    } catch (e) {
      failure = (e as Error).message.split('\n')[0]!;
    }
  }
  if (!probed) return { layers: 0, notes: [`removed channels were not compensated: the probe run failed (${failure})`] };
  let layers = 0;
  const notes: string[] = [];
  for (const { edit, idx } of consumers) {
    const n = edit.node;
    const x = probed[n.inputs[0]!]!;
    const w = model.graph.initializers.get(n.inputs[1]!)!;
    const values = channelMeans(x, n.opType === 'Conv' ? 1 : x.dims.length - 1, idx);
    if (values.every((v) => v === 0)) continue;
    if (w.dataType === DataType.FLOAT && addToBias(model, dg, n, biasDelta(w, edit.axis, idx, values))) layers++;
    else notes.push(`${n.opType} '${n.name}': the constant of its removed inputs could not be folded into a bias`);
  }
  return { layers, notes };
}
