// The inspection event of one request, for the monitoring store: recorded when the request names the
// part it is about (X-Line, X-Machine, X-Batch or X-Part-Id; X-Material too when present).

import { randomUUID } from 'node:crypto';
import type { InspectionEvent } from '../monitor/event.js';
import type { ImageStats } from '../data/image-stats.js';
import type { Decoded } from './decode-result.js';

const HEADERS = { line: 'x-line', machine: 'x-machine', batch: 'x-batch', partId: 'x-part-id', material: 'x-material' } as const;

type Headers = Record<string, string | string[] | undefined>;

const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v)?.slice(0, 200);

/** True when the request names a part (so it is recorded). */
export function namesPart(h: Headers): boolean {
  return Boolean(one(h['x-line']) || one(h['x-machine']) || one(h['x-batch']) || one(h['x-part-id']));
}

export function inspectionEvent(h: Headers, r: { model: string; latencyMs: number; decoded?: Decoded; defect?: boolean; stats?: ImageStats }): InspectionEvent {
  const e: InspectionEvent = { id: randomUUID(), ts: Date.now(), model: r.model, latencyMs: r.latencyMs };
  for (const [field, header] of Object.entries(HEADERS)) {
    const v = one(h[header]);
    if (v) (e as unknown as Record<string, string>)[field] = v;
  }
  const d = r.decoded;
  if (d?.kind === 'text') (e.prediction = d.text), (e.score = d.confidence);
  if (d?.kind === 'label') (e.prediction = d.label), (e.score = d.score);
  if (r.defect !== undefined) e.defect = r.defect;
  if (r.stats) Object.assign(e, r.stats);
  return e;
}
