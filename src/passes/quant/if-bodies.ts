// Static int8 inside If branches. A branch is cut out as a model of its own: the outer values it reads
// become its inputs (their values captured by running the float model on the calibration stream) and
// the outer weights it reads are copied in. That model is quantized like any other, and its nodes go
// back into the branch. Both branches are calibrated on every batch, whichever one the batch takes.

import { DataType } from '../../onnx/dtype.js';
import type { Graph, Node } from '../../onnx/graph.js';
import { Model } from '../../onnx/model.js';
import type { Tensor } from '../../onnx/tensor.js';
import { createSession } from '../../runtime/session.js';
import type { Feeds, PassContext, ParamValues, Skipped } from '../pass.js';
import { toOrtFeeds, withExtraOutputs } from './calibrate.js';
import { elementTypes } from './elem-types.js';

export type QuantizeFn = (
  m: Model,
  raw: ParamValues,
  ctx: PassContext,
  pre: { reserved: Set<string> },
) => Promise<{ model: Model; record: { stats: Record<string, number | string | boolean>; skipped: Skipped[] } }>;

/** A stream of the outer values a body reads, computed by the float model from the calibration feeds. */
function captured(floatModel: Model, names: string[], stream: () => AsyncIterable<Feeds>): () => AsyncIterable<Feeds> {
  const inputs = new Set(floatModel.graph.realInputs().map((i) => i.name));
  const computed = names.filter((n) => !inputs.has(n));
  return async function* () {
    const s = await createSession(withExtraOutputs(floatModel, computed), { threads: 1, graphOptimizationLevel: 'basic' });
    try {
      for await (const feeds of stream()) {
        const ort = toOrtFeeds(feeds);
        const got = computed.length ? await s.run(ort, computed) : {};
        const out: Feeds = {};
        for (const n of names) {
          const t = inputs.has(n) ? ort[n] : got[n];
          if (t) out[n] = { type: t.type, dims: [...t.dims], data: t.data as Float32Array };
        }
        yield out;
      }
    } finally {
      await s.release();
    }
  };
}

/** The branch as a standalone model: outer values as inputs, outer weights copied in. */
function standalone(model: Model, body: Graph, outerTypes: Map<string, number | undefined>): Model {
  const g = body.clone();
  const m = new Model(g);
  m.irVersion = model.irVersion;
  m.opsetImports = model.opsetImports.map((o) => ({ ...o }));
  for (const r of body.outerScopeReads()) {
    const w = model.graph.initializers.get(r);
    if (w) g.initializers.set(r, w);
    else g.inputs.push({ name: r, type: { kind: 'tensor', elemType: outerTypes.get(r) ?? DataType.FLOAT } });
  }
  return m;
}

export interface IfBodiesResult {
  quantized: number;
  skipped: Skipped[];
  bodies: number;
}

/**
 * Quantizes the branches of every If of `model`'s main graph in place. `floatModel` is the float graph
 * before the main graph was rewritten (it computes the values the branches read).
 */
export async function quantizeIfBodies(model: Model, floatModel: Model, raw: ParamValues, ctx: PassContext, quantize: QuantizeFn): Promise<IfBodiesResult> {
  const res: IfBodiesResult = { quantized: 0, skipped: [], bodies: 0 };
  const reserved = new Set<string>();
  model.graph.walk((g) => {
    for (const n of g.valueNames()) reserved.add(n);
  });
  const outerTypes = elementTypes(floatModel.graph);
  for (const node of model.graph.nodes) {
    const bodies = node.subgraphs();
    if (!bodies.length) continue;
    if (node.opType !== 'If' || !node.isDefaultDomain) {
      res.skipped.push(loopSkip(node));
      continue;
    }
    for (const key of ['then_branch', 'else_branch']) {
      const a = node.attr(key);
      if (a?.type !== 'graph' || !ctx.calibration) continue;
      const body = a.value;
      const sm = standalone(model, body, outerTypes);
      const feeds = sm.graph.realInputs().map((i) => i.name);
      const r = await quantize(sm, raw, { ...ctx, calibration: captured(floatModel, feeds, ctx.calibration) }, { reserved });
      putBack(body, r.model.graph, model.graph.initializers);
      for (const n of r.model.graph.valueNames()) reserved.add(n);
      res.quantized += Number(r.record.stats.quantizedNodes ?? 0);
      res.skipped.push(...r.record.skipped.map((s) => ({ ...s, reason: `in ${node.name || 'If'}.${key}: ${s.reason}` })));
      res.bodies++;
    }
  }
  return res;
}

/** The quantized standalone graph's nodes and new weights go back into the branch. */
function putBack(body: Graph, q: Graph, outer: Map<string, Tensor>): void {
  body.nodes = q.nodes;
  body.initializers = new Map([...q.initializers].filter(([k, t]) => outer.get(k) !== t));
  body.valueInfo = q.valueInfo;
  body.outputs = q.outputs;
}

function loopSkip(node: Node): Skipped {
  return {
    node: node.name,
    opType: node.opType,
    reason: `${node.opType} bodies run once per step and cannot be calibrated from outside: left in float (quantize-dynamic covers their MatMul/Gemm)`,
  };
}
