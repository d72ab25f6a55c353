// Synthetic inputs for a model, built from its declared inputs (ORT's inputMetadata or the IR):
// symbolic dims are set by a batch size, by explicit per-input shapes, or by dim name; a dim nothing
// sets is an error that says which --shape to pass. Data are seeded random values in a range that
// suits the element type and the input's name (ids, masks, token types).

import type * as ort from 'onnxruntime-node';
import { Tensor as OrtTensor } from 'onnxruntime-node';
import { UsageError } from '../onnx/errors.js';
import type { Dim } from '../onnx/graph.js';
import type { Model } from '../onnx/model.js';
import { dtypeName, float32ToFloat16Bits } from '../onnx/dtype.js';
import { allocate, ortTypeOf, type OrtType } from './tensors.js';
import { mulberry32 } from '../util/rng.js';

/** An input as the model declares it: symbolic dims are names, unknown dims undefined. */
export interface InputSpec {
  name: string;
  /** onnxruntime-node type name ('float32', 'int64', 'bool', …); undefined when ORT's JS API has none. */
  type: OrtType | undefined;
  /** Declared element type, for messages (e.g. 'bfloat16' when `type` is undefined). */
  typeName: string;
  /** undefined when the rank is unknown. */
  shape: Dim[] | undefined;
}

/** An input with every dim settled. */
export interface ResolvedInput {
  name: string;
  type: OrtType;
  shape: number[];
}

export interface FeedOptions {
  /** Value for batch dims: symbolic dims named like batch/N/bs, else a symbolic first dim (default 1). */
  batch?: number;
  /** Full shapes for named inputs; they override everything else for that input. */
  shapes?: Record<string, number[]>;
  /** Values for symbolic dims by name (e.g. { sequence: 128 }); names bound by `shapes` are added. */
  dims?: Record<string, number>;
  /** Seed of the random data (default 0). */
  seed?: number;
  /** Largest element count allowed for one input (default 2^27, 512 MiB of float32). */
  maxElements?: number;
  /** Range [lo, hi) of integer ids for integer inputs that are not masks or token types (default [0, 100)). */
  intRange?: [number, number];
  /** Fixed values by input name (--value sr=16000): the input is filled with it, broadcast to its shape. */
  values?: Record<string, number>;
}

export const DEFAULT_MAX_ELEMENTS = 2 ** 27;

type Source = ort.InferenceSession | Model;

function isSession(s: Source): s is ort.InferenceSession {
  return 'inputMetadata' in s;
}

/** The declared inputs of a session or an IR model (graph inputs that are initializers excluded). */
export function declaredInputs(source: Source): InputSpec[] {
  if (isSession(source)) {
    return source.inputMetadata.map((m) => {
      if (!m.isTensor) return { name: m.name, type: undefined, typeName: 'a non-tensor value (sequence or map)', shape: undefined };
      // ORT reports an unknown dim as '' (and a negative number in some builds). It also reports an
      // input of unknown rank as [], like a scalar; such an input needs --shape (ORT rejects a scalar).
      const shape = m.shape.map((d): Dim => (typeof d === 'number' ? (d >= 0 ? d : undefined) : d === '' ? undefined : d));
      return { name: m.name, type: m.type, typeName: m.type, shape };
    });
  }
  const g = source.graph;
  return g.inputs
    .filter((v) => !g.initializers.has(v.name))
    .map((v) => {
      const t = v.type;
      if (t?.kind !== 'tensor') return { name: v.name, type: undefined, typeName: t ? `a ${t.kind}` : 'an undeclared type', shape: undefined };
      return { name: v.name, type: ortTypeOf(t.elemType), typeName: dtypeName(t.elemType), shape: t.shape ? [...t.shape] : undefined };
    });
}

const BATCH_NAME = /^(n|b|bs|batch|batch_?size|.*batch.*)$/i;

/** True for a symbolic dim name that reads as a batch dimension. */
export function isBatchDimName(name: string): boolean {
  return BATCH_NAME.test(name);
}

/**
 * Checks --shape values against the declared inputs without settling anything else: each names an input,
 * has its rank and keeps its fixed dims. Lets a command refuse a bad --shape before long work.
 */
