// What is inside a model: producer, opsets, inputs/outputs with symbolic shapes, an op histogram,
// parameters per dtype (Constant-node weights included), estimated MACs per op type where shapes are
// known, and file sizes. The JSON form is a stable schema (docs/cli-json.md): add fields, never rename.

import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { constantValue } from './constants.js';
import { dtypeName } from './dtype.js';
import { UsageError } from './errors.js';
import type { Dim, Graph, Node, ValueType } from './graph.js';
import type { ReadLimits } from './limits.js';
import { Model } from './model.js';
import { readModel } from './read-model.js';
import { inferShapes, type TensorInfo } from './shape-inference.js';
import type { Tensor } from './tensor.js';

export const INSPECT_SCHEMA = 'edgefit.inspect/1';

export interface ValueSummary {
  name: string;
  /** 'float32', 'int64', …; 'sequence', 'map', 'optional' for non-tensors; 'unknown' when undeclared. */
  dtype: string;
  /** number: fixed; string: symbolic; null: unknown. Absent when the rank is unknown. */
  shape?: (number | string | null)[];
}

export interface DtypeParams {
  dtype: string;
  tensors: number;
  count: number;
  bytes: number;
}

export interface MacsByOp {
  opType: string;
  nodes: number;
  /** MACs summed over the nodes whose shapes are known. */
  macs: number;
  /** Nodes of this type whose shapes could not be settled (their MACs are not in `macs`). */
  unknownNodes: number;
}

export interface InspectReport {
  schema: typeof INSPECT_SCHEMA;
  file: { path: string; bytes: number; externalData: { location: string; bytes: number; tensors: number }[]; externalBytes: number };
  producer: { name: string; version: string };
  irVersion: number;
  opsetImports: { domain: string; version: number }[];
  metadata: Record<string, string>;
  inputs: ValueSummary[];
  outputs: ValueSummary[];
  graph: { nodes: number; initializers: number; constantNodes: number; subgraphs: number };
  ops: { opType: string; domain: string; count: number }[];
  parameters: {
    /** Elements of every constant tensor: initializers and Constant-node values, subgraphs included. */
    count: number;
    bytes: number;
    byDtype: DtypeParams[];
    /** The part of the above held in Constant nodes rather than initializers. */
    inConstantNodes: { tensors: number; count: number; bytes: number };
  };
  macs: {
    /** Sum over every MAC-bearing node with known shapes. */
    total: number;
    /** True when every MAC-bearing node had known shapes. */
    complete: boolean;
    /** The input shapes the estimate used (symbolic batch dims set to 1 unless given). */
    inputShapes: Record<string, (number | string | null)[]>;
    byOpType: MacsByOp[];
    /** MAC-bearing nodes inside If/Loop/Scan bodies (counted in `total` where their shapes are known). */
    inSubgraphs: number;
    /** Why `total` is not the MACs of one run, when it is not (unknown shapes, branches, loops). */
    partial?: string;
  };
}

export interface InspectOptions {
  limits?: Partial<ReadLimits>;
  /** Input shapes for the MAC estimate; inputs not named here get their leading symbolic dim set to 1. */
  shapes?: Record<string, number[]>;
}

/** Reads a model file and inspects it. */
export function inspectModelFile(path: string, opts: InspectOptions = {}): InspectReport {
  const external = new Map<string, { bytes: number; tensors: number }>();
  const model = readModel(path, {
    limits: opts.limits,
    onExternalData: (_t, location, bytes) => {
      const e = external.get(location) ?? { bytes: 0, tensors: 0 };
      e.bytes += bytes;
      e.tensors++;
      external.set(location, e);
    },
  });
  const ext = [...external].map(([location, e]) => ({ location, ...e }));
  return inspectModel(model, { ...opts, file: { path: resolve(path), bytes: statSync(path).size, externalData: ext } });
}

const jsonDim = (d: Dim): number | string | null => (d === undefined ? null : d);

function summarize(name: string, t: ValueType | undefined): ValueSummary {
  if (!t) return { name, dtype: 'unknown' };
  if (t.kind === 'tensor' || t.kind === 'sparse') return { name, dtype: dtypeName(t.elemType), ...(t.shape ? { shape: t.shape.map(jsonDim) } : {}) };
  return { name, dtype: t.kind };
}

function allGraphs(g: Graph): Graph[] {
  const out: Graph[] = [];
  g.walk((x) => out.push(x));
  return out;
}

/**
 * Adds the MACs of the nodes inside If/Loop/Scan bodies to `macs`. Each body is inferred as a model of
 * its own: the outer values it reads typed from the graphs around it, outer weights copied in.
 */
