// Line monitoring benchmark: (1) ingest of ≥1M events from a JSONL file (events/s, DB size), with a
// kill -9 midway and a rerun (nothing half-stored, no duplicate); serve's append path (EventStore,
// batches of 100: latency per append); (2) the full alert computation over a 10M-event store made in
// SQL, its pre-aggregates rolled up as ingest does (rollup time), then the alerts (latency p50/max; one
// raw-only run beside them with EF_MON_QUERY_RAW=1); (3) detection over seeded simulator streams: per injected fault the share
// found and the delay (time and events), and false alarms per 10,000 events on fault-free streams.
// Writes bench/results/monitor.json.
//   npm run bench -- monitor      (EF_MON_INGEST_N, EF_MON_QUERY_N, EF_MON_SEEDS for smaller runs;
//   EF_MON_PARTS=query (or ingest,query,detection) runs only those parts)

import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { machineInfo, machineLine } from '../src/bench/machine.js';
import { table, writeBenchFile } from '../src/bench/results.js';
import { simulateLine, type LineTruth } from '../src/data/generators/line.js';
import type { Alert } from '../src/monitor/alert.js';
import { analyze } from '../src/monitor/analyze.js';
import { appendEvents } from '../src/monitor/append-events.js';
import { queryRows, withDb } from '../src/monitor/db.js';
import { EventStore } from '../src/monitor/event-store.js';
import { EventWriter } from '../src/monitor/event-writer.js';
import { rollUp } from '../src/monitor/rollup.js';
import { ingestFile } from '../src/monitor/ingest.js';
import { toInspectionEvent } from '../test/monitor-helpers.js';

const INGEST_N = Number(process.env.EF_MON_INGEST_N ?? 1_000_000);
const QUERY_N = Number(process.env.EF_MON_QUERY_N ?? 10_000_000);
const SEEDS = Number(process.env.EF_MON_SEEDS ?? 20);
const PARTS = new Set((process.env.EF_MON_PARTS ?? 'ingest,query,detection').split(','));
const QUERY_RAW = process.env.EF_MON_QUERY_RAW === '1';
const dir = mkdtempSync(join(tmpdir(), 'ef-bench-monitor-'));
const size = (p: string) => [p, `${p}.wal`].reduce((s, f) => s + (statSync(f, { throwIfNoEntry: false })?.size ?? 0), 0);
const q = (xs: number[], f: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(f * (s.length - 1) + 0.5))]! : NaN;
};
const count = async (db: string) =>
  withDb(db, async (d) => (await queryRows(d.conn, 'SELECT count(*) AS n, count(DISTINCT id) AS d FROM events'))[0] as { n: number; d: number });

async function writeEventsFile(path: string, n: number): Promise<number> {
  const out = createWriteStream(path);
  let written = 0;
  for (let day = 0; written < n; day++) {
    const { events } = simulateLine({ seed: 10_000 + day, startTs: Date.UTC(2026, 0, 1) + day * 86_400_000 });
    for (const e of events) {
      if (written >= n) break;
      if (!out.write(JSON.stringify(e) + '\n')) await new Promise<void>((r) => out.once('drain', () => r()));
      written++;
    }
  }
  await new Promise((r) => out.end(r));
  return written;
}

function child(args: string[]): { out: () => string; kill: () => void; exited: Promise<number | null> } {
  const p = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '..', 'test', 'monitor-writer-child.ts'), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  p.stdout.on('data', (d) => (out += d));
  return { out: () => out, kill: () => p.kill('SIGKILL'), exited: new Promise((r) => p.on('exit', r)) };
}

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 20));
}

