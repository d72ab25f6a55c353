// A simulated production line for monitoring: machines on lines, batches of material that run across
// every machine of a line, and a defect classifier's calls on each part. Faults are injected at known
// times (a machine whose defect rate creeps up, a bad batch, a lighting change on one machine) and
// written as ground truth beside the events, so alerts can be scored. `faults: 'none'` gives a clean
// stream for measuring false alarms. Events use the field names of docs/monitor.md.

import { renameSync, writeFileSync } from 'node:fs';
import { mulberry32, pairedNormal } from '../../util/rng.js';

export interface LineOptions {
  seed: number;
  /** Hours of production (default 24). */
  hours?: number;
  /** Seconds between parts on one machine (default 20). */
  intervalS?: number;
  /** 'all' injects the three faults; 'none' gives a fault-free stream; a fault's kind injects only it. */
  faults?: 'all' | 'none' | InjectedFault['kind'];
  /** Epoch ms of the first part (default 2026-03-02 06:00 UTC). */
  startTs?: number;
}

/** One simulated inspection, in the snake_case field names of an events file. */
export interface LineEvent {
  id: string;
  ts: number;
  line: string;
  machine: string;
  batch: string;
  part_id: string;
  material: string;
  model: string;
  prediction: string;
  defect: boolean;
  score: number;
  latency_ms: number;
  brightness: number;
  contrast: number;
  sharpness: number;
  embedding: number[];
  truth?: string;
}

export interface InjectedFault {
  kind: 'creep' | 'bad-batch' | 'lighting';
  slice: Record<string, string>;
  start_ts: number;
  end_ts: number;
  description: string;
}

export interface LineTruth {
  seed: number;
  start_ts: number;
  end_ts: number;
  machines: string[];
  batches: string[];
  faults: InjectedFault[];
  /** Stretches of time with no fault active anywhere. */
  quiet: { start_ts: number; end_ts: number }[];
}

const LINES: Record<string, string[]> = { L1: ['M1', 'M2', 'M3', 'M4'], L2: ['M5', 'M6', 'M7', 'M8'] };
const HOUR = 3_600_000;
const BASE_DEFECT = 0.03;

interface Batch {
  name: string;
  line: string;
  material: string;
  start: number;
  end: number;
}

function planBatches(u: () => number, start: number, end: number): Batch[] {
  const out: Batch[] = [];
  let k = 1;
  for (const line of Object.keys(LINES)) {
    for (let t = start; t < end; ) {
      const len = (2 + 2 * u()) * HOUR;
      out.push({ name: '', line, material: u() < 0.5 ? 'X' : 'Y', start: t, end: Math.min(end, t + len) });
      t += len;
    }
  }
  out.sort((a, b) => a.start - b.start || a.line.localeCompare(b.line));
  for (const b of out) b.name = `B${String(k++).padStart(2, '0')}`;
  return out;
}

function planFaults(u: () => number, batches: Batch[], start: number, end: number): InjectedFault[] {
  const span = end - start;
  const all = Object.values(LINES).flat();
  const creepM = all[Math.floor(u() * all.length)]!;
  const creepLine = Object.keys(LINES).find((l) => LINES[l]!.includes(creepM))!;
  const otherLine = creepLine === 'L1' ? 'L2' : 'L1';
  let lightM = creepM;
  while (lightM === creepM) lightM = all[Math.floor(u() * all.length)]!;
  const creepAt = start + span * (0.45 + 0.2 * u());
  const lightAt = start + span * (0.35 + 0.3 * u());
  const candidates = batches.filter(
    (b) => b.line === otherLine && b.start >= start + span * 0.35 && b.end <= start + span * 0.95 && b.end - b.start >= 1.5 * HOUR,
  );
  const bad = candidates[Math.floor(u() * candidates.length)] ?? batches.find((b) => b.line === otherLine && b.start > start + span * 0.3)!;
  return [
    { kind: 'creep', slice: { machine: creepM }, start_ts: Math.round(creepAt), end_ts: end, description: `${creepM}'s defect rate rises by 2 points an hour` },
    {
      kind: 'bad-batch',
      slice: { batch: bad.name },
      start_ts: Math.round(bad.start),
      end_ts: Math.round(bad.end),
      description: `batch ${bad.name} (line ${bad.line}) has 4x the defects on every machine`,
    },
    {
      kind: 'lighting',
      slice: { machine: lightM },
      start_ts: Math.round(lightAt),
      end_ts: end,
      description: `${lightM}'s lighting changes: brightness +0.10, contrast x0.75, the model less sure`,
    },
  ];
}