function bodyMacs(model: Model, mainTypes: Map<string, TensorInfo>, macs: Map<string, MacsByOp>): { nodes: number; kinds: Set<string> } {
  const known = new Map(mainTypes);
  const weights = new Map<string, Tensor>();
  model.graph.walk((g) => {
    for (const [k, t] of g.initializers) if (!weights.has(k)) weights.set(k, t);
  });
  const res = { nodes: 0, kinds: new Set<string>() };
  model.graph.walk((body, parent) => {
    if (!parent) return;
    res.kinds.add(parent.opType);
    const sm = new Model(body.clone());
    sm.opsetImports = model.opsetImports.map((o) => ({ ...o }));
    for (const r of body.outerScopeReads()) {
      const w = weights.get(r);
      const t = known.get(r);
      if (w) sm.graph.initializers.set(r, w);
      else if (t) sm.graph.inputs.push({ name: r, type: { kind: 'tensor', elemType: t.elemType, shape: t.shape && [...t.shape] } });
    }
    const inf = inferShapes(sm);
    for (const [k, v] of inf.types) if (!known.has(k)) known.set(k, v);
    for (const n of body.nodes) {
      if (!MAC_OPS.has(n.opType)) continue;
      const e = macs.get(n.opType) ?? { opType: n.opType, nodes: 0, macs: 0, unknownNodes: 0 };
      e.nodes++;
      res.nodes++;
      const m = nodeMacs(n, (name) => inf.types.get(name));
      if (m === undefined || !Number.isFinite(m)) e.unknownNodes++;
      else e.macs += m;
      macs.set(n.opType, e);
    }
  });
  return res;
}

/** MACs of one node from inferred shapes, or undefined when they are not known. */
function nodeMacs(n: Node, t: (name: string) => TensorInfo | undefined): number | undefined {
  const shape = (name: string | undefined) => {
    const s = name ? t(name)?.shape : undefined;
    return s?.every((d) => typeof d === 'number') ? (s as number[]) : undefined;
  };
  const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);
  const out = shape(n.outputs[0]);
  switch (n.opType) {
    case 'Conv':
    case 'ConvInteger':
    case 'FusedConv': {
      const w = shape(n.inputs[1]);
      return out && w ? prod(out) * prod(w.slice(1)) : undefined;
    }
    case 'QLinearConv': {
      const w = shape(n.inputs[3]);
      return out && w ? prod(out) * prod(w.slice(1)) : undefined;
    }
    case 'ConvTranspose': {
      const x = shape(n.inputs[0]);
      const w = shape(n.inputs[1]);
      return x && w ? prod(x) * prod(w.slice(1)) : undefined;
    }
    case 'MatMul':
    case 'MatMulInteger':
    case 'DynamicQuantizeMatMul':
    case 'MatMulIntegerToFloat':
    case 'MatMulNBits':
    case 'FusedMatMul': {
      const a = shape(n.inputs[0]);
      const k = n.opType === 'MatMulNBits' ? n.int('K') : n.opType === 'FusedMatMul' && n.int('transA', 0) ? a?.[a.length - 2] : a?.[a.length - 1];
      return out && k !== undefined ? prod(out) * k : undefined;
    }
    case 'QLinearMatMul': {
      const a = shape(n.inputs[0]);
      return out && a ? prod(out) * a[a.length - 1]! : undefined;
    }
    case 'Gemm':
    case 'QGemm': {
      const a = shape(n.inputs[0]);
      if (!out || !a) return undefined;
      const k = n.int('transA', 0) ? a[0]! : a[1]!;
      return prod(out) * k;
    }
    default:
      return undefined;
  }
}

const MAC_OPS = new Set([
  'Conv',
  'ConvInteger',
  'FusedConv',
  'QLinearConv',
  'ConvTranspose',
  'MatMul',
  'MatMulInteger',
  'DynamicQuantizeMatMul',
  'MatMulIntegerToFloat',
  'MatMulNBits',
  'FusedMatMul',
  'QLinearMatMul',
  'Gemm',
  'QGemm',
]);