export function checkShapes(inputs: InputSpec[], shapes: Record<string, number[]>): void {
  const names = inputs.map((i) => i.name);
  for (const [name, shape] of Object.entries(shapes)) {
    if (!names.includes(name)) throw new UsageError(`--shape names '${name}', which is not an input of the model`, `the inputs are: ${names.join(', ')}`);
    for (const d of shape) positive(d, `--shape ${name}`);
  }
  for (const inp of inputs) {
    const shape = shapes[inp.name];
    // ORT reports an input of unknown rank as [], like a scalar: a --shape of any rank is then taken
    if (!shape || !inp.shape || inp.shape.length === 0) continue;
    if (shape.length !== inp.shape.length)
      throw new UsageError(`--shape ${inp.name}=${shape.join(',')} has ${shape.length} dims, but the model declares ${inp.shape.length}: [${fmt(inp.shape)}]`);
    inp.shape.forEach((d, k) => {
      if (typeof d === 'number' && d !== shape[k])
        throw new UsageError(`--shape ${inp.name}=${shape.join(',')} sets dim ${k} to ${shape[k]}, but the model fixes it at ${d}: [${fmt(inp.shape!)}]`);
    });
  }
}

/** Positions that --batch sets: symbolic dims named like a batch, else a symbolic first dim. */
function batchPositions(decl: readonly Dim[]): Set<number> {
  const at = new Set<number>();
  decl.forEach((d, k) => {
    if (typeof d === 'string' && isBatchDimName(d)) at.add(k);
  });
  if (at.size === 0 && decl.length > 0 && typeof decl[0] !== 'number') at.add(0);
  return at;
}

/** Settles every dim of every input, or throws one UsageError naming each input that stays open. */
export function resolveInputs(inputs: InputSpec[], opts: FeedOptions = {}): ResolvedInput[] {
  const batch = opts.batch ?? 1;
  positive(batch, '--batch');
  const shapes = opts.shapes ?? {};
  checkShapes(inputs, shapes);
  const byName = new Map<string, number>(Object.entries(opts.dims ?? {}));
  for (const [k, v] of byName) positive(v, `dim '${k}'`);

  // Explicit shapes first (checked above against the declared rank and fixed dims); they bind names.
  for (const inp of inputs) {
    const shape = shapes[inp.name];
    if (!shape || !inp.shape) continue;
    // an explicit --batch that a --shape contradicts would be reported but not used
    if (opts.batch !== undefined)
      for (const k of batchPositions(inp.shape))
        if (shape[k] !== opts.batch)
          throw new UsageError(
            `--batch ${opts.batch} and --shape ${inp.name}=${shape.join(',')} disagree: dim ${k} ('${String(inp.shape[k])}') is the batch dim`,
            `give the batch once: drop --batch, or write it into --shape`,
          );
    inp.shape.forEach((d, k) => {
      if (typeof d === 'string' && !byName.has(d)) byName.set(d, shape[k]!);
    });
  }

  const out: ResolvedInput[] = [];
  const open: { inp: InputSpec; guess: string; dims: number[] }[] = [];
  for (const inp of inputs) {
    if (!inp.type)
      throw new UsageError(
        `input '${inp.name}' is ${inp.typeName}, which edgefit cannot synthesise`,
        'bench a model whose inputs are tensors of a type onnxruntime-node supports',
      );
    const explicit = shapes[inp.name];
    if (explicit) {
      out.push({ name: inp.name, type: inp.type, shape: [...explicit] });
      continue;
    }
    if (!inp.shape) {
      open.push({ inp, guess: '<d1>,<d2>,…', dims: [] });
      continue;
    }
    const decl = inp.shape;
    const batchAt = batchPositions(decl);
    const unresolved: number[] = [];
    const shape = decl.map((d, k) => {
      if (typeof d === 'number') return d;
      if (typeof d === 'string' && byName.has(d)) return byName.get(d)!;
      if (batchAt.has(k)) return batch;
      unresolved.push(k);
      return undefined;
    });
    if (unresolved.length)
      open.push({ inp, dims: unresolved, guess: shape.map((d, k) => d ?? `<${typeof decl[k] === 'string' ? short(decl[k] as string) : 'n'}>`).join(',') });
    else out.push({ name: inp.name, type: inp.type, shape: shape as number[] });
  }
  if (open.length) {
    const what = open
      .map(({ inp, dims }) => {
        if (!inp.shape) return `input '${inp.name}' has no declared shape`;
        const list = dims.map((k) => (inp.shape![k] === undefined ? `dim ${k} (unknown)` : `dim ${k} ('${inp.shape![k]}')`)).join(', ');
        return `input '${inp.name}' [${fmt(inp.shape)}] has ${dims.length === 1 ? 'a dim' : 'dims'} that --batch does not set: ${list}`;
      })
      .join('; ');
    throw new UsageError(`${what}`, `give the full shape: ${open.map(({ inp, guess }) => `--shape ${inp.name}=${guess}`).join(' ')}`);
  }

  const max = opts.maxElements ?? DEFAULT_MAX_ELEMENTS;
  for (const r of out) {
    const n = r.shape.reduce((a, b) => a * b, 1);
    if (n > max)
      throw new UsageError(
        `input '${r.name}' of shape [${r.shape.join(',')}] would hold ${n} elements, over the limit of ${max}`,
        'use a smaller --batch or --shape; the limit guards against typos such as an extra zero (raise it with --max-elements if the size is meant)',
      );
  }
  return out;
}

