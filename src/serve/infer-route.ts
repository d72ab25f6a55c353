// POST /v1/infer: a JSON tensor body or an image body in, through admission and the queue, answers out.
// With a cascade the fast model answers first and the accurate one is asked when the fast one is
// unsure and the deadline still allows it.

import type { FastifyReply, FastifyRequest } from 'fastify';
import { retryAfterSeconds } from './admission.js';
import { cascadeConfidence, isDefect, type CascadeConfidence, type Decoded } from './decode-result.js';
import type { Engine } from './engine.js';
import { inspectionEvent, namesPart } from './events.js';
import { HttpError, errorBody } from './http-error.js';
import { checkImage } from './image-input.js';
import type { ImageDecoder } from './decode-pool.js';
import { outputsJson, parseJsonFeeds } from './json-feeds.js';
import type { ServeMetrics } from './metrics.js';
import type { Outcome } from './scheduler.js';
import { RunFailed } from './worker-pool.js';
import type { ImageStats } from '../data/image-stats.js';
import type { EventSink } from '../monitor/event.js';
import type { WireTensors } from './wire.js';
import { stamps } from './stamps.js';

export interface InferSettings {
  deadlineMs: number;
  maxPixels: number;
  maxElements: number;
  /** Cascade threshold: escalate when the fast model's confidence is below it; undefined = no cascade. */
  cascadeThreshold?: number;
  /** Which confidence the cascade compares with the threshold (default 'least'). */
  cascadeConfidence?: CascadeConfidence;
  defectLabels?: string[];
  eventSink?: EventSink;
  /** Where image bodies are decoded (worker threads; the main thread never decodes pixels). */
  images: ImageDecoder;
}

/** The request's deadline in ms after arrival: X-Deadline-Ms, else the server's default. */
export function deadlineOf(req: FastifyRequest, fallback: number): number {
  const h = req.headers['x-deadline-ms'];
  if (h === undefined) return fallback;
  const v = Number(Array.isArray(h) ? h[0] : h);
  if (!(v > 0 && v <= 3_600_000))
    throw new HttpError(400, 'bad_deadline', `X-Deadline-Ms must be a number of milliseconds in (0, 3600000], got '${h}'`, 'e.g. X-Deadline-Ms: 50');
  return v;
}

interface Prepared {
  feeds: WireTensors;
  image?: { stats: ImageStats; decodeMs: number };
}

function contentType(req: FastifyRequest): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

const isImage = (type: string) => type === 'image/png' || type === 'image/jpeg';

async function prepare(req: FastifyRequest, engine: Engine, s: InferSettings): Promise<Prepared> {
  if (isImage(contentType(req))) {
    const p = engine.spec?.preprocess;
    if (!p || p.kind !== 'image')
      throw new HttpError(
        415,
        'no_image_task',
        'this server has no image task for its model, so it takes JSON tensors only',
        'start the server with --task <task|spec.json>, or send application/json',
      );
    // the header checks (pixel limit included) here, the pixels on a decode worker
    const bytes = req.body as Buffer;
    checkImage(bytes, s.maxPixels);
    const t0 = performance.now();
    const img = await s.images.decode(bytes, p, engine.input);
    return { feeds: img.feeds, image: { stats: img.stats, decodeMs: performance.now() - t0 } };
  }
  return { feeds: parseJsonFeeds(req.body, engine.io[engine.ladder[0]!.id]!, s.maxElements) };
}

/** 503 with Retry-After, counted as shed. */
export function sendShed(
  reply: FastifyReply,
  metrics: ServeMetrics,
  out: { reason: 'deadline' | 'queue-full'; retryAfterMs: number },
  deadlineMs: number,
  totalMs: number,
  stage: 'headers' | 'input',
): FastifyReply {
  metrics.count('shed', totalMs / 1000);
  reply.header('retry-after', String(retryAfterSeconds(out.retryAfterMs)));
  // refused on the headers alone, or once the input was read (and decoded): the second costs more
  reply.header('x-shed-at', stage);
  const full = out.reason === 'queue-full';
  return reply
    .code(503)
    .send(
      errorBody(
        full ? 'queue_full' : 'shed',
        full ? 'the queue is full' : `no model can answer within the deadline of ${deadlineMs} ms with the work queued now`,
        'retry later, lower the load, or give a longer X-Deadline-Ms',
      ),
    );
}

/**
 * Admission before the body is read: a request that no model could finish in time is refused on its
 * headers and the queue state alone, without paying for the upload, the JSON parse or the image decode.
 * The images being decoded now count as work queued ahead (at the fastest model's mean), and an image
 * cannot start before its own decode is predicted done (the decode queue ahead at the mean, its own at
 * the median, from the decodes of the last seconds only: an estimate that only admitted images update
 * must not stay high after a slow spell; a slower decode shows in the slip, whose quantile the
 * scheduler adds, so that two high quantiles are not stacked). Admitted here, it is decided again once its
 * input is ready, on the time then left: a refusal then has cost the upload and the decode.
 */
