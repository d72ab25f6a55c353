// The admission rule, pure: given when each worker is expected to be free, the work queued ahead and
// each ladder model's high service-time quantile, predict when a new request would finish on each model
// and take the most accurate one that makes the deadline; if none can, refuse at once. Times are ms on
// one clock (performance.now in the server, anything in the tests).

export interface AdmissionState {
  now: number;
  /** When each worker is expected to be free (absolute ms; `now` or earlier when idle). */
  slotsFreeAt: readonly number[];
  /** Expected (mean) service time of each request queued ahead, in queue order. */
  queuedMs: readonly number[];
  /** Requests waiting now, and the most that may wait. */
  maxQueue: number;
  /** When the request's own input is expected ready (an image still to decode); it cannot start before. */
  readyAt?: number;
  /** A margin on the predicted start (not part of predictedStart): how much later starts have turned out than predicted this early. */
  slipMs?: number;
}

/** One model of the ladder as admission sees it: `budgetMs` is its service-time quantile (p99 by default). */
export interface RungTime {
  id: string;
  budgetMs: number;
}

export type Decision =
  | { kind: 'admit'; rung: number; degraded: boolean; predictedStart: number; predictedDone: number }
  | { kind: 'shed'; reason: 'deadline' | 'queue-full'; predictedStart: number; retryAfterMs: number };

/**
 * When a request arriving now would start: the queue ahead is dealt to the workers in order, each
 * request to the worker that frees first (what the dispatcher does), and the new one goes after them.
 */
export function predictStart(s: Pick<AdmissionState, 'now' | 'slotsFreeAt' | 'queuedMs'>): number {
  if (s.slotsFreeAt.length === 0) return Infinity;
  const free = s.slotsFreeAt.map((t) => Math.max(t, s.now));
  for (const ms of s.queuedMs) {
    const k = argmin(free);
    free[k] = free[k]! + ms;
  }
  return free[argmin(free)]!;
}

function argmin(a: readonly number[]): number {
  let k = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! < a[k]!) k = i;
  return k;
}

/**
 * Decides for one request with an absolute deadline. `rungs` are most accurate first; `from` is the
 * first rung the request may use (0 normally). A completion exactly at the deadline is on time.
 */
export function admit(s: AdmissionState, rungs: readonly RungTime[], deadline: number, from = 0): Decision {
  const start = Math.max(predictStart(s), s.readyAt ?? -Infinity);
  const slip = s.slipMs ?? 0;
  if (s.queuedMs.length >= s.maxQueue) return { kind: 'shed', reason: 'queue-full', predictedStart: start, retryAfterMs: Math.max(0, start - s.now) };
  for (let r = from; r < rungs.length; r++) {
    const done = start + slip + rungs[r]!.budgetMs;
    if (done <= deadline) return { kind: 'admit', rung: r, degraded: r !== from, predictedStart: start, predictedDone: done };
  }
  // the fastest rung would need this much more time: the backlog has to drain first
  return { kind: 'shed', reason: 'deadline', predictedStart: start, retryAfterMs: Math.max(0, start - s.now) };
}

/** Retry-After is whole seconds (RFC 9110); a refusal always asks for at least 1 s. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
