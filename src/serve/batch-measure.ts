// Whether micro-batching pays on this machine, measured: each batch size from 2 up is timed on the
// workers like the single-request warm-up, and kept only when its time per request beats one request's
// mean; the sizes kept stop at the first that does not help (a batch grows one request at a time). With
// none kept, the model runs one request at a time.

import type { FeedOptions } from '../runtime/inputs.js';
import { hasFreeBatch } from './batch.js';
import { ServiceTime } from './service-time.js';
import type { ModelIo } from './wire.js';
import type { WorkerPool } from './worker-pool.js';

export interface BatchMeasureOptions {
  /** Model ids, with their single-request service times. */
  single: Record<string, ServiceTime>;
  io: Record<string, ModelIo>;
  /** Single-request warm-up input shapes by input name (dim 0 is set to the batch size). */
  shapes: Record<string, number[]>;
  maxBatch: number;
  runs: number;
}

/** Per model id: the batch sizes that help, each with its measured service-time distribution. */
export async function measureBatches(pool: Pick<WorkerPool, 'warmUp'>, o: BatchMeasureOptions): Promise<Record<string, Map<number, ServiceTime>>> {
  let ids = Object.keys(o.single).filter((id) => o.io[id] && hasFreeBatch(o.io[id]!));
  const out: Record<string, Map<number, ServiceTime>> = {};
  for (let k = 2; k <= o.maxBatch && ids.length > 0; k++) {
    const feeds: Record<string, FeedOptions> = {};
    const shapes = Object.fromEntries(Object.entries(o.shapes).map(([name, dims]) => [name, [k, ...dims.slice(1)]]));
    for (const id of ids) feeds[id] = { shapes, batch: k };
    const times = await pool.warmUp(o.runs, feeds, false);
    ids = ids.filter((id) => {
      const t = new ServiceTime(times[id] ?? []);
      const helps = t.count > 0 && t.mean() / k < o.single[id]!.mean();
      if (helps) {
        const sizes = out[id] ?? new Map<number, ServiceTime>();
        sizes.set(k, t);
        out[id] = sizes;
      }
      return helps;
    });
  }
  return out;
}