export function earlyShed(
  req: FastifyRequest,
  reply: FastifyReply,
  engine: Engine,
  metrics: ServeMetrics,
  s: InferSettings,
  arrival: number,
): FastifyReply | undefined {
  const deadlineMs = deadlineOf(req, s.deadlineMs);
  const image = isImage(contentType(req));
  const cascade = s.cascadeThreshold !== undefined && image && engine.decoder && engine.ladder.length > 1;
  const last = engine.ladder.length - 1;
  const sched = engine.scheduler;
  const early = image ? { ahead: s.images.pending, readyInMs: s.images.predictMs(0.5) } : { ahead: 0, readyInMs: 0 };
  const d = sched.decide(arrival + deadlineMs, cascade ? last : 0, last, early);
  if (d.kind !== 'shed') {
    stamps(req).earlyStart = d.predictedStart;
    return undefined;
  }
  return sendShed(reply, metrics, d, deadlineMs, (performance.now() - arrival) / 1000, 'headers');
}

export async function handleInfer(
  req: FastifyRequest,
  reply: FastifyReply,
  engine: Engine,
  metrics: ServeMetrics,
  s: InferSettings,
  arrival: number,
): Promise<unknown> {
  const deadlineMs = deadlineOf(req, s.deadlineMs);
  const deadline = arrival + deadlineMs;
  const input = await prepare(req, engine, s);
  const sched = engine.scheduler;
  const last = sched.rungs.length - 1;
  const cascade = s.cascadeThreshold !== undefined && input.image && engine.decoder && last > 0;
  // the worker takes the buffers it is sent; a cascade may need the input a second time
  const kept = cascade ? cloneFeeds(input.feeds) : undefined;
  const earlyStart = stamps(req).earlyStart;
  const decode = Boolean(input.image && engine.decoder);
  let out: Outcome = await sched.submit({
    feeds: input.feeds,
    deadline,
    decode,
    ...(cascade ? { from: last } : {}),
    ...(earlyStart !== undefined ? { earlyStart } : {}),
  });
  let ran = performance.now();
  let decoded: Decoded | undefined;
  let escalated: { from: string; confidence: number } | undefined;
  if (out.kind === 'served' && input.image && engine.decoder) {
    decoded = out.decoded ?? engine.decoder(out.outputs);
    const confidence = cascadeConfidence(decoded, s.cascadeConfidence ?? 'least');
    if (cascade && confidence < s.cascadeThreshold!) {
      const second = await sched.submit({ feeds: kept!, deadline, from: 0, to: 0, decode });
      ran = performance.now();
      if (second.kind === 'served') {
        escalated = { from: out.model, confidence };
        second.queueMs += out.queueMs + out.computeMs;
        second.computeMs += out.computeMs;
        out = second;
        decoded = out.decoded ?? engine.decoder(out.outputs);
      }
    }
  }
  const totalMs = performance.now() - arrival;
  if (out.kind === 'shed') return sendShed(reply, metrics, out, deadlineMs, totalMs, 'input');
  if (out.kind === 'deadline-missed') {
    metrics.count('deadline_missed', totalMs / 1000);
    return reply
      .code(504)
      .send(
        errorBody(
          'deadline_missed',
          `the deadline of ${deadlineMs} ms passed while the request waited (${out.queueMs.toFixed(1)} ms); it was not computed`,
          'retry, or give a longer X-Deadline-Ms',
        ),
      );
  }
  metrics.queueWait.observe({ model: out.model }, out.queueMs / 1000);
  metrics.compute.observe({ model: out.model }, out.computeMs / 1000);
  metrics.count(out.degraded ? 'degraded' : 'served', totalMs / 1000);
  const defect = decoded && engine.spec?.output.decode === 'classes' ? isDefect(decoded, engine.spec.output.classes, s.defectLabels) : undefined;
  if (s.eventSink && namesPart(req.headers))
    s.eventSink
      .append([
        inspectionEvent(req.headers, {
          model: out.model,
          latencyMs: totalMs,
          ...(decoded ? { decoded } : {}),
          ...(defect !== undefined ? { defect } : {}),
          ...(input.image ? { stats: input.image.stats } : {}),
        }),
      ])
      .catch(() => metrics.eventsFailed.inc());
  reply.header('x-model', out.model);
  const timing = {
    ...(input.image ? { decode_ms: round(input.image.decodeMs) } : {}),
    queue_ms: round(out.queueMs),
    compute_ms: round(out.computeMs),
    run_ms: round(out.runMs),
    slack_ms: round(out.slackMs),
    budget_ms: round(out.budgetMs),
    total_ms: round(totalMs),
  };
  const base = {
    model: out.model,
    degraded: out.degraded,
    ...(escalated
      ? { cascade: { escalated: true, first: escalated.from, first_confidence: escalated.confidence } }
      : cascade
        ? { cascade: { escalated: false } }
        : {}),
    timing,
  };
  const body = decoded ? { result: decoded.kind === 'label' ? { ...decoded, defect } : decoded, ...base } : { outputs: outputsJson(out.outputs), ...base };
  // what an answer costs after its run (decoding, the event, the reply until written) counts in the next predictions
  if (sched.opts.afterRun) stamps(req).afterRun = { from: ran, into: sched.opts.afterRun };
  return body;
}

function cloneFeeds(f: WireTensors): WireTensors {
  const out: WireTensors = {};
  for (const [k, t] of Object.entries(f)) out[k] = { ...t, dims: [...t.dims], data: (t.data as Float32Array).slice() };
  return out;
}

const round = (v: number) => Math.round(v * 1000) / 1000;

/** A failed run on the worker (ORT refused the inputs) is the request's fault; anything else is ours. */
export function runFailure(e: unknown): HttpError | undefined {
  if (e instanceof RunFailed)
    return new HttpError(400, 'run_failed', `the model could not run on these inputs: ${e.message}`, 'check the input dims against GET /v1/models');
  return undefined;
}
