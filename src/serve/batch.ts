// Micro-batching's tensor work: whether a model has a free batch dimension, stacking requests of the
// same shape along it, and splitting a batch's outputs back into each request's rows.

import type { ModelIo, WireTensor, WireTensors } from './wire.js';

type Typed = Float32Array | Float64Array | Int32Array | Uint8Array | Int8Array | BigInt64Array | Uint16Array | Int16Array;

/** True when every input and output of the model has a first dim that is not fixed (a batch dimension). */
export function hasFreeBatch(io: ModelIo): boolean {
  const free = (shape: (number | string | undefined)[] | undefined) => !!shape && shape.length > 0 && typeof shape[0] !== 'number';
  return io.inputs.length > 0 && io.inputs.every((t) => free(t.shape)) && io.outputs.every((t) => free(t.shape));
}

/** What must agree for two requests to share a batch: input names, types and every dim after the first. */
export function batchKey(feeds: WireTensors): string | undefined {
  const parts: string[] = [];
  for (const name of Object.keys(feeds).sort()) {
    const t = feeds[name]!;
    if (!ArrayBuffer.isView(t.data) || t.dims.length === 0) return undefined;
    parts.push(`${name}:${t.type}:${t.dims.slice(1).join('x')}`);
  }
  return parts.join('|');
}

const rowsOf = (t: WireTensor) => t.dims[0]!;

/** Stacks requests (all of one batchKey) along the first dim; `rows` is each request's count. */
export function stackFeeds(list: readonly WireTensors[]): { feeds: WireTensors; rows: number[] } {
  const first = list[0]!;
  const rows = list.map((f) => rowsOf(Object.values(f)[0]!));
  const total = rows.reduce((a, b) => a + b, 0);
  const feeds: WireTensors = {};
  for (const [name, t] of Object.entries(first)) {
    const data = t.data as Typed;
    const out = new (data.constructor as new (n: number) => Typed)((data.length / rowsOf(t)) * total);
    let at = 0;
    for (const f of list) {
      const part = f[name]!.data as Typed;
      (out as Float32Array).set(part as Float32Array, at);
      at += part.length;
    }
    feeds[name] = { type: t.type, dims: [total, ...t.dims.slice(1)], data: out };
  }
  return { feeds, rows };
}

/** A batch's outputs as each request's own: `rows[i]` rows of every output, in order. */
export function splitOutputs(out: WireTensors, rows: readonly number[]): WireTensors[] {
  const total = rows.reduce((a, b) => a + b, 0);
  const parts: WireTensors[] = rows.map(() => ({}));
  for (const [name, t] of Object.entries(out)) {
    if (rowsOf(t) !== total) throw new Error(`output '${name}' has ${rowsOf(t)} rows for a batch of ${total}`);
    const data = t.data as Typed;
    const per = data.length / total;
    let row = 0;
    rows.forEach((n, i) => {
      parts[i]![name] = { type: t.type, dims: [n, ...t.dims.slice(1)], data: data.slice(row * per, (row + n) * per) };
      row += n;
    });
  }
  return parts;
}

/** A request as batching sees it: its batchKey, its deadline, and the rungs it may run on. */
export interface BatchCandidate {
  key: string | undefined;
  deadline: number;
  from: number;
  to: number;
}

/**
 * Which queued requests (indices, in queue order) join `head` in one run on `rung`: each of the same
 * key and allowed that rung, taken while a batch of one more still has a budget (`budgetMs.get(k)`, the
 * sizes measured to help) that finishes every member by its deadline. None: `head` runs alone.
 */
export function pickBatch(
  head: BatchCandidate,
  rung: number,
  queued: readonly BatchCandidate[],
  budgetMs: ReadonlyMap<number, number>,
  now: number,
  maxBatch: number,
): number[] {
  if (head.key === undefined) return [];
  const chosen: number[] = [];
  let due = head.deadline;
  for (let i = 0; i < queued.length && chosen.length + 1 < maxBatch; i++) {
    const q = queued[i]!;
    if (q.key !== head.key || rung < q.from || rung > q.to) continue;
    const budget = budgetMs.get(chosen.length + 2);
    if (budget === undefined) break;
    const next = Math.min(due, q.deadline);
    if (now + budget > next) continue;
    chosen.push(i);
    due = next;
  }
  return chosen;
}
