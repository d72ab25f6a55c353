// Shared by the monitor tests and the benchmark: simulated line events as the store's cells and as
// InspectionEvents, without going through a file.
import type { LineEvent } from '../src/data/generators/line.js';
import type { InspectionEvent } from '../src/monitor/event.js';
import type { Cell } from '../src/monitor/query.js';

export function toInspectionEvent(e: LineEvent): InspectionEvent {
  const out: InspectionEvent = {
    id: e.id,
    ts: e.ts,
    line: e.line,
    machine: e.machine,
    batch: e.batch,
    partId: e.part_id,
    material: e.material,
    model: e.model,
    prediction: e.prediction,
    defect: e.defect,
    score: e.score,
    latencyMs: e.latency_ms,
    brightness: e.brightness,
    contrast: e.contrast,
    sharpness: e.sharpness,
    embedding: e.embedding,
  };
  if (e.truth !== undefined) out.truth = e.truth;
  return out;
}

/** What query.readCells would return for these events. */
export function cellsOf(events: readonly LineEvent[], bucketMs: number): Cell[] {
  const m = new Map<string, Cell>();
  for (const e of events) {
    const bucket = Math.floor(e.ts / bucketMs);
    const key = `${e.machine}|${e.batch}|${bucket}`;
    let c = m.get(key);
    if (!c) m.set(key, (c = { machine: e.machine, batch: e.batch, line: e.line, material: e.material, bucket, n: 0, k: 0, s1: 0, s2: 0, ns: 0 }));
    c.n++;
    c.k += e.defect ? 1 : 0;
    c.s1 += e.score;
    c.s2 += e.score * e.score;
    c.ns++;
  }
  return [...m.values()].sort((a, b) => a.bucket - b.bucket);
}