export function inspectModel(
  model: Model,
  opts: InspectOptions & { file?: { path: string; bytes: number; externalData?: { location: string; bytes: number; tensors: number }[] } } = {},
): InspectReport {
  const g = model.graph;
  const graphs = allGraphs(g);

  // ops
  const ops = new Map<string, { opType: string; domain: string; count: number }>();
  let nodes = 0;
  let constantNodes = 0;
  for (const sg of graphs)
    for (const n of sg.nodes) {
      nodes++;
      const domain = n.isDefaultDomain ? 'ai.onnx' : n.domain;
      const key = `${domain}:${n.opType}`;
      const e = ops.get(key) ?? { opType: n.opType, domain, count: 0 };
      e.count++;
      ops.set(key, e);
      if (n.opType === 'Constant' && n.isDefaultDomain) constantNodes++;
    }

  // parameters
  const byDtype = new Map<string, DtypeParams>();
  const inConst = { tensors: 0, count: 0, bytes: 0 };
  const add = (t: Tensor, fromConstant: boolean) => {
    const name = dtypeName(t.dataType);
    const e = byDtype.get(name) ?? { dtype: name, tensors: 0, count: 0, bytes: 0 };
    e.tensors++;
    e.count += t.size;
    e.bytes += t.byteLength;
    byDtype.set(name, e);
    if (fromConstant) {
      inConst.tensors++;
      inConst.count += t.size;
      inConst.bytes += t.byteLength;
    }
  };
  for (const sg of graphs) {
    for (const t of sg.initializers.values()) add(t, false);
    for (const n of sg.nodes) {
      if (n.opType !== 'Constant' || !n.isDefaultDomain) continue;
      const t = constantValue(n);
      if (t) add(t, true);
    }
  }
  const dtypes = [...byDtype.values()].sort((a, b) => b.bytes - a.bytes);

  // MACs, with leading symbolic dims of inputs set to 1 unless a shape is given
  const inputShapes: Record<string, Dim[]> = {};
  for (const i of g.realInputs()) {
    const given = opts.shapes?.[i.name];
    if (given) {
      // a shape that contradicts the model would give MACs for a model that does not exist
      const declared = i.type?.kind === 'tensor' ? i.type.shape : undefined;
      if (declared) {
        const show = `[${declared.map((d) => d ?? '?').join(',')}]`;
        if (declared.length !== given.length)
          throw new UsageError(
            `--shape ${i.name}=${given.join(',')} has ${given.length} dims, but the model declares ${declared.length}: ${show}`,
            `give ${declared.length} dims`,
          );
        declared.forEach((d, k) => {
          if (typeof d === 'number' && d !== given[k])
            throw new UsageError(
              `--shape ${i.name}=${given.join(',')} sets dim ${k} to ${given[k]}, but the model fixes it at ${d}: ${show}`,
              'keep the fixed dims as declared',
            );
        });
      }
      inputShapes[i.name] = [...given];
    } else if (i.type?.kind === 'tensor' && i.type.shape) inputShapes[i.name] = i.type.shape.map((d, k) => (k === 0 && typeof d !== 'number' ? 1 : d));
  }
  const inf = inferShapes(model, { inputShapes });
  const macs = new Map<string, MacsByOp>();
  for (const n of g.nodes) {
    if (!MAC_OPS.has(n.opType)) continue;
    const e = macs.get(n.opType) ?? { opType: n.opType, nodes: 0, macs: 0, unknownNodes: 0 };
    e.nodes++;
    const m = nodeMacs(n, (name) => inf.types.get(name));
    if (m === undefined || !Number.isFinite(m)) e.unknownNodes++;
    else e.macs += m;
    macs.set(n.opType, e);
  }
  const body = bodyMacs(model, inf.types, macs);
  const recurrent = graphs.flatMap((x) => x.nodes.filter((n) => ['LSTM', 'GRU', 'RNN'].includes(n.opType)).map((n) => n.opType));
  const byOpType = [...macs.values()].sort((a, b) => b.macs - a.macs);
  const unknown = byOpType.reduce((a, e) => a + e.unknownNodes, 0);
  const partial = [
    unknown ? `${unknown} node(s) whose shapes could not be inferred are not counted (for symbolic inputs, pass --shape)` : '',
    recurrent.length ? `${[...new Set(recurrent)].join('/')} MACs are not counted (no rule)` : '',
    body.kinds.has('If') ? 'both branches of each If are counted, though one runs' : '',
    body.kinds.has('Loop') || body.kinds.has('Scan') ? 'Loop/Scan bodies are counted for one iteration' : '',
  ].filter(Boolean);
  const ext = opts.file?.externalData ?? [];
  return {
    schema: INSPECT_SCHEMA,
    file: { path: opts.file?.path ?? '', bytes: opts.file?.bytes ?? 0, externalData: ext, externalBytes: ext.reduce((a, e) => a + e.bytes, 0) },
    producer: { name: model.producerName, version: model.producerVersion },
    irVersion: model.irVersion,
    opsetImports: model.opsetImports.map((o) => ({ domain: o.domain === '' ? 'ai.onnx' : o.domain, version: o.version })),
    metadata: Object.fromEntries(model.metadata),
    inputs: g.realInputs().map((i) => summarize(i.name, i.type)),
    outputs: g.outputs.map((o) => summarize(o.name, o.type)),
    graph: { nodes, initializers: graphs.reduce((a, x) => a + x.initializers.size, 0), constantNodes, subgraphs: graphs.length - 1 },
    ops: [...ops.values()].sort((a, b) => b.count - a.count || a.opType.localeCompare(b.opType)),
    parameters: { count: dtypes.reduce((a, d) => a + d.count, 0), bytes: dtypes.reduce((a, d) => a + d.bytes, 0), byDtype: dtypes, inConstantNodes: inConst },
    macs: {
      total: byOpType.reduce((a, e) => a + e.macs, 0),
      complete: byOpType.every((e) => e.unknownNodes === 0),
      inputShapes: Object.fromEntries(Object.entries(inputShapes).map(([k, v]) => [k, v.map(jsonDim)])),
      byOpType,
      inSubgraphs: body.nodes,
      ...(partial.length ? { partial: partial.join('; ') } : {}),
    },
  };
}

