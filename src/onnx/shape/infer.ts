// The walk: every node in order, its rule from the table, inferred types merged with the declared ones.
// A rule that finds the node malformed (an axis out of range, …) throws a ShapeRuleError; the walk
// records it in `notes` and leaves that node's outputs to their declarations, or rethrows it when asked.

import { DataType } from '../dtype.js';
import type { Dim, Graph } from '../graph.js';
import type { Model } from '../model.js';
import { ShapeRuleError } from './axis.js';
import { controlFlowTypes } from './control-flow.js';
import { MS_RULES, RULES } from './table.js';
import { type Ctx, MAX_VALUE_ELEMS, type Out, type TensorInfo, fromValueType, tensorValues } from './types.js';

export interface InferOptions {
  /** Shapes to use for graph inputs instead of the declared ones (e.g. batch fixed to 1). */
  inputShapes?: Record<string, Dim[]>;
  /** Store the inferred types in graph.valueInfo (intermediate values only). */
  write?: boolean;
  /** Throw a malformed node's ShapeRuleError instead of noting it (for tools that must refuse such a model). */
  strict?: boolean;
}

export interface ShapeInference {
  /** Element type and shape of every value that could be inferred (main graph). */
  types: Map<string, TensorInfo>;
  /** Values of small tensors (≤ 64 elements, flattened) where known; symbolic entries for Shape outputs. */
  values: Map<string, Dim[]>;
  /** Op types that have no rule here (their outputs fall back to declarations). */
  unknownOps: Set<string>;
  /** Nodes whose rule gave up on malformed input, with why. */
  notes: string[];
}

/** Inferred dims where known, else the declared ones (when the ranks agree). */
function merge(inferred: TensorInfo | undefined, declared: TensorInfo | undefined): TensorInfo | undefined {
  if (!inferred) return declared;
  if (!declared) return inferred;
  const elemType = inferred.elemType || declared.elemType;
  if (!inferred.shape) return { elemType, shape: declared.shape };
  if (!declared.shape || declared.shape.length !== inferred.shape.length) return { elemType, shape: inferred.shape };
  return { elemType, shape: inferred.shape.map((d, k) => (d === undefined ? declared.shape![k] : d)) };
}

/** Guards against rules producing NaN or negative dims on inconsistent models. */
function sanitize(t: TensorInfo | undefined): TensorInfo | undefined {
  if (!t) return undefined;
  if (!t.shape) return t;
  return { elemType: t.elemType, shape: t.shape.map((d) => (typeof d === 'number' && (!Number.isInteger(d) || d < 0) ? undefined : d)) };
}

export function inferShapes(model: Model, opts: InferOptions = {}): ShapeInference {
  const res: ShapeInference = { types: new Map(), values: new Map(), unknownOps: new Set(), notes: [] };
  inferGraph(model, model.graph, res, opts, true);
  return res;
}

function seed(g: Graph, res: ShapeInference, opts: InferOptions, isMain: boolean): void {
  for (const [name, t] of g.initializers) {
    res.types.set(name, { elemType: t.dataType, shape: [...t.dims] });
    const v = tensorValues(t);
    if (v) res.values.set(name, v);
  }
  for (const i of g.inputs) {
    if (g.initializers.has(i.name)) continue;
    const override = isMain ? opts.inputShapes?.[i.name] : undefined;
    const declared = fromValueType(i.type);
    if (declared || override) res.types.set(i.name, { elemType: declared?.elemType ?? DataType.FLOAT, shape: override ? [...override] : declared?.shape });
  }
}

function inferGraph(model: Model, g: Graph, res: ShapeInference, opts: InferOptions, isMain: boolean): void {
  const { types, values } = res;
  seed(g, res, opts, isMain);
  const declaredOf = (name: string) => fromValueType(g.valueInfo.get(name)?.type ?? g.outputs.find((o) => o.name === name)?.type);
  for (const n of g.nodes) {
    const rule = n.isDefaultDomain ? RULES[n.opType] : n.domain === 'com.microsoft' ? MS_RULES[n.opType] : undefined;
    let out: Out = { types: [] };
    if (!rule) res.unknownOps.add(n.domain && !n.isDefaultDomain ? `${n.domain}.${n.opType}` : n.opType);
    else {
      const ctx: Ctx = {
        node: n,
        opset: model.opset(n.isDefaultDomain ? '' : n.domain) ?? model.opset('') ?? 1,
        t: n.inputs.map((i) => (i ? types.get(i) : undefined)),
        v: n.inputs.map((i) => (i ? values.get(i) : undefined)),
      };
      try {
        const r = rule(ctx);
        out = Array.isArray(r) ? { types: r } : r;
      } catch (e) {
        if (!(e instanceof ShapeRuleError)) res.notes.push(`${n.opType} '${n.name || n.outputs[0]}': ${(e as Error).message}`);
        else if (opts.strict) throw e;
        else {
          res.notes.push(e.message);
          out = { types: e.partial ?? [] };
        }
      }
    }
    out = controlFlowTypes(n) ?? out;
    n.outputs.forEach((o, k) => {
      if (!o) return;
      const t = merge(sanitize(out.types[k]), declaredOf(o));
      if (t) types.set(o, t);
      const v = out.values?.[k];
      if (v && v.length <= MAX_VALUE_ELEMS && t?.shape && t.shape.length <= 1) values.set(o, v);
    });
  }
  if (opts.write && isMain) writeValueInfo(g, types);
}

/** Stores inferred types of intermediate values (not graph outputs) in graph.valueInfo. */
function writeValueInfo(g: Graph, types: Map<string, TensorInfo>): void {
  const outputs = new Set(g.outputs.map((o) => o.name));
  for (const n of g.nodes)
    for (const o of n.outputs) {
      const t = types.get(o);
      if (!o || !t || outputs.has(o)) continue;
      g.valueInfo.set(o, { name: o, type: { kind: 'tensor', elemType: t.elemType, shape: t.shape && [...t.shape] } });
    }
}

/** Op types (default domain, then 'com.microsoft.X') that have a rule: for docs and tests. */
export function shapeRuleOps(): string[] {
  return [...Object.keys(RULES), ...Object.keys(MS_RULES).map((k) => `com.microsoft.${k}`)];
}