async function ingestBench() {
  const file = join(dir, 'events.jsonl');
  const n = await writeEventsFile(file, INGEST_N);
  const db = join(dir, 'ingest.duckdb');
  // kill -9 an ingest midway: all or nothing of the file may be stored.
  const c = child(['ingest', db, file]);
  await until(() => c.out().includes('start'));
  await new Promise((r) => setTimeout(r, 3000));
  c.kill();
  await c.exited;
  const afterKill = (await count(db)).n;
  const t0 = performance.now();
  const r = await ingestFile(file, db);
  const s = (performance.now() - t0) / 1000;
  const after = await count(db);
  const t1 = performance.now();
  const again = await ingestFile(file, db);
  const s2 = (performance.now() - t1) / 1000;
  const afterRerun = await count(db);
  const dbBytes = size(db);
  // serve's path: EventStore.append, batches of 100, into the store that now holds the file.
  const store = new EventStore(db);
  const lat: number[] = [];
  for (let b = 0; b < 200; b++) {
    const t = performance.now();
    await store.append(
      Array.from({ length: 100 }, (_, i) => ({
        id: `serve-${b}-${i}`,
        ts: Date.UTC(2026, 2, 1) + b * 1000 + i,
        machine: 'M1',
        defect: i % 17 === 0,
        score: 0.9,
      })),
    );
    lat.push(performance.now() - t);
  }
  await store.close();
  // serve's path now: EventWriter.append (queued, flushed in the background), batches of 100 without
  // waiting for the flush; the time the caller spends in append, and the background flushes.
  const flushes: number[] = [];
  const writer = new EventWriter(db, { onFlush: (f) => flushes.push(f.ms) });
  const enq: number[] = [];
  const tw = performance.now();
  for (let b = 0; b < 200; b++) {
    const events = Array.from({ length: 100 }, (_, i) => ({
      id: `writer-${b}-${i}`,
      ts: Date.UTC(2026, 2, 2) + b * 1000 + i,
      machine: 'M1',
      defect: i % 17 === 0,
      score: 0.9,
    }));
    const t = performance.now();
    void writer.append(events);
    enq.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, 5));
  }
  await writer.close();
  const writerWallS = (performance.now() - tw) / 1000;
  // kill -9 a serve-like writer: every acknowledged event must be there.
  const kdb = join(dir, 'kill.duckdb');
  const k = child(['sink', kdb, 'k']);
  await until(() => (k.out().match(/ack/g) ?? []).length >= 10);
  k.kill();
  await k.exited;
  const acked = Math.max(...[...k.out().matchAll(/ack (\d+)/g)].map((m) => Number(m[1])));
  const stored = (await count(kdb)).n;
  return {
    events: n,
    fileBytes: statSync(file).size,
    killedMidway: { storedAfterKill: afterKill, allOrNothing: afterKill === 0 || afterKill === n },
    ingest: { seconds: s, eventsPerSecond: r.inserted / s, inserted: r.inserted, rows: after.n, dbBytes, bytesPerEvent: dbBytes / after.n },
    rerun: { seconds: s2, inserted: again.inserted, duplicates: again.duplicates, rowsAfter: afterRerun.n, distinctIds: afterRerun.d },
    serveAppend100: { p50ms: q(lat, 0.5), p99ms: q(lat, 0.99), max: Math.max(...lat), eventsPerSecond: 100 / (q(lat, 0.5) / 1000) },
    writerAppend100: {
      callerP50ms: q(enq, 0.5),
      callerP99ms: q(enq, 0.99),
      flushes: flushes.length,
      flushP50ms: q(flushes, 0.5),
      flushMaxMs: Math.max(...flushes),
      dropped: writer.stats().dropped,
      wallSeconds: writerWallS,
    },
    killDuringAppend: { acknowledged: acked, stored, lost: Math.max(0, acked - stored) },
  };
}

async function queryBench() {
  const db = join(dir, 'query.duckdb');
  const t0 = performance.now();
  await withDb(db, async ({ conn }) => {
    // Thirty days of 8 machines; 50 batches that each run on every machine; values from hashes of i.
    await conn.run(`INSERT INTO events SELECT 'g' || i, ${Date.UTC(2026, 0, 1)} + i * 259,
        'L' || (i % 8 // 4 + 1), 'M' || (i % 8 + 1), 'B' || (i // ${Math.ceil(QUERY_N / 50)}), 'P' || i, CASE WHEN (i // ${Math.ceil(QUERY_N / 50)}) % 2 = 0 THEN 'X' ELSE 'Y' END,
        'parts-cnn@3', CASE WHEN u1 < 0.06 THEN 'scratch' ELSE 'ok' END, u1 < 0.06, 0.9 + 0.1 * u2, 4.0 + u3,
        0.5 + 0.1 * u3, 0.2 + 0.05 * u4, 100 + 40 * u2, [u4, u1], CASE WHEN u2 < 0.2 THEN CASE WHEN u1 < 0.06 THEN 'scratch' ELSE 'ok' END END
      FROM (SELECT i, (hash(i) % 1000003) / 1000003.0 AS u1, (hash(i * 7 + 1) % 1000003) / 1000003.0 AS u2,
                   (hash(i * 13 + 5) % 1000003) / 1000003.0 AS u3, (hash(i * 31 + 9) % 1000003) / 1000003.0 AS u4
            FROM range(${QUERY_N}) t(i))`);
  });
  const buildS = (performance.now() - t0) / 1000;
  // What ingest does after its insert: roll the pre-aggregates up to one slot behind the newest event.
  const t1 = performance.now();
  await withDb(db, async ({ conn }) => {
    const r = (await queryRows(conn, 'SELECT min(ts) AS a, max(ts) AS b FROM events'))[0]!;
    await conn.run('BEGIN TRANSACTION');
    await rollUp(conn, Number(r.a), Number(r.b));
    await conn.run('COMMIT');
  });
  const rollupS = (performance.now() - t1) / 1000;
  const aggRows = await withDb(
    db,
    async ({ conn }) =>
      (
        await queryRows(
          conn,
          'SELECT (SELECT count(*) FROM agg_cells) AS cells, (SELECT count(*) FROM agg_hist) AS hist, (SELECT count(*) FROM agg_class) AS class, (SELECT count(*) FROM agg_truth) AS truth',
        )
      )[0],
  );
  // No separate warm-up: the file was just written, so it is in the page cache; the 3 runs show any drift.
  const times: number[] = [];
  let alerts = 0;
  for (let k = 0; k < 3; k++) {
    const t = performance.now();
    const a = await analyze(db);
    times.push((performance.now() - t) / 1000);
    alerts = a.alerts.length;
  }
  let raw: { seconds: number; alerts: number } | undefined;
  if (QUERY_RAW) {
    const t = performance.now();
    const a = await analyze(db, { aggregates: false });
    raw = { seconds: (performance.now() - t) / 1000, alerts: a.alerts.length };
  }
  return {
    events: QUERY_N,
    buildSeconds: buildS,
    rollupSeconds: rollupS,
    aggRows,
    dbBytes: size(db),
    alertsSeconds: { p50: q(times, 0.5), max: Math.max(...times), runs: times },
    alerts,
    ...(raw ? { rawOnly: raw } : {}),
    loadAverageAfter: (await import('node:os')).loadavg(),
  };
}

