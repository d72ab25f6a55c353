// GET /v1/models: the ladder as served now: each model's inputs and outputs, its measured service
// time, what its run reported, and the admission settings.

import { mallocMode } from '../runtime/malloc-tuning.js';
import type { Engine } from './engine.js';
import type { InferSettings } from './infer-route.js';

const r3 = (v: number) => (Number.isFinite(v) ? Math.round(v * 1000) / 1000 : null);

export function modelsJson(engine: Engine, generation: number, s: InferSettings) {
  const sched = engine.scheduler;
  return {
    generation,
    task: engine.spec ? { name: engine.spec.name, input: engine.input, decode: engine.spec.output.decode } : null,
    admission: {
      enabled: sched.admission,
      quantile: sched.quantile,
      max_queue: sched.maxQueue,
      default_deadline_ms: s.deadlineMs,
      workers: engine.pool.slots,
      max_batch: sched.opts.maxBatch ?? 1,
      // what every budget adds now: the after-run quantile and the main thread's recent delay; and the
      // margin a decision on the headers adds (how much later starts turned out once the input was ready)
      after_run_ms: r3(sched.opts.afterRun?.count ? sched.opts.afterRun.quantile(sched.quantile) : 0),
      margin_ms: r3(sched.opts.margin?.() ?? 0),
      slip_ms: r3(sched.slip.quantile(sched.quantile)),
    },
    decode: { pending: s.images.pending, predicted_ms: r3(s.images.predictMs(0.99)) },
    // glibc malloc of this process: 'tuned' for steady latency (serve starts itself so), 'user' or 'default'
    runtime: { malloc: mallocMode() },
    cascade: s.cascadeThreshold !== undefined ? { threshold: s.cascadeThreshold, confidence: s.cascadeConfidence ?? 'least' } : null,
    models: engine.ladder.map((m, rung) => {
      const t = sched.rungs[rung]!.time;
      const io = engine.io[m.id]!;
      return {
        id: m.id,
        rung,
        path: m.path,
        inputs: io.inputs,
        outputs: io.outputs,
        service_ms: { count: t.count, p50: r3(t.quantile(0.5)), p90: r3(t.quantile(0.9)), p99: r3(t.quantile(0.99)), mean: r3(t.mean()) },
        // the time a request on this model is dispatched on now (dispatch to reply written)
        budget_ms: r3(sched.budgets.of(sched.rungs[rung]!)),
        // the batch sizes measured to help, each with its mean ms per request
        ...(sched.rungs[rung]!.batch?.size
          ? { batch_ms_per_request: Object.fromEntries([...sched.rungs[rung]!.batch!].map(([k, bt]) => [k, r3(bt.mean() / k)])) }
          : {}),
        ...(m.latency ? { reported_latency_ms: m.latency } : {}),
        ...(m.quality !== undefined ? { quality: m.quality } : {}),
      };
    }),
  };
}
