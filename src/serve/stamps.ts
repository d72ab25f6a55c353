// What the server notes on a request as it goes (times on performance.now): when it arrived (the clock
// its deadline counts from) and, once it has run, when its result came back and which distribution the
// time from there to the written reply belongs to.

import type { FastifyRequest } from 'fastify';
import type { Times } from './service-time.js';

export interface Stamps {
  arrival?: number;
  /** The start predicted when it was admitted on its headers. */
  earlyStart?: number;
  /** Set when a run's result is back: the time until the reply is written goes into `into`. */
  afterRun?: { from: number; into: Times };
}

export function stamps(req: FastifyRequest): Stamps {
  return req as unknown as Stamps;
}

/** What the reply carries and records as it is written: the arrival stamp (epoch ms) and the server's time. */
export function onReplyWritten(req: FastifyRequest, header: (name: string, value: string) => void, now = performance.now()): void {
  const s = stamps(req);
  if (s.arrival === undefined) return;
  header('x-server-arrival', (performance.timeOrigin + s.arrival).toFixed(3));
  header('x-server-ms', (now - s.arrival).toFixed(3));
  if (s.afterRun) s.afterRun.into.add(now - s.afterRun.from);
}