interface FaultOutcome {
  kind: string;
  detected: boolean;
  delayMin?: number;
  delayEvents?: number;
}

function matchFault(truth: LineTruth, alerts: Alert[], events: { ts: number; machine: string; batch: string }[]): FaultOutcome[] {
  return truth.faults.map((f) => {
    const [dim, value] = Object.entries(f.slice)[0]!;
    const kinds = f.kind === 'lighting' ? ['input-drift'] : ['attribution'];
    const hits = alerts.filter((a) => kinds.includes(a.kind) && a.slice[dim] === value && !a.explained_by && a.detected_ts >= f.start_ts - 30 * 60_000);
    if (!hits.length) return { kind: f.kind, detected: false };
    const at = Math.min(...hits.map((a) => a.detected_ts));
    const inSlice = events.filter((e) => (dim === 'machine' ? e.machine : e.batch) === value && e.ts >= f.start_ts && e.ts < at).length;
    return { kind: f.kind, detected: true, delayMin: Math.max(0, at - f.start_ts) / 60_000, delayEvents: inSlice };
  });
}

async function detectionBench() {
  const outcomes: FaultOutcome[] = [];
  const falseBlame: number[] = [];
  const clean = { events: 0, primary: 0, chartAlarms: 0, attributions: 0, perStream: [] as number[] };
  for (let s = 1; s <= SEEDS; s++) {
    for (const faults of ['all', 'none'] as const) {
      const seed = faults === 'all' ? s : 1000 + s;
      const { events, truth } = simulateLine({ seed, faults });
      const db = join(dir, `det-${seed}.duckdb`);
      await withDb(db, (d) => appendEvents(d.conn, events.map(toInspectionEvent)));
      const a = await analyze(db);
      rmSync(db, { force: true });
      rmSync(`${db}.wal`, { force: true });
      if (faults === 'all') {
        outcomes.push(...matchFault(truth, a.alerts, events));
        const faultSlices = truth.faults.map((f) => JSON.stringify(f.slice));
        falseBlame.push(a.alerts.filter((x) => x.kind === 'attribution' && !faultSlices.includes(JSON.stringify(x.slice))).length);
      } else {
        const primary = a.alerts.filter((x) => !x.explained_by);
        clean.events += events.length;
        clean.primary += primary.length;
        clean.chartAlarms += a.alerts.filter((x) => x.kind === 'defect-rate' || x.kind === 'confidence').length;
        clean.attributions += a.alerts.filter((x) => x.kind === 'attribution').length;
        clean.perStream.push(primary.length);
      }
    }
    process.stdout.write(`  seed ${s}/${SEEDS} done\n`);
  }
  const perFault = ['creep', 'bad-batch', 'lighting'].map((kind) => {
    const o = outcomes.filter((x) => x.kind === kind);
    const d = o.filter((x) => x.detected);
    return {
      kind,
      streams: o.length,
      detected: d.length,
      share: d.length / o.length,
      delayMinutes: {
        p50: q(
          d.map((x) => x.delayMin!),
          0.5,
        ),
        p90: q(
          d.map((x) => x.delayMin!),
          0.9,
        ),
      },
      delayEventsInSlice: {
        p50: q(
          d.map((x) => x.delayEvents!),
          0.5,
        ),
        p90: q(
          d.map((x) => x.delayEvents!),
          0.9,
        ),
      },
    };
  });
  return {
    seeds: SEEDS,
    perFault,
    falseBlameOnFaultyStreams: { total: falseBlame.reduce((a, b) => a + b, 0), streams: SEEDS },
    faultFree: {
      streams: SEEDS,
      events: clean.events,
      alertsPer10k: (clean.primary / clean.events) * 1e4,
      attributionsPer10k: (clean.attributions / clean.events) * 1e4,
      chartAlarmsPer10k: (clean.chartAlarms / clean.events) * 1e4,
      alertsPerStream: clean.perStream,
    },
  };
}

