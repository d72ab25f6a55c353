// The child process of benchIsolated: waits for its options over IPC, loads ORT (timed), opens the
// session (timed), makes the inputs, does the first run (timed), then warm-up and the timed loop, and
// sends back the result with the process's peak RSS. Heavy modules are imported only after the start
// message, so that loading them is measured rather than hidden.

import type { BenchResult, FromWorker, ToWorker } from './isolated.js';

function send(m: FromWorker): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(m, undefined, {}, () => resolve());
  });
}

async function run(msg: Extract<ToWorker, { type: 'start' }>): Promise<BenchResult> {
  // Test hook: lets the tests make the child crash, hang or blow up its memory.
  const fault = process.env.EDGEFIT_ISOLATED_FAULT;
  if (fault === 'crash') {
    // Exits like a native crash would (no result) without leaving a core file behind.
    process.stderr.write('simulated native crash in the benchmark child\n');
    process.exit(134);
  }
  if (fault === 'hang') await new Promise(() => setInterval(() => {}, 1 << 30));
  if (fault === 'alloc') {
    const hog: Uint8Array[] = [];
    for (;;) hog.push(new Uint8Array(64 * 2 ** 20).fill(1));
  }

  const o = msg.options;
  const tLoad = performance.now();
  await import('onnxruntime-node');
  const ortLoadMs = performance.now() - tLoad;
  const { openSession } = await import('../runtime/session.js');
  const { synthesizeFeeds, resolveInputs, declaredInputs } = await import('../runtime/inputs.js');
  const { measureLatency, DEFAULT_WARMUP, DEFAULT_WARMUP_MS, DEFAULT_DURATION_MS } = await import('./latency.js');
  const { machineInfo, peakRss } = await import('./machine.js');
  const { EdgefitError } = await import('../onnx/errors.js');
  const baselineRssBytes = process.memoryUsage.rss();

  const threads = o.threads ?? 1;
  const t0 = performance.now();
  const { session, provider, failures } = await openSession(msg.modelPath, o);
  const sessionCreateMs = performance.now() - t0;

  const feeds = synthesizeFeeds(session, o);
  const inputs = resolveInputs(declaredInputs(session), o);
  const t1 = performance.now();
  try {
    await session.run(feeds);
  } catch (e) {
    const shapes = inputs.map((i) => `${i.name} ${i.type}[${i.shape.join(',')}]`).join(', ');
    throw new EdgefitError(
      `ONNX Runtime could not run ${msg.modelPath} on synthesised inputs (${shapes}): ${(e as Error).message.split('\n')[0]}`,
      'E_ORT_RUN',
      'the input shapes are probably not ones the model accepts; set them with --shape name=d1,d2,… (and --batch)',
    );
  }
  const firstRunMs = performance.now() - t1;

  const warmupMs = o.warmupMs ?? DEFAULT_WARMUP_MS;
  const latency = await measureLatency(session, feeds, {
    warmup: o.warmup,
    warmupMs,
    iterations: o.iterations,
    durationMs: o.durationMs,
    minIterations: o.minIterations,
    maxIterations: o.maxIterations,
    onProgress: (progress) => void send({ type: 'progress', progress }),
  });
  await session.release();
  return {
    model: { path: msg.modelPath, ...msg.modelBytes },
    provider,
    providerFailures: failures,
    inputs,
    settings: {
      threads,
      providers: o.providers?.length ? o.providers : ['cpu'],
      graphOptimizationLevel: o.graphOptimizationLevel ?? 'all',
      disabledOptimizers: o.disabledOptimizers ?? [],
      warmup: o.warmup ?? DEFAULT_WARMUP,
      warmupMs,
      iterations: o.iterations ?? null,
      durationMs: o.iterations === undefined ? (o.durationMs ?? DEFAULT_DURATION_MS) : null,
      seed: o.seed ?? 0,
      batch: o.batch ?? null,
    },
    latency,
    coldStartMs: sessionCreateMs + firstRunMs,
    sessionCreateMs,
    firstRunMs,
    ortLoadMs,
    peakRssBytes: peakRss(),
    baselineRssBytes,
    modelBytes: msg.modelBytes.totalBytes,
    machine: machineInfo(threads),
  };
}

// The parent went away (killed, or Ctrl-C): stop rather than measure for no one.
process.on('disconnect', () => process.exit(1));

process.once('message', async (msg: ToWorker) => {
  try {
    const result = await run(msg);
    await send({ type: 'result', result });
  } catch (e) {
    const err = e as Error & { code?: string; hint?: string };
    const { EdgefitError } = await import('../onnx/errors.js');
    const user = e instanceof EdgefitError;
    await send({
      type: 'error',
      error: { message: err.message ?? String(e), code: user ? err.code! : 'E_BENCH_CRASH', hint: err.hint, stack: err.stack, user },
    });
  }
  process.exit(0);
});
