// The speed guard: a transformed model is timed against its input on the same machine, in the same
// process, with the same settings and feeds, in interleaved rounds (A B, B A, …) so that drift in the
// machine's load hits both alike. A result that is slower than its input is called slower; one within
// the noise margin is called unchanged; only a clear win is called faster.

import type * as ort from 'onnxruntime-node';
import { measureLatency } from '../bench/latency.js';
import { machineInfo, type MachineInfo } from '../bench/machine.js';
import type { Model } from '../onnx/model.js';
import { synthesizeFeeds } from '../runtime/inputs.js';
import { createSession, type SessionOptions } from '../runtime/session.js';

export type Verdict = 'faster' | 'unchanged' | 'slower';

export interface GuardOptions {
  threads?: number;
  /** Interleaved rounds (default 6). */
  rounds?: number;
  /** Timed runs per model per round (default 20). */
  iterations?: number;
  /** Untimed runs per model before the first round (default 5). */
  warmup?: number;
  /** Feeds for both models; default: synthesized from the input model (batch 1, seed 0). */
  feeds?: Record<string, ort.Tensor>;
  batch?: number;
  shapes?: Record<string, number[]>;
  /** Speed-ups below 1 + margin are 'unchanged' (default 0.03). */
  margin?: number;
  /** Settings for both sessions (threads is applied on top). */
  session?: SessionOptions;
  /** Settings for the candidate only (e.g. optimizers it needs off). */
  candidateSession?: SessionOptions;
}

export interface Timing {
  p50: number;
  p90: number;
  mean: number;
  min: number;
  count: number;
}

export interface GuardResult {
  baseline: Timing;
  candidate: Timing;
  /** baseline p50 / candidate p50: above 1 means the candidate is faster. */
  speedup: number;
  /**
   * baseline min / candidate min. On a machine shared with other work, preemption inflates the
   * median of the longer-running model more, so this is the conservative figure for a speed-up.
   */
  speedupMin: number;
  /** The speed-up of each round (each a ratio of that round's medians). */
  roundSpeedups: number[];
  verdict: Verdict;
  /** One line for people: '2.71× faster than the input (p50 1.20 → 0.44 ms)', or 'SLOWER than the input …'. */
  summary: string;
  machine: MachineInfo;
}

type Source = string | Uint8Array | Model;

export async function guardSpeed(input: Source, candidate: Source, opts: GuardOptions = {}): Promise<GuardResult> {
  const threads = opts.threads ?? 1;
  const base = { ...(opts.session ?? {}), threads };
  const a = await createSession(input, base);
  const b = await createSession(candidate, { ...base, ...(opts.candidateSession ?? {}), threads });
  try {
    const feeds = opts.feeds ?? synthesizeFeeds(a, { batch: opts.batch, shapes: opts.shapes, seed: 0 });
    const warmup = opts.warmup ?? 5;
    const rounds = opts.rounds ?? 6;
    const iterations = opts.iterations ?? 20;
    await measureLatency(a, feeds, { warmup, iterations: 1 });
    await measureLatency(b, feeds, { warmup, iterations: 1 });
    const sa: number[] = [];
    const sb: number[] = [];
    const roundSpeedups: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? [a, b] : [b, a];
      const got: number[][] = [];
      for (const s of order) got.push((await measureLatency(s, feeds, { warmup: 1, iterations })).samplesMs);
      const [ta, tb] = r % 2 === 0 ? [got[0]!, got[1]!] : [got[1]!, got[0]!];
      sa.push(...ta);
      sb.push(...tb);
      roundSpeedups.push(median(ta) / median(tb));
    }
    return judge(sa, sb, roundSpeedups, opts.margin ?? 0.03, threads);
  } finally {
    await a.release();
    await b.release();
  }
}

/** The verdict from raw samples: slower whenever the candidate's median is above the input's. */
export function judge(baselineMs: number[], candidateMs: number[], roundSpeedups: number[], margin: number, threads: number): GuardResult {
  const baseline = timing(baselineMs);
  const candidate = timing(candidateMs);
  const speedup = baseline.p50 / candidate.p50;
  // Faster needs the pooled median to clear the margin and most rounds to agree; slower needs only
  // the pooled median to be above the input's: a loss is never rounded into a win.
  const agree = roundSpeedups.filter((s) => s > 1).length;
  const verdict: Verdict = speedup < 1 ? 'slower' : speedup >= 1 + margin && agree * 2 > roundSpeedups.length ? 'faster' : 'unchanged';
  const ms = (v: number) => (v >= 10 ? v.toFixed(1) : v.toFixed(3));
  const times = `(p50 ${ms(baseline.p50)} → ${ms(candidate.p50)} ms)`;
  const summary =
    verdict === 'faster'
      ? `${speedup.toFixed(2)}× faster than the input ${times}`
      : verdict === 'slower'
        ? `SLOWER than the input: ${(1 / speedup).toFixed(2)}× the input's latency ${times}`
        : `no measurable speed-up over the input (${speedup.toFixed(2)}×, within ${Math.round(margin * 100)}% noise) ${times}`;
  return { baseline, candidate, speedup, speedupMin: baseline.min / candidate.min, roundSpeedups, verdict, summary, machine: machineInfo(threads) };
}

function timing(samples: number[]): Timing {
  const s = [...samples].sort((x, y) => x - y);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return { p50: median(samples), p90: q(0.9), mean: s.reduce((x, y) => x + y, 0) / s.length, min: s[0]!, count: s.length };
}

function median(v: number[]): number {
  const s = [...v].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