try {
  console.log(machineLine(machineInfo(1)));
  const ingest = PARTS.has('ingest') ? await ingestPart() : undefined;
  const query = PARTS.has('query') ? await queryPart() : undefined;
  const detection = PARTS.has('detection') ? await detectionPart() : undefined;
  // A run of some parts only is written beside the full one, named for its parts and sizes.
  const all = PARTS.has('ingest') && PARTS.has('query') && PARTS.has('detection');
  const name = all ? 'monitor' : `monitor-${[...PARTS].sort().join('-')}${PARTS.has('query') ? `-${QUERY_N}` : ''}`;
  const path = writeBenchFile(name, 1, { ...(ingest ? { ingest } : {}), ...(query ? { query } : {}), ...(detection ? { detection } : {}) });
  console.log(`wrote ${path}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

async function ingestPart() {
  console.log(`ingest: ${INGEST_N} events …`);
  const ingest = await ingestBench();
  console.log(
    table(
      ['ingest', 'value'],
      [
        ['events', ingest.events],
        ['events/s', Math.round(ingest.ingest.eventsPerSecond)],
        ['DB bytes/event', Math.round(ingest.ingest.bytesPerEvent)],
        ['DB MB', (ingest.ingest.dbBytes / 1e6).toFixed(1)],
        ['kill -9 midway: stored', `${ingest.killedMidway.storedAfterKill} (all or nothing: ${ingest.killedMidway.allOrNothing})`],
        ['rerun: new / rows / distinct', `${ingest.rerun.inserted} / ${ingest.rerun.rowsAfter} / ${ingest.rerun.distinctIds}`],
        ['serve append(100) p50/p99 ms', `${ingest.serveAppend100.p50ms.toFixed(1)} / ${ingest.serveAppend100.p99ms.toFixed(1)}`],
        ['kill -9 appender: acked / stored', `${ingest.killDuringAppend.acknowledged} / ${ingest.killDuringAppend.stored}`],
        ['EventWriter.append(100) caller p50/p99 ms', `${ingest.writerAppend100.callerP50ms.toFixed(3)} / ${ingest.writerAppend100.callerP99ms.toFixed(3)}`],
        ['EventWriter flushes / p50 ms', `${ingest.writerAppend100.flushes} / ${ingest.writerAppend100.flushP50ms.toFixed(1)}`],
      ],
    ),
  );
  return ingest;
}

async function queryPart() {
  console.log(`query: ${QUERY_N} events …`);
  const query = await queryBench();
  console.log(
    table(
      ['alerts over the store', 'value'],
      [
        ['events', query.events],
        ['p50 s', query.alertsSeconds.p50.toFixed(2)],
        ['max s', query.alertsSeconds.max.toFixed(2)],
        ['DB MB', (query.dbBytes / 1e6).toFixed(0)],
        ['build s (INSERT … SELECT)', query.buildSeconds.toFixed(1)],
        ['rollup s (pre-aggregates)', query.rollupSeconds.toFixed(1)],
        ...(query.rawOnly ? [['raw-only alerts s', query.rawOnly.seconds.toFixed(2)]] : []),
      ],
    ),
  );
  return query;
}

async function detectionPart() {
  console.log(`detection: ${SEEDS} seeded streams with faults and ${SEEDS} without …`);
  const detection = await detectionBench();
  console.log(
    table(
      ['fault', 'detected', 'delay p50 min', 'delay p90 min', 'delay p50 events', 'delay p90 events'],
      detection.perFault.map((f) => [
        f.kind,
        `${f.detected}/${f.streams}`,
        f.delayMinutes.p50.toFixed(0),
        f.delayMinutes.p90.toFixed(0),
        f.delayEventsInSlice.p50,
        f.delayEventsInSlice.p90,
      ]),
    ),
  );
  console.log(
    `fault-free: ${detection.faultFree.alertsPer10k.toFixed(2)} alerts / 10k events (attributions ${detection.faultFree.attributionsPer10k.toFixed(2)}, raw chart alarms ${detection.faultFree.chartAlarmsPer10k.toFixed(2)}); false blame on faulty streams: ${detection.falseBlameOnFaultyStreams.total}`,
  );
  return detection;
}