// ------------------------------------------------------------------ text form

function human(n: number, unit = ''): string {
  const abs = Math.abs(n);
  const [div, suffix] = abs >= 1e12 ? [1e12, 'T'] : abs >= 1e9 ? [1e9, 'G'] : abs >= 1e6 ? [1e6, 'M'] : abs >= 1e3 ? [1e3, 'k'] : [1, ''];
  return `${div === 1 ? String(n) : (n / div).toFixed(2)}${suffix}${unit}`;
}

function bytesText(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(2)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}

const shapeText = (v: ValueSummary) => `${v.dtype}${v.shape ? `[${v.shape.map((d) => (d === null ? '?' : d)).join(', ')}]` : '[?]'}`;

export function formatInspect(r: InspectReport): string {
  const lines: string[] = [];
  lines.push(`model        ${r.file.path || '(in memory)'}`);
  lines.push(
    `size         ${bytesText(r.file.bytes)}${r.file.externalBytes ? ` + ${bytesText(r.file.externalBytes)} external data (${r.file.externalData.map((e) => e.location).join(', ')})` : ''}`,
  );
  lines.push(`producer     ${r.producer.name || '(none)'}${r.producer.version ? ` ${r.producer.version}` : ''}, IR ${r.irVersion}`);
  lines.push(`opsets       ${r.opsetImports.map((o) => `${o.domain} ${o.version}`).join(', ')}`);
  lines.push('inputs');
  for (const i of r.inputs) lines.push(`  ${i.name}  ${shapeText(i)}`);
  lines.push('outputs');
  for (const o of r.outputs) lines.push(`  ${o.name}  ${shapeText(o)}`);
  lines.push(
    `parameters   ${human(r.parameters.count)} (${bytesText(r.parameters.bytes)})${r.parameters.inConstantNodes.tensors ? `, ${human(r.parameters.inConstantNodes.count)} of them in ${r.parameters.inConstantNodes.tensors} Constant nodes` : ''}`,
  );
  for (const d of r.parameters.byDtype)
    lines.push(`  ${d.dtype.padEnd(10)} ${human(d.count).padStart(9)}  ${bytesText(d.bytes).padStart(10)}  in ${d.tensors} tensors`);
  const shapes = Object.entries(r.macs.inputShapes)
    .map(([k, v]) => `${k}=[${v.map((d) => (d === null ? '?' : d)).join(',')}]`)
    .join(' ');
  lines.push(`MACs         ${human(r.macs.total)}${r.macs.partial ? ` (partial: ${r.macs.partial})` : ''} at ${shapes || 'declared shapes'}`);
  if (r.macs.inSubgraphs) lines.push(`  ${r.macs.inSubgraphs} MAC-bearing nodes inside If/Loop/Scan bodies are included`);
  for (const m of r.macs.byOpType)
    lines.push(`  ${m.opType.padEnd(14)} ${human(m.macs).padStart(9)}  ${m.nodes} nodes${m.unknownNodes ? `, ${m.unknownNodes} unknown` : ''}`);
  lines.push(`nodes        ${r.graph.nodes}${r.graph.subgraphs ? ` in ${r.graph.subgraphs + 1} graphs` : ''}`);
  const width = Math.max(...r.ops.map((o) => o.opType.length + (o.domain === 'ai.onnx' ? 0 : o.domain.length + 1)), 8);
  for (const o of r.ops) lines.push(`  ${(o.domain === 'ai.onnx' ? o.opType : `${o.domain}.${o.opType}`).padEnd(width)} ${String(o.count).padStart(5)}`);
  return lines.join('\n') + '\n';
}
