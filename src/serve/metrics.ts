// The server's Prometheus metrics, on a registry of its own (two servers in one process do not mix):
// queue wait and compute time per model as separate histograms, requests by outcome, queue depth.

import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const OUTCOMES = ['served', 'degraded', 'shed', 'deadline_missed', 'bad_request', 'error'] as const;
export type OutcomeLabel = (typeof OUTCOMES)[number];

/** Buckets in seconds, from 0.1 ms to 5 s: line deadlines are milliseconds to a second. */
/** The event-loop delay is sampled every this many ms (the sampling interval is taken off each sample). */
const LOOP_RESOLUTION_MS = 2;

const BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5];

export class ServeMetrics {
  readonly registry = new Registry();
  readonly queueWait: Histogram<'model'>;
  readonly compute: Histogram<'model'>;
  readonly total: Histogram<'outcome'>;
  readonly requests: Counter<'outcome'>;
  readonly queueDepth: Gauge;
  readonly inFlight: Gauge;
  readonly eventsFailed: Counter;
  readonly loopDelay: Gauge<'quantile'>;
  private readonly loop: IntervalHistogram;

  constructor(opts: { defaults?: boolean } = {}) {
    const r = [this.registry];
    this.queueWait = new Histogram({
      name: 'edgefit_serve_queue_wait_seconds',
      help: 'Time a request waited for a worker, by the model that served it',
      labelNames: ['model'],
      buckets: BUCKETS,
      registers: r,
    });
    this.compute = new Histogram({
      name: 'edgefit_serve_compute_seconds',
      help: 'Inference time on the worker, by model',
      labelNames: ['model'],
      buckets: BUCKETS,
      registers: r,
    });
    this.total = new Histogram({
      name: 'edgefit_serve_request_seconds',
      help: 'Time from arrival to answer, by outcome',
      labelNames: ['outcome'],
      buckets: BUCKETS,
      registers: r,
    });
    this.requests = new Counter({
      name: 'edgefit_serve_requests_total',
      help: 'Inference requests by outcome: served, degraded (a faster model answered), shed (refused at arrival), deadline_missed (dropped while waiting), bad_request, error',
      labelNames: ['outcome'],
      registers: r,
    });
    this.queueDepth = new Gauge({ name: 'edgefit_serve_queue_depth', help: 'Requests waiting for a worker', registers: r });
    this.inFlight = new Gauge({ name: 'edgefit_serve_in_flight', help: 'Requests being computed', registers: r });
    this.eventsFailed = new Counter({ name: 'edgefit_serve_events_failed_total', help: 'Inspection events the event sink could not store', registers: r });
    // the main thread takes every admission decision and writes every refusal: its delay is theirs
    this.loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
    this.loop.enable();
    const loop = this.loop;
    this.loopDelay = new Gauge({
      name: 'edgefit_serve_event_loop_delay_seconds',
      help: 'Delay of the main thread (admission, refusals, replies) since the last scrape: quantile 0.5, 0.99 and 1 (the max)',
      labelNames: ['quantile'],
      registers: r,
      collect() {
        const at = (ns: number) => (loop.count ? Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS) / 1000 : 0);
        this.set({ quantile: '0.5' }, at(loop.percentile(50)));
        this.set({ quantile: '0.99' }, at(loop.percentile(99)));
        this.set({ quantile: '1' }, at(loop.max));
        loop.reset();
      },
    });
    for (const o of OUTCOMES) this.requests.inc({ outcome: o }, 0);
    if (opts.defaults !== false) collectDefaultMetrics({ register: this.registry, prefix: 'edgefit_serve_' });
  }

  /** Stops the event-loop sampling (a closed server keeps no timer). */
  close(): void {
    this.loop.disable();
  }

  count(outcome: OutcomeLabel, seconds?: number): void {
    this.requests.inc({ outcome });
    if (seconds !== undefined) this.total.observe({ outcome }, seconds);
  }
}