function quietStretches(faults: InjectedFault[], start: number, end: number): { start_ts: number; end_ts: number }[] {
  const out: { start_ts: number; end_ts: number }[] = [];
  let t = start;
  for (const f of [...faults].sort((a, b) => a.start_ts - b.start_ts)) {
    if (f.start_ts > t) out.push({ start_ts: t, end_ts: f.start_ts });
    t = Math.max(t, f.end_ts);
  }
  if (t < end) out.push({ start_ts: t, end_ts: end });
  return out;
}

/** The events of one simulated day (or `hours`), in time order, and the faults injected into them. */
export function simulateLine(o: LineOptions): { events: LineEvent[]; truth: LineTruth } {
  const u = mulberry32(o.seed * 7919 + 17);
  const z = pairedNormal(u);
  const start = o.startTs ?? Date.UTC(2026, 2, 2, 6, 0, 0);
  const end = start + (o.hours ?? 24) * HOUR;
  const interval = (o.intervalS ?? 20) * 1000;
  const batches = planBatches(u, start, end);
  const planned = planFaults(u, batches, start, end);
  const faults = o.faults === 'none' ? [] : planned.filter((f) => (o.faults ?? 'all') === 'all' || f.kind === o.faults);
  const creep = faults.find((f) => f.kind === 'creep');
  const badBatch = faults.find((f) => f.kind === 'bad-batch');
  const light = faults.find((f) => f.kind === 'lighting');
  const events: LineEvent[] = [];
  let part = 0;
  for (const [line, machines] of Object.entries(LINES)) {
    for (const m of machines) {
      const offset = 0.01 * z();
      for (let t = start + u() * interval; t < end; t += interval * (0.8 + 0.4 * u())) {
        const b = batches.find((x) => x.line === line && t >= x.start && t < x.end)!;
        let p = BASE_DEFECT;
        if (creep && m === creep.slice.machine && t >= creep.start_ts) p += (0.02 * (t - creep.start_ts)) / HOUR;
        if (badBatch && b.name === badBatch.slice.batch) p *= 4;
        const lit = !!light && m === light.slice.machine && t >= light.start_ts;
        const defective = u() < Math.min(p, 0.6);
        const truth = defective ? (u() < 0.6 ? 'scratch' : 'dent') : 'ok';
        // Calibrated by construction: the call is right with probability equal to its confidence.
        const score = lit ? 1 - 0.4 * u() ** 1.5 : 1 - 0.1 * u() ** 2;
        const right = u() < score;
        const wrong = ['ok', 'scratch', 'dent'].filter((c) => c !== truth);
        const prediction = right ? truth : truth === 'ok' ? wrong[u() < 0.6 ? 0 : 1]! : u() < 0.8 ? 'ok' : wrong[1]!;
        const e: LineEvent = {
          id: `s${o.seed}-${part}`,
          ts: Math.round(t),
          line,
          machine: m,
          batch: b.name,
          part_id: `P${o.seed}-${part++}`,
          material: b.material,
          model: 'parts-cnn@3',
          prediction,
          defect: prediction !== 'ok',
          score: round(score, 4),
          latency_ms: round(3.5 + 1.5 * Math.abs(z()), 3),
          brightness: round(0.55 + offset + (lit ? 0.1 : 0) + 0.03 * z(), 4),
          contrast: round((0.22 + 0.02 * z()) * (lit ? 0.75 : 1), 4),
          sharpness: round(120 + 15 * z(), 2),
          embedding: [round(z() + (lit ? 0.8 : 0), 3), round(z(), 3)],
        };
        if (u() < 0.2) e.truth = truth;
        events.push(e);
      }
    }
  }
  events.sort((a, b) => a.ts - b.ts);
  const truth: LineTruth = {
    seed: o.seed,
    start_ts: start,
    end_ts: end,
    machines: Object.values(LINES).flat(),
    batches: batches.map((b) => b.name),
    faults,
    quiet: quietStretches(faults, start, end),
  };
  return { events, truth };
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** The ground-truth file beside an events file: events.jsonl → events.faults.json. */
export function faultsPath(out: string): string {
  return out.replace(/(\.jsonl|\.ndjson|\.json)?$/i, '.faults.json');
}

/** Writes the events (JSONL) and the faults beside them; each file appears whole or not at all. */
export function writeLineStream(out: string, o: LineOptions): { events: number; faultsFile: string; truth: LineTruth } {
  const { events, truth } = simulateLine(o);
  const tmp = `${out}.tmp-${process.pid}`;
  writeFileSync(tmp, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  const ff = faultsPath(out);
  writeFileSync(`${ff}.tmp-${process.pid}`, JSON.stringify(truth, null, 2) + '\n');
  renameSync(`${ff}.tmp-${process.pid}`, ff);
  renameSync(tmp, out);
  return { events: events.length, faultsFile: ff, truth };
}
