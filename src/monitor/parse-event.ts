// Turns one record of an events file (a JSON object, or a CSV row keyed by its header) into an
// InspectionEvent, or says exactly what is wrong with it. Field names follow docs/monitor.md; both
// snake_case (part_id) and camelCase (partId) are accepted.

import { createHash } from 'node:crypto';
import type { InspectionEvent } from './event.js';

type Kind = 'string' | 'number' | 'unit' | 'boolean' | 'vector';

/** Every field an event may have: its name in the event and the type it must have. */
const FIELDS: Record<string, { key: keyof InspectionEvent; kind: Kind }> = {
  line: { key: 'line', kind: 'string' },
  machine: { key: 'machine', kind: 'string' },
  batch: { key: 'batch', kind: 'string' },
  part_id: { key: 'partId', kind: 'string' },
  partId: { key: 'partId', kind: 'string' },
  material: { key: 'material', kind: 'string' },
  model: { key: 'model', kind: 'string' },
  prediction: { key: 'prediction', kind: 'string' },
  truth: { key: 'truth', kind: 'string' },
  defect: { key: 'defect', kind: 'boolean' },
  score: { key: 'score', kind: 'unit' },
  latency_ms: { key: 'latencyMs', kind: 'number' },
  latencyMs: { key: 'latencyMs', kind: 'number' },
  brightness: { key: 'brightness', kind: 'number' },
  contrast: { key: 'contrast', kind: 'number' },
  sharpness: { key: 'sharpness', kind: 'number' },
  embedding: { key: 'embedding', kind: 'vector' },
};

export const KNOWN_FIELDS = ['id', 'ts', ...Object.keys(FIELDS)];

/** Epoch ms below this (3 March 1973) are almost certainly epoch seconds. */
const MIN_EPOCH_MS = 1e11;
const ISO = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

export function parseTs(v: unknown, fromText: boolean): number | string {
  if (typeof v === 'number' || (fromText && typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v.trim()))) {
    const ms = Number(v);
    if (!Number.isFinite(ms)) return `ts ${JSON.stringify(v)} is not a number`;
    if (ms < MIN_EPOCH_MS) return `ts ${ms} looks like epoch seconds, not milliseconds`;
    return ms;
  }
  if (typeof v !== 'string') return `ts must be an ISO-8601 string or epoch milliseconds, got ${JSON.stringify(v)}`;
  const s = v.trim();
  if (!ISO.test(s)) return `ts '${s}' is not ISO-8601 (e.g. 2026-03-01T14:02:00Z) or epoch milliseconds`;
  // An ISO time without a zone is taken as UTC, so the same file means the same instants everywhere.
  const withZone = /[zZ]|[+-]\d{2}:?\d{2}$/.test(s) || s.length === 10 ? s : `${s.replace(' ', 'T')}Z`;
  const ms = Date.parse(withZone);
  return Number.isFinite(ms) ? ms : `ts '${s}' is not a valid date`;
}

function parseField(name: string, kind: Kind, v: unknown, fromText: boolean): unknown {
  const bad = (what: string) => new Error(`field '${name}' ${what}, got ${JSON.stringify(v)}`);
  switch (kind) {
    case 'string':
      if (typeof v === 'string') return v;
      if (typeof v === 'number' && Number.isFinite(v)) return String(v);
      throw bad('must be a string');
    case 'boolean':
      if (v === true || v === 1 || v === 'true' || v === '1') return true;
      if (v === false || v === 0 || v === 'false' || v === '0') return false;
      throw bad('must be true/false or 1/0');
    case 'number':
    case 'unit': {
      const n = typeof v === 'number' ? v : fromText && typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
      if (!Number.isFinite(n)) throw bad('must be a number');
      if (kind === 'unit' && (n < 0 || n > 1)) throw bad('must be between 0 and 1');
      return n;
    }
    case 'vector': {
      let arr = v;
      if (fromText && typeof v === 'string')
        arr = v.trim().startsWith('[')
          ? safeJson(v)
          : v
              .split(/[;\s]+/)
              .filter(Boolean)
              .map(Number);
      if (!Array.isArray(arr) || !arr.every((x) => typeof x === 'number' && Number.isFinite(x))) throw bad('must be a list of numbers');
      return arr;
    }
  }
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

/** The id of an event without one: a hash of the record's bytes and its line number, stable across reruns. */
export function lineId(bytes: Uint8Array, lineNo: number): string {
  return `${createHash('sha256').update(bytes).digest('hex').slice(0, 20)}:${lineNo}`;
}

/**
 * One record as an event. `fromText` is set for CSV, where every value arrives as text; empty CSV
 * cells are absent fields. Throws an Error whose message says what is wrong (the caller adds the line).
 */
export function parseEvent(rec: Record<string, unknown>, bytes: Uint8Array, lineNo: number, fromText: boolean): InspectionEvent {
  const unknown = Object.keys(rec).filter((k) => !KNOWN_FIELDS.includes(k));
  if (unknown.length) throw new Error(`unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}`);
  if (rec.ts === undefined || rec.ts === null || rec.ts === '') throw new Error("missing 'ts'");
  const ts = parseTs(rec.ts, fromText);
  if (typeof ts === 'string') throw new Error(ts);
  let id: string;
  if (rec.id === undefined || rec.id === null || rec.id === '') id = lineId(bytes, lineNo);
  else if (typeof rec.id === 'string' || typeof rec.id === 'number') id = String(rec.id);
  else throw new Error(`field 'id' must be a string, got ${JSON.stringify(rec.id)}`);
  const e: InspectionEvent = { id, ts };
  for (const [name, v] of Object.entries(rec)) {
    const f = FIELDS[name];
    if (!f || v === null || (fromText && v === '')) continue;
    (e as unknown as Record<string, unknown>)[f.key] = parseField(name, f.kind, v, fromText);
  }
  return e;
}