function positive(v: number, what: string): void {
  if (!Number.isSafeInteger(v) || v < 1) throw new UsageError(`${what} must be a whole number ≥ 1, got ${v}`);
}

function fmt(shape: Dim[]): string {
  return shape.map((d) => (d === undefined ? '?' : String(d))).join(',');
}

/** A placeholder for a symbolic dim in a hint: exporter-generated names are long, so use a letter. */
function short(name: string): string {
  return /^[a-z_][a-z0-9_]{0,15}$/i.test(name) ? name : 'n';
}

/** What an input's name says about its values: the synthetic data and the defaults follow it. */
export type InputRole = 'mask' | 'type' | 'position' | 'ids' | 'state' | 'data';

/** Recurrent state (zeros at the start of a stream): state, h0, c0, hidden, past_key_values.… */
const STATE_NAME = /(^|[^a-z])(state|states|h0|c0|hn|cn|hidden|hidden_state|past)([^a-z]|$)|^past_|^h$|^c$/i;

export function inputRole(name: string): InputRole {
  if (/mask/i.test(name)) return 'mask';
  if (/token_?type|segment/i.test(name)) return 'type';
  if (/position/i.test(name)) return 'position';
  if (/(^|_)ids?$|input_?ids|token|^ids/i.test(name)) return 'ids';
  if (STATE_NAME.test(name)) return 'state';
  return 'data';
}

const INT_TYPES = new Set(['int64', 'int32', 'int16', 'uint16', 'uint32', 'uint64']);

/**
 * How each input will be filled when no data gives it: 'value' (--value), 'zeros' (recurrent state),
 * 'random'. An integer input that is not ids, a mask, a token type or a position (a sample rate, a
 * mode switch, a count) is refused: noise in it selects a branch or a size no one meant to measure.
 */
