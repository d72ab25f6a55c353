// The inference server: fastify routes over the current engine, API-key check, limits on slow and
// large requests, JSON errors for every bad input, Prometheus metrics, reload without dropping a
// request, and a drain on close.
//
//   const s = await startServer({ ladder: resolveLadder(['model.onnx']), port: 8080 });
//   … await s.close();   // stops accepting, finishes what is in flight, stops the workers

import { createServer } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { createCanvas } from '@napi-rs/canvas';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { UsageError } from '../onnx/errors.js';
import type { EventSink } from '../monitor/event.js';
import type { CascadeConfidence } from './decode-result.js';
import { Engine, type EngineOptions } from './engine.js';
import { HttpError, errorBody } from './http-error.js';
import { DEFAULT_MAX_PIXELS } from './image-input.js';
import { DecodePool, type ImageDecoder } from './decode-pool.js';
import { earlyShed, handleInfer, runFailure, type InferSettings } from './infer-route.js';
import type { Ladder } from './ladder.js';
import { ServeMetrics } from './metrics.js';
import { modelsJson } from './models-json.js';
import { onReplyWritten, stamps } from './stamps.js';
import { LoopDelay } from './loop-delay.js';
import { DEFAULT_WORKER_NICE } from './nice.js';

export interface ServerOptions extends Omit<EngineOptions, 'ladder'> {
  /** The ladder, or a function that reads it (called again on reload, to pick up new model files). */
  ladder: Ladder | (() => Ladder);
  host?: string;
  port?: number;
  apiKey?: string;
  /** Default deadline in ms after arrival (default: the run's budget, else 1000). */
  deadlineMs?: number;
  /** Largest request body in bytes (default 8 MiB). */
  bodyLimit?: number;
  maxPixels?: number;
  maxElements?: number;
  /** Slow clients: all headers within this (default 10 s), the whole request within requestTimeoutMs (default 30 s). */
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  cascadeThreshold?: number;
  cascadeConfidence?: CascadeConfidence;
  defectLabels?: string[];
  eventSink?: EventSink;
  /** Decode worker threads for image bodies (default 1). */
  decodeWorkers?: number;
  /** Decodes image bodies instead of a pool of decodeWorkers (tests count or slow its calls); the server closes it. */
  imageDecoder?: ImageDecoder;
  /** Called after each successful reload with the new generation (tests, the CLI's log). */
  onReload?: (generation: number) => void;
}

export interface RunningServer {
  url: string;
  app: FastifyInstance;
  metrics: ServeMetrics;
  /** Live settings (the CLI sets the cascade threshold here once it is calibrated). */
  settings: InferSettings;
  engine(): Engine;
  reload(): Promise<{ generation: number; models: string[] }>;
  /** Stops accepting, drains, closes the workers and the event sink. */
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
const OPEN_PATHS = new Set(['/healthz', '/readyz']);

function keyMatches(given: string | undefined, key: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(key);
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function startServer(o: ServerOptions): Promise<RunningServer> {
  const host = o.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host) && !o.apiKey)
    throw new UsageError(
      `serving on ${host} (not loopback) needs an API key`,
      'pass --api-key <key> (clients send it as "Authorization: Bearer <key>"), or keep the default --host 127.0.0.1',
    );
  const readLadder = typeof o.ladder === 'function' ? o.ladder : () => o.ladder as Ladder;
  const ladder = readLadder();
  // the main thread's own delay counts in every budget (unless the caller sets a margin of its own)
  const loop = new LoopDelay();
  const engineOpts = (l: Ladder): EngineOptions => ({ margin: () => loop.recentMs(), ...o, ladder: l.models });
  const metrics = new ServeMetrics();
  let engine = await Engine.start(engineOpts(ladder));
  let generation = 1;
  let ready = true;
  let reloading: Promise<{ generation: number; models: string[] }> | null = null;
  const images = o.imageDecoder ?? new DecodePool(o.decodeWorkers ?? 1, o.workerNice ?? DEFAULT_WORKER_NICE);
  // image tasks decode from the first request on: no thread start in a request's time
  const imageSpec = engine.spec?.preprocess.kind === 'image' ? engine.spec.preprocess : undefined;
  if (images instanceof DecodePool && imageSpec)
    await (async () => {
      await images.start();
      await images.warmUp(blankPng(imageSpec.width, imageSpec.height), imageSpec, engine.input);
    })().catch(async (e: unknown) => {
      await Promise.all([engine.close(), images.close()]);
      throw e;
    });
  const settings: InferSettings = {
    images,
    deadlineMs: o.deadlineMs ?? ladder.budgetMs ?? 1000,
    maxPixels: o.maxPixels ?? DEFAULT_MAX_PIXELS,
    maxElements: o.maxElements ?? 2 ** 24,
    ...(o.cascadeThreshold !== undefined ? { cascadeThreshold: o.cascadeThreshold } : {}),
    ...(o.cascadeConfidence ? { cascadeConfidence: o.cascadeConfidence } : {}),
    ...(o.defectLabels ? { defectLabels: o.defectLabels } : {}),
    ...(o.eventSink ? { eventSink: o.eventSink } : {}),
  };

  const headersTimeout = o.headersTimeoutMs ?? 10_000;
  const requestTimeout = o.requestTimeoutMs ?? 30_000;
  const app = Fastify({
    bodyLimit: o.bodyLimit ?? 8 * 2 ** 20,
    requestTimeout,
    connectionTimeout: requestTimeout + 5_000,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // node checks the header and request timeouts on this interval (default 30 s, too coarse here)
    serverFactory: (handler) =>
      createServer({ headersTimeout, requestTimeout, connectionsCheckingInterval: Math.min(1000, Math.max(50, headersTimeout / 4)) }, handler),
  });
  guard(app, o, metrics, (req, reply) => earlyShed(req, reply, engine, metrics, settings, stamps(req).arrival!));

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => (ready ? { ready: true, generation } : reply.code(503).send({ ready: false, generation })));
  app.get('/v1/models', async () => modelsJson(engine, generation, settings));
  app.get('/metrics', async (_req, reply) => {
    metrics.queueDepth.set(engine.scheduler.depth);
    metrics.inFlight.set(engine.scheduler.inFlight);
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  app.post('/v1/infer', async (req, reply) =>
    engine.use(async (current) => {
      const r = await handleInfer(req, reply, current, metrics, settings, stamps(req).arrival ?? performance.now());
      metrics.queueDepth.set(current.scheduler.depth);
      return r;
    }),
  );

  const reload = (): Promise<{ generation: number; models: string[] }> => {
    reloading ??= (async () => {
      try {
        const next = await Engine.start(engineOpts(readLadder()));
        const old = engine;
        engine = next;
        generation++;
        o.onReload?.(generation);
        // requests that already hold the old engine finish there
        void old.retire();
        return { generation, models: next.ladder.map((m) => m.id) };
      } finally {
        reloading = null;
      }
    })();
    return reloading;
  };
  app.post('/admin/reload', async () => reload());

  await app.listen({ host, port: o.port ?? 8080 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  let closing: Promise<void> | null = null;
  return {
    url,
    app,
    metrics,
    settings,
    engine: () => engine,
    reload,
    close: () =>
      (closing ??= (async () => {
        ready = false;
        if (reloading) await reloading.catch(() => undefined);
        await app.close();
        await engine.retire();
        await images.close();
        await o.eventSink?.close();
        metrics.close();
        loop.close();
      })()),
  };
}

/** Body parsers, the API-key check, the refusal before the body, and JSON for every error. */
function guard(
  app: FastifyInstance,
  o: ServerOptions,
  metrics: ServeMetrics,
  beforeBody: (req: FastifyRequest, reply: FastifyReply) => FastifyReply | undefined,
): void {
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser(['image/png', 'image/jpeg'], { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.addHook('onRequest', async (req, reply) => {
    stamps(req).arrival = performance.now();
    if (o.apiKey && !OPEN_PATHS.has(req.url.split('?')[0]!)) {
      const auth = req.headers.authorization;
      const given = auth?.startsWith('Bearer ') ? auth.slice(7) : (req.headers['x-api-key'] as string | undefined);
      if (!keyMatches(given, o.apiKey))
        return reply.code(401).send(errorBody('unauthorized', 'this server needs an API key', 'send "Authorization: Bearer <key>" or "X-Api-Key: <key>"'));
    }
    if (req.method === 'POST' && req.url.split('?')[0] === '/v1/infer') return beforeBody(req, reply);
  });
  // where the server's time went, for clients that measure their own; and the time an answer needs after its run
  app.addHook('onSend', async (req, reply) => {
    if (req.url.startsWith('/v1/infer')) onReplyWritten(req, (k, v) => reply.header(k, v));
  });
  app.setErrorHandler((err: FastifyError | HttpError, req, reply) => {
    const e = err instanceof HttpError ? err : runFailure(err);
    const status = e?.status ?? (err as FastifyError).statusCode ?? 500;
    if (req.url.startsWith('/v1/infer')) metrics.count(status < 500 ? 'bad_request' : 'error');
    if (e) return reply.code(e.status).send(errorBody(e.code, e.message, e.hint));
    if (status >= 500) {
      req.log.error(err);
      return reply.code(500).send(errorBody('internal', `internal error: ${err.message}`, 'this is a bug; the server goes on'));
    }
    return reply.code(status).send(errorBody(fastifyCode(err as FastifyError), err.message, fastifyHint(err as FastifyError, o.bodyLimit ?? 8 * 2 ** 20)));
  });
  app.setNotFoundHandler((req, reply) =>
    reply
      .code(404)
      .send(
        errorBody('not_found', `no route ${req.method} ${req.url}`, 'routes: POST /v1/infer, GET /v1/models, /healthz, /readyz, /metrics, POST /admin/reload'),
      ),
  );
}

function fastifyCode(e: FastifyError): string {
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'body_too_large';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'unsupported_media_type';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'empty_body';
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return 'malformed_json';
    default:
      return e.statusCode === 400 && e instanceof SyntaxError ? 'malformed_json' : (e.code ?? 'bad_request').toLowerCase();
  }
}

function fastifyHint(e: FastifyError, limit: number): string | undefined {
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return `the server takes bodies up to ${limit} bytes (--body-limit)`;
  if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return 'send application/json (tensors), image/png or image/jpeg';
  if (e instanceof SyntaxError || e.code === 'FST_ERR_CTP_INVALID_JSON_BODY') return 'the body must be valid JSON';
  return undefined;
}

/** A grey PNG of the model's input size, to warm the decode workers up with. */
function blankPng(width: number, height: number): Buffer {
  const c = createCanvas(width, height);
  const ctx = c.getContext('2d');
  ctx.fillStyle = '#808080';
  ctx.fillRect(0, 0, width, height);
  return c.toBuffer('image/png');
}