export function planFills(
  inputs: readonly InputSpec[],
  values: Record<string, number> = {},
  given: readonly string[] = [],
): { name: string; fill: 'value' | 'zeros' | 'random' | 'data'; note?: string }[] {
  const names = inputs.map((i) => i.name);
  for (const k of Object.keys(values))
    if (!names.includes(k)) throw new UsageError(`--value names '${k}', which is not an input of the model`, `the inputs are: ${names.join(', ')}`);
  const refused: string[] = [];
  const out = inputs.map((inp) => {
    if (values[inp.name] !== undefined) return { name: inp.name, fill: 'value' as const, note: `input '${inp.name}' set to ${values[inp.name]} (--value)` };
    if (given.includes(inp.name)) return { name: inp.name, fill: 'data' as const };
    const role = inputRole(inp.name);
    if (role === 'state')
      return {
        name: inp.name,
        fill: 'zeros' as const,
        note: `input '${inp.name}' looks like recurrent state: filled with zeros (set it with --value ${inp.name}=<v>)`,
      };
    if (inp.type && INT_TYPES.has(inp.type) && role === 'data') refused.push(inp.name);
    return { name: inp.name, fill: 'random' as const };
  });
  if (refused.length)
    throw new UsageError(
      `integer input${refused.length > 1 ? 's' : ''} ${refused.map((n) => `'${n}'`).join(', ')} need${refused.length > 1 ? '' : 's'} a value: random integers would pick a branch, a rate or a size at random`,
      `give ${refused.map((n) => `--value ${n}=<number>`).join(' ')} (e.g. --value sr=16000), the value your application feeds`,
    );
  return out;
}

/**
 * Seeded feeds for every declared input of a session or model. Inputs in `values` hold that value;
 * recurrent state is zero; floats are uniform in [-1, 1); integer inputs named like masks are 1, token
 * types 0, positions 0..n-1, ids uniform in `intRange`; other integer inputs are refused (planFills);
 * uint8/int8 cover their range; bools are random (masks true).
 */
export function synthesizeFeeds(source: Source, opts: FeedOptions = {}): Record<string, ort.Tensor> {
  const declared = declaredInputs(source);
  const plan = planFills(declared, opts.values);
  const resolved = resolveInputs(declared, opts);
  const feeds: Record<string, ort.Tensor> = {};
  for (const r of resolved) {
    const fill = plan.find((p) => p.name === r.name)!.fill;
    feeds[r.name] =
      fill === 'value'
        ? filledTensor(r, opts.values![r.name]!)
        : fill === 'zeros'
          ? filledTensor(r, 0)
          : randomTensor(r, opts.seed ?? 0, opts.intRange ?? [0, 100]);
  }
  return feeds;
}

/** A tensor of one value broadcast to the input's shape. */
export function filledTensor(r: ResolvedInput, v: number): ort.Tensor {
  const count = r.shape.reduce((a, b) => a * b, 1);
  const data = allocate(r.type, count);
  if (r.type === 'int64' || r.type === 'uint64') (data as BigInt64Array).fill(BigInt(Math.round(v)));
  else if (r.type === 'float16') (data as Uint16Array).fill(float32ToFloat16Bits(v));
  else if (r.type === 'string') (data as string[]).fill(String(v));
  else if (r.type === 'bool') (data as Uint8Array).fill(v ? 1 : 0);
  else (data as Float32Array).fill(v);
  return new OrtTensor(r.type, data as never, r.shape);
}

/** Parses --value flags: ['sr=16000', 'state=0'] → { sr: 16000, state: 0 }. */
export function parseValueFlags(values: readonly string[] | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const piece of values ?? []) {
    const eq = piece.lastIndexOf('=');
    const name = piece.slice(0, eq).trim();
    const text = piece.slice(eq + 1).trim();
    const v = Number(text);
    if (eq <= 0 || text === '' || !Number.isFinite(v))
      throw new UsageError(
        `--value '${piece}' is not name=number`,
        'write --value sr=16000 (the input name as the model declares it, one number broadcast to its shape)',
      );
    if (name in out && out[name] !== v) throw new UsageError(`--value gives input '${name}' twice`);
    out[name] = v;
  }
  return out;
}

/** A seeded random tensor for one resolved input; the same (name, seed) always gives the same data. */
export function randomTensor(r: ResolvedInput, seed: number, intRange: [number, number] = [0, 100]): ort.Tensor {
  const count = r.shape.reduce((a, b) => a * b, 1);
  const rand = mulberry32(hashName(r.name) ^ Math.imul(seed | 0, 0x9e3779b1));
  const role = inputRole(r.name);
  const data = allocate(r.type, count);
  const last = r.shape[r.shape.length - 1] ?? 1;
  const intAt = (i: number, lo: number, hi: number): number => {
    if (role === 'mask') return 1;
    if (role === 'type') return 0;
    if (role === 'position') return i % last;
    return lo + Math.floor(rand() * (hi - lo));
  };
  switch (r.type) {
    case 'float32':
    case 'float64': {
      const a = data as Float32Array | Float64Array;
      for (let i = 0; i < count; i++) a[i] = rand() * 2 - 1;
      break;
    }
    case 'float16': {
      const a = data as Uint16Array;
      for (let i = 0; i < count; i++) a[i] = float32ToFloat16Bits(rand() * 2 - 1);
      break;
    }
    case 'uint8':
    case 'int8':
    case 'int16':
    case 'uint16':
    case 'int32':
    case 'uint32': {
      const a = data as Uint8Array;
      const [lo, hi] = r.type === 'uint8' ? [0, 256] : r.type === 'int8' ? [-128, 128] : intRange;
      for (let i = 0; i < count; i++) a[i] = intAt(i, lo, hi);
      break;
    }
    case 'int64':
    case 'uint64': {
      const a = data as BigInt64Array;
      for (let i = 0; i < count; i++) a[i] = BigInt(intAt(i, intRange[0], intRange[1]));
      break;
    }
    case 'bool': {
      const a = data as Uint8Array;
      for (let i = 0; i < count; i++) a[i] = role === 'mask' || rand() < 0.5 ? 1 : 0;
      break;
    }
    case 'int4':
    case 'uint4': {
      const a = data as Uint8Array;
      for (let i = 0; i < a.length; i++) a[i] = Math.floor(rand() * 256);
      break;
    }
    case 'string': {
      const a = data as string[];
      for (let i = 0; i < count; i++) a[i] = Math.floor(rand() * 2 ** 32).toString(36);
      break;
    }
  }
  return new OrtTensor(r.type, data as never, r.shape);
}

function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * Parses --shape values: ['x=1,3,48,320'] or the comma-split form the flag parser gives
 * (['x=1', '3', '48', '320', 'mask=1', '20']). Dims may also be separated by 'x' (x=1x3x48x320).
 */
export function parseShapeFlags(values: readonly string[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  let current: string | undefined;
  for (const raw of values) {
    for (const piece of raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      let dimsText = piece;
      const eq = piece.indexOf('=');
      if (eq >= 0) {
        current = piece.slice(0, eq).trim();
        dimsText = piece.slice(eq + 1);
        if (!current) throw new UsageError(`--shape '${raw}' has no input name before '='`, 'write --shape name=d1,d2,… (e.g. --shape x=1,3,48,320)');
        if (out[current]) throw new UsageError(`--shape gives input '${current}' twice`);
        out[current] = [];
        if (!dimsText) continue;
      }
      if (current === undefined) throw new UsageError(`--shape '${raw}' does not name an input`, 'write --shape name=d1,d2,… (e.g. --shape x=1,3,48,320)');
      for (const t of dimsText.split(/x/i)) {
        const v = Number(t);
        if (t.trim() === '' || !Number.isSafeInteger(v) || v < 1)
          throw new UsageError(`--shape ${current}: '${t}' is not a dim (a whole number ≥ 1)`, 'write --shape name=d1,d2,… (e.g. --shape x=1,3,48,320)');
        out[current]!.push(v);
      }
    }
  }
  for (const [k, v] of Object.entries(out))
    if (v.length === 0) throw new UsageError(`--shape ${k}= gives no dims`, 'write --shape name=d1,d2,… (e.g. --shape x=1,3,48,320)');
  return out;
}

/** Parses --dim values: ['sequence=128', 'height=640'] → { sequence: 128, height: 640 }. */
export function parseDimFlags(values: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const piece of values) {
    const eq = piece.lastIndexOf('=');
    const name = piece.slice(0, eq).trim();
    const text = piece.slice(eq + 1).trim();
    const v = Number(text);
    if (eq <= 0 || text === '' || !Number.isSafeInteger(v) || v < 1)
      throw new UsageError(
        `--dim '${piece}' is not name=value with a whole number ≥ 1`,
        'write --dim sequence=128 (the name as the model declares the symbolic dim)',
      );
    out[name] = v;
  }
  return out;
}
