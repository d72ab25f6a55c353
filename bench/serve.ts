// `edgefit serve` under open-loop Poisson load: PaddleOCR rec on generated serials images, fp32 as the
// accurate rung and its static int8 variant (from `edgefit quantize`, the search's `int8-chains` form) as the fast one. Measures the
// capacity first, then 50/80/120/200% of it with admission on and with --admission off, deadline 10× the
// fp32 model's measured p50; then the cascade against each model alone; optionally a soak at 80% with
// 1% malformed requests. Writes bench/results/serve.json.
//   npm run bench -- serve          (BENCH_SECONDS per load level, default 20; BENCH_SOAK_SECONDS=600 adds the soak;
//                                    with BENCH_SOAK_ONLY=1 only capacity and the soak run, into bench/results/serve-soak.json;
//                                    BENCH_LEVELS=0.8,2 runs only those levels, no cascade, into bench/results/serve-levels.json;
//                                    BENCH_MODES=on runs only that admission mode;
//                                    BENCH_CASCADE_ONLY=1 runs only the cascade, into bench/results/serve-cascade.json;
//                                    BENCH_FAST=model.onnx serves that model as the fast rung instead;
//                                    BENCH_SERVE_FLAGS="--worker-nice 19" adds those flags to every server;
//                                    BENCH_PIN=0:1 runs the servers on CPU 0 and this load generator on CPU 1 (taskset),
//                                    as a client on another machine would not take the server's CPU time; with
//                                    BENCH_LEVELS, into bench/results/serve-levels-pinned.json)

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import { serialSample } from '../src/data/generators/serials.js';
import { BUILTINS } from '../src/data/builtin.js';
import { bootstrap, stripWhitespace } from '../src/eval/metrics.js';
import { summarize } from '../src/bench/stats.js';
import { machineLine, machineInfo } from '../src/bench/machine.js';
import { table, writeBenchFile } from '../src/bench/results.js';
import { mallocTuningEnv } from '../src/runtime/malloc-tuning.js';
import { serveListening } from '../src/cli/serve-listening.js';
import { ensureRecInt8, REC_FP32, REC_INT8, REC_INT8_FLAGS } from './lib/rec-int8.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const SOAK = Number(process.env.BENCH_SOAK_SECONDS ?? 0);
const SOAK_ONLY = process.env.BENCH_SOAK_ONLY === '1' && SOAK > 0;
const FP32 = REC_FP32;
// The fast rung is the int8 form the search finds fastest (every conv int8, percentile ranges, HardSwish
// on the uint8 codes): scope=compute alone agreed with fp32 on 70% of texts, too few for the cascade.
const INT8 = process.env.BENCH_FAST ?? REC_INT8;
const INT8_FLAGS = REC_INT8_FLAGS;
const CASCADE_ONLY = process.env.BENCH_CASCADE_ONLY === '1';
const LOADS = process.env.BENCH_LEVELS ? process.env.BENCH_LEVELS.split(',').map(Number) : [0.5, 0.8, 1.2, 2.0];
const QUICK = process.env.BENCH_LEVELS !== undefined;
const MODES = (process.env.BENCH_MODES ?? 'on,off').split(',') as ('on' | 'off')[];
const dispatcher = new Agent({ connections: 1024, pipelining: 1 });
const cli = ['--import', 'tsx', 'scripts/edgefit-dev.mjs'];
const EXTRA_FLAGS = (process.env.BENCH_SERVE_FLAGS ?? '').split(/\s+/).filter(Boolean);
/** BENCH_PIN=server:client CPU lists: the servers and this process (every thread) pinned apart. */
const PIN = process.env.BENCH_PIN ? (process.env.BENCH_PIN.split(':') as [string, string]) : undefined;
if (PIN) {
  const r = spawnSync('taskset', ['-a', '-p', '-c', PIN[1], String(process.pid)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`BENCH_PIN: taskset failed: ${r.stderr || r.error}`);
}

const fastRung = () => (process.env.BENCH_FAST ? INT8 : `${INT8}: edgefit quantize --mode static ${INT8_FLAGS.join(' ')}`);

function ensureInt8(): void {
  if (!process.env.BENCH_FAST) ensureRecInt8();
  else if (!existsSync(INT8)) throw new Error(`BENCH_FAST: ${INT8} does not exist`);
}

const images = Array.from({ length: 64 }, (_, i) => serialSample(1000 + i, 7, { difficulty: 1 }).canvas.toBuffer('image/png'));
// the cascade's items: 200 other images, each sent once (its calibration uses the task's validation split)
const cascadeSamples = Array.from({ length: 200 }, (_, i) => serialSample(5000 + i, 7, { difficulty: 1 }));
const cascadeImages = cascadeSamples.map((x) => x.canvas.toBuffer('image/png'));

interface Server {
  url: string;
  pid: number;
  log: () => string;
  stop(): Promise<number | null>;
}

async function serve(models: string[], flags: string[], task = 'serials'): Promise<Server> {
  // started with glibc's malloc tuned, as `serve` relaunches itself, so that this pid is the server's
  const args = [...cli, 'serve', ...models, '--task', task, '--port', '0', ...flags, ...EXTRA_FLAGS];
  const child = spawn(PIN ? 'taskset' : process.execPath, PIN ? ['-c', PIN[0], process.execPath, ...args] : args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...mallocTuningEnv() },
  });
  const { url, log } = await serveListening(child);
  const exited = new Promise<number | null>((r) => child.on('exit', r));
  return { url, pid: child.pid!, log, stop: async () => (child.kill('SIGTERM'), exited) };
}

function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** CPU seconds used so far by the server's main thread and by the whole server process (Linux /proc). */
function serverCpuS(pid: number): { main: number; all: number } {
  const ticks = (path: string) => {
    try {
      // the fields after the command name's closing paren: utime and stime are the 12th and 13th
      const f = readFileSync(path, 'utf8').split(') ')[1]!.split(' ');
      return (Number(f[11]) + Number(f[12])) / 100;
    } catch {
      return NaN;
    }
  };
  return { main: ticks(`/proc/${pid}/task/${pid}/stat`), all: ticks(`/proc/${pid}/stat`) };
}

interface Sample {
  status: number;
  ms: number;
  degraded: boolean;
  model?: string;
  text?: string;
  escalated?: boolean;
  /** The server's own decode time for the image (wait for the decode worker included). */
  decodeMs?: number;
  /** Client send to the server's arrival stamp (both clocks are this machine's), and the server's arrival to its reply. */
  preMs?: number;
  serverMs?: number;
  /** A refusal's stage: on the headers alone, or once the input was read and decoded. */
  shedAt?: string;
  /** The served answer's timing as the server reports it (queue, compute, run, slack, budget, total). */
  timing?: Record<string, number>;
}

const MALFORMED: [string, Buffer][] = [
  ['application/json', Buffer.from('{"inputs": {')],
  ['image/png', images[0]!.subarray(0, 200)],
  ['image/png', Buffer.from('this is not an image')],
];

async function send(url: string, deadlineMs: number, i: number, malformed = false, pool = images): Promise<Sample> {
  const [type, body] = malformed ? MALFORMED[i % MALFORMED.length]! : ['image/png', pool[i % pool.length]!];
  const t0 = performance.now();
  try {
    const r = await request(`${url}/v1/infer`, { method: 'POST', body, dispatcher, headers: { 'content-type': type, 'x-deadline-ms': String(deadlineMs) } });
    const text = await r.body.text();
    const ms = performance.now() - t0;
    const arrival = Number(r.headers['x-server-arrival']);
    const server = Number(r.headers['x-server-ms']);
    const where = Number.isFinite(arrival) && Number.isFinite(server) ? { preMs: arrival - (performance.timeOrigin + t0), serverMs: server } : {};
    const shedAt = r.headers['x-shed-at'];
    if (r.statusCode !== 200) return { status: r.statusCode, ms, degraded: false, ...where, ...(typeof shedAt === 'string' ? { shedAt } : {}) };
    const b = JSON.parse(text) as {
      model: string;
      degraded: boolean;
      result: { text: string };
      cascade?: { escalated: boolean };
      timing: Record<string, number>;
    };
    return {
      status: 200,
      ms,
      ...where,
      timing: b.timing,
      degraded: b.degraded,
      model: b.model,
      text: b.result.text,
      ...(b.cascade ? { escalated: b.cascade.escalated } : {}),
      ...(b.timing.decode_ms !== undefined ? { decodeMs: b.timing.decode_ms } : {}),
    };
  } catch {
    return { status: 0, ms: performance.now() - t0, degraded: false };
  }
}

/** Open loop: Poisson arrivals at `rate` per second for `seconds`, never waiting for answers. */
async function openLoop(s: Server, rate: number, seconds: number, deadlineMs: number, malformedShare = 0) {
  const pending: Promise<Sample>[] = [];
  const rss: number[] = [];
  const rssTimer = setInterval(() => rss.push(rssMiB(s.pid)), 500);
  const loop = monitorEventLoopDelay({ resolution: 2 });
  loop.enable();
  await scrapeLoopDelay(s); // resets the server's event-loop histogram
  const cpu0 = { server: serverCpuS(s.pid), client: process.cpuUsage() };
  const start = performance.now();
  let next = start;
  let seed = 12345;
  const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  for (let i = 0; next - start < seconds * 1000; i++) {
    const wait = next - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(send(s.url, deadlineMs, i, rand() < malformedShare));
    next += (-Math.log(rand()) / rate) * 1000;
  }
  const samples = await Promise.all(pending);
  clearInterval(rssTimer);
  loop.disable();
  const ms = (ns: number) => Math.round(Math.max(0, ns / 1e6 - 2) * 100) / 100;
  const clientLoop = { p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max) };
  const elapsedS = (performance.now() - start) / 1000;
  const server = serverCpuS(s.pid);
  const client = process.cpuUsage(cpu0.client);
  // the share of one core each used over the level
  const cores = {
    serverMain: Math.round(((server.main - cpu0.server.main) / elapsedS) * 100) / 100,
    serverAll: Math.round(((server.all - cpu0.server.all) / elapsedS) * 100) / 100,
    client: Math.round(((client.user + client.system) / 1e6 / elapsedS) * 100) / 100,
  };
  return { samples, rss, elapsedS, cores, loopDelayMs: { server: await scrapeLoopDelay(s), client: clientLoop } };
}

/** The server's main-thread event-loop delay since the last scrape (ms; p50, p99, max). */
async function scrapeLoopDelay(s: Server): Promise<Record<string, number>> {
  const r = await request(`${s.url}/metrics`, { dispatcher });
  const text = await r.body.text();
  const out: Record<string, number> = {};
  for (const [k, name] of [
    ['0.5', 'p50'],
    ['0.99', 'p99'],
    ['1', 'max'],
  ] as const) {
    const m = new RegExp(`edgefit_serve_event_loop_delay_seconds\\{quantile="${k.replace('.', '\\.')}"\\} (\\S+)`).exec(text);
    out[name] = m ? Math.round(Number(m[1]) * 1e5) / 100 : NaN;
  }
  return out;
}

function report(samples: Sample[], deadlineMs: number, elapsedS: number) {
  const n = samples.length;
  const ok = samples.filter((x) => x.status === 200);
  const onTime = ok.filter((x) => x.ms <= deadlineMs);
  const shed = samples.filter((x) => x.status === 503);
  const share = (k: number) => Math.round((k / Math.max(1, n)) * 10000) / 10000;
  const e2e = summarize(ok.map((x) => x.ms));
  return {
    sent: n,
    onTime: share(onTime.length),
    late: share(ok.length - onTime.length),
    shed: share(shed.length),
    deadlineMissed: share(samples.filter((x) => x.status === 504).length),
    degraded: share(ok.filter((x) => x.degraded).length),
    otherErrors: share(samples.filter((x) => ![200, 503, 504].includes(x.status)).length),
    onTimePerS: Math.round((onTime.length / elapsedS) * 10) / 10,
    e2eMs: { p50: e2e.p50, p99: e2e.p99 },
    shedMs: { p50: summarize(shed.map((x) => x.ms)).p50, p99: summarize(shed.map((x) => x.ms)).p99 },
    decodeMs: { p50: summarize(ok.flatMap((x) => x.decodeMs ?? [])).p50, p99: summarize(ok.flatMap((x) => x.decodeMs ?? [])).p99 },
    shedWhereMs: where(shed),
    shedStages: Object.fromEntries(
      ['headers', 'input'].map((k) => {
        const at = shed.filter((x) => x.shedAt === k);
        return [k, { share: share(at.length), ms: p50p99(at.map((x) => x.ms)), serverMs: p50p99(at.flatMap((x) => x.serverMs ?? [])) }];
      }),
    ),
    lateWhere: lateWhere(
      ok.filter((x) => x.ms > deadlineMs),
      deadlineMs,
    ),
  };
}

const p50p99 = (v: number[]) => {
  const s = summarize(v);
  return { p50: round2(s.p50), p99: round2(s.p99), max: round2(s.max) };
};
const round2 = (v: number) => (Number.isFinite(v) ? Math.round(v * 100) / 100 : v);

/** Where a response's time went: before the server's arrival stamp, in the server, after its reply (client side). */
function where(list: Sample[]) {
  const timed = list.filter((x) => x.preMs !== undefined && x.serverMs !== undefined);
  return {
    pre: p50p99(timed.map((x) => x.preMs!)),
    server: p50p99(timed.map((x) => x.serverMs!)),
    post: p50p99(timed.map((x) => x.ms - x.preMs! - x.serverMs!)),
  };
}

/**
 * The late answers taken apart: `serverOver` the server's own arrival-to-reply was over the deadline
 * (then: the dispatch-to-reply time against the budget the dispatch rule counted on, and whether the
 * slack at dispatch was already below it); the rest were on time by the server's clock and made late
 * before its arrival stamp or after its reply.
 */
function lateWhere(late: Sample[], deadlineMs: number) {
  const over = late.filter((x) => x.serverMs !== undefined && x.serverMs > deadlineMs && x.timing);
  const t = (x: Sample, k: string) => x.timing?.[k] ?? NaN;
  const afterDispatch = (x: Sample) => x.serverMs! - (deadlineMs - t(x, 'slack_ms'));
  return {
    n: late.length,
    serverOver: over.length,
    overBudget: over.filter((x) => afterDispatch(x) > t(x, 'budget_ms')).length,
    slackBelowBudget: over.filter((x) => t(x, 'slack_ms') < t(x, 'budget_ms')).length,
    ...where(late),
    dispatchToReply: p50p99(over.map(afterDispatch)),
    budget: p50p99(over.map((x) => t(x, 'budget_ms'))),
    compute: p50p99(over.map((x) => t(x, 'compute_ms'))),
    runMinusCompute: p50p99(over.map((x) => t(x, 'run_ms') - t(x, 'compute_ms'))),
    afterRun: p50p99(over.map((x) => afterDispatch(x) - t(x, 'run_ms'))),
    ...(QUICK
      ? {
          samples: late
            .slice(0, 30)
            .map((x) => ({ ms: round2(x.ms), pre: round2(x.preMs ?? NaN), server: round2(x.serverMs ?? NaN), model: x.model, ...x.timing })),
        }
      : {}),
  };
}

async function capacity(s: Server, seconds: number): Promise<number> {
  let served = 0;
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  const loop = async (k: number) => {
    for (let i = k; performance.now() < end; i += 2) if ((await send(s.url, 600_000, i)).status === 200) served++;
  };
  await Promise.all([loop(0), loop(1)]);
  return served / ((performance.now() - t0) / 1000);
}

async function fp32P50(s: Server): Promise<number> {
  const r = await request(`${s.url}/v1/models`, { dispatcher });
  const m = (await r.body.json()) as { models: { service_ms: { p50: number } }[] };
  return m.models[0]!.service_ms.p50;
}

/**
 * Both servers stay up (an idle one costs nothing: spinning is off) and each load level runs on one
 * then the other, order alternating, right after the capacity is measured again: on a shared machine
 * whose speed drifts, the two modes then see the same conditions and the load is relative to now.
 */
async function loadLevels(deadlineMs: number) {
  const servers: Partial<Record<'on' | 'off', Server>> = {};
  for (const mode of MODES) servers[mode] = await serve([FP32, INT8], ['--admission', mode, '--deadline-ms', String(deadlineMs), '--max-queue', '256']);
  const rows = [];
  for (const [k, load] of LOADS.entries()) {
    const cap = await capacity((servers.off ?? servers.on)!, Math.min(5, SECONDS));
    for (const mode of k % 2 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
      if (!MODES.includes(mode)) continue;
      process.stderr.write(`admission ${mode}, ${load * 100}% of capacity (${(cap * load).toFixed(1)}/s of ${cap.toFixed(1)}/s) for ${SECONDS} s…\n`);
      const r = await openLoop(servers[mode]!, cap * load, SECONDS, deadlineMs);
      const rss = r.rss.filter(Number.isFinite);
      rows.push({
        admission: mode,
        load,
        capacityPerS: Math.round(cap * 10) / 10,
        ratePerS: Math.round(cap * load * 10) / 10,
        ...report(r.samples, deadlineMs, r.elapsedS),
        loopDelayMs: r.loopDelayMs,
        cores: r.cores,
        rssMiB: { start: rss[0], max: Math.max(...rss), end: rss.at(-1) },
      });
    }
  }
  await Promise.all(Object.values(servers).map((x) => x.stop()));
  return rows;
}

/**
 * Each model alone and the cascade, on the same images one at a time: agreement with fp32, latency. The
 * servers run side by side and each image goes to each in turn, the order rotated image by
 * image, so a change in the machine's speed falls on every mode alike; latencies are compared per image.
 */
async function cascade() {
  // the same task with texts compared with whitespace removed (its `ignoreWhitespace`): rec's spacing
  // differs between fp32 and int8 far more often than its characters do
  const noWs = join('tmp/serve-bench', 'serials-ignore-ws.json');
  writeFileSync(noWs, JSON.stringify({ ...BUILTINS.serials!.spec, ignoreWhitespace: true }));
  // calibrated by conformal risk control on 200 validation items (the CLI's default), on the rung's least
  // sure character (the default) or its mean score
  const cascadeFlags = ['--cascade-agreement', '0.99', '--cascade-samples', '200'];
  const modes = [
    ['fp32', [FP32], [], 'serials'],
    ['int8', [INT8], [], 'serials'],
    ['cascade', [FP32, INT8], cascadeFlags, 'serials'],
    ['cascade, spaces ignored', [FP32, INT8], cascadeFlags, noWs],
    ['cascade, spaces ignored, mean confidence', [FP32, INT8], [...cascadeFlags, '--cascade-confidence', 'mean'], noWs],
  ] as const;
  // started one after another: each measures its models and calibrates its cascade on a quiet machine
  const servers: Server[] = [];
  for (const [, models, flags, task] of modes) servers.push(await serve([...models], ['--deadline-ms', '60000', ...flags], task));
  const runs: Sample[][] = modes.map(() => []);
  for (let i = 0; i < cascadeImages.length; i++)
    for (let j = 0; j < modes.length; j++) {
      const m = (i + j) % modes.length;
      runs[m]![i] = await send(servers[m]!.url, 60_000, i, false, cascadeImages);
    }
  let calibration = '';
  for (const [m, [name]] of modes.entries()) if (name.startsWith('cascade')) calibration += `${name}: ${/cascade: .*/.exec(servers[m]!.log())?.[0] ?? ''}\n`;
  await Promise.all(servers.map((x) => x.stop()));
  const ref = runs[0]!;
  return {
    calibration,
    order: 'interleaved: the servers side by side, each image sent to each in turn, the order rotated',
    models: Object.fromEntries(modes.map(([name], m) => [name, cascadeFigures(runs[m]!, ref)])),
  };
}

function cascadeFigures(v: Sample[], ref: Sample[]) {
  const n = v.length;
  const diff = v.map((x, i) => x.ms - ref[i]!.ms);
  const meanOf = (idx: Int32Array) => idx.reduce((a, i) => a + diff[i]!, 0) / idx.length;
  return {
    agreementWithFp32: v.filter((x, i) => x.text === ref[i]!.text).length / n,
    agreementIgnoringSpaces: v.filter((x, i) => noSpace(x.text) === noSpace(ref[i]!.text)).length / n,
    // the image's own text, spaces ignored (rec's spacing convention is not the task's)
    exactVsTruth: v.filter((x, i) => noSpace(x.text) === noSpace(cascadeSamples[i]!.text)).length / n,
    meanMs: summarize(v.map((x) => x.ms)).mean,
    p50Ms: summarize(v.map((x) => x.ms)).p50,
    escalated: v.filter((x) => x.escalated).length / n,
    // per image against fp32 on the same image: the mean difference and its 95% bootstrap interval
    vsFp32Ms: { mean: diff.reduce((a, b) => a + b, 0) / n, ci: bootstrap(n, meanOf, { iterations: 2000 }) },
  };
}

const noSpace = (t: string | undefined): string => stripWhitespace(t ?? '');

async function soak(cap: number, deadlineMs: number) {
  const s = await serve([FP32, INT8], ['--deadline-ms', String(deadlineMs), '--max-queue', '256']);
  process.stderr.write(`soak: 80% of capacity, 1% malformed, for ${SOAK} s…\n`);
  const r = await openLoop(s, cap * 0.8, SOAK, deadlineMs, 0.01);
  const code = await s.stop();
  const rss = r.rss.filter(Number.isFinite);
  const tenth = Math.max(1, Math.floor(rss.length / 10));
  const byStatus: Record<string, number> = {};
  for (const x of r.samples) byStatus[x.status] = (byStatus[x.status] ?? 0) + 1;
  return {
    seconds: SOAK,
    ...report(r.samples, deadlineMs, r.elapsedS),
    byStatus,
    exitCode: code,
    rssMiB: { afterWarmup: rss[tenth], max: Math.max(...rss), end: rss.at(-1), growth: (rss.at(-1) ?? NaN) - (rss[tenth] ?? NaN) },
  };
}

ensureInt8();
const load0 = machineInfo(1).loadAverage;
if (CASCADE_ONLY) {
  const r = await cascade();
  console.log(`machine: ${machineLine(machineInfo(1))} (load at start ${load0.join(' ')})`);
  printCascade(r);
  console.log(`wrote ${writeBenchFile('serve-cascade', 1, { fastRung: fastRung(), loadAtStart: load0, cascade: r })}`);
  await dispatcher.close();
  process.exit(0);
}
const probe = await serve([FP32, INT8], ['--admission', 'off', '--deadline-ms', '600000']);
const p50 = await fp32P50(probe);
const cap = await capacity(probe, Math.min(10, SECONDS));
await probe.stop();
const deadlineMs = Math.round(10 * p50 * 10) / 10;
process.stderr.write(`capacity ${cap.toFixed(1)} req/s (fp32, closed loop, 2 in flight); fp32 warm-up p50 ${p50} ms → deadline ${deadlineMs} ms\n`);
if (SOAK_ONLY) {
  const r = await soak(cap, deadlineMs);
  console.log(`machine: ${machineLine(machineInfo(1))} (load at start ${load0.join(' ')})`);
  console.log(
    `capacity ${cap.toFixed(1)} req/s at the start (measured again before each level), deadline ${deadlineMs} ms; soak ${SOAK} s at 80%, 1% malformed: ${JSON.stringify(r)}`,
  );
  console.log(`wrote ${writeBenchFile('serve-soak', 1, { capacityPerS: cap, fp32P50Ms: p50, deadlineMs, loadAtStart: load0, soak: r })}`);
  await dispatcher.close();
  process.exit(0);
}
const levels = await loadLevels(deadlineMs);
const cascadeResult = QUICK ? { calibration: '(BENCH_LEVELS: no cascade)', models: {} } : await cascade();
const soakResult = SOAK > 0 ? await soak(cap, deadlineMs) : undefined;

console.log(`machine: ${machineLine(machineInfo(1))} (load at start ${load0.join(' ')})`);
console.log(
  `capacity ${cap.toFixed(1)} req/s at the start (measured again before each level), deadline ${deadlineMs} ms (10× fp32 p50 ${p50} ms), ${SECONDS} s per level`,
);
console.log(
  table(
    [
      'admission',
      'load',
      'cap/s',
      'req/s',
      'on time',
      'late',
      'shed',
      'dl missed',
      'degraded',
      'on-time/s',
      'e2e p50',
      'e2e p99',
      'shed p99',
      'shed srv p99',
      'loop p99 srv/cli',
      'decode p99',
      'RSS max MiB',
    ],
    levels.map((l) => [
      l.admission,
      `${l.load * 100}%`,
      l.capacityPerS,
      l.ratePerS,
      pct(l.onTime),
      pct(l.late),
      pct(l.shed),
      pct(l.deadlineMissed),
      pct(l.degraded),
      l.onTimePerS,
      ms(l.e2eMs.p50),
      ms(l.e2eMs.p99),
      ms(l.shedMs.p99),
      ms(l.shedWhereMs.server.p99),
      `${ms(l.loopDelayMs.server.p99 ?? NaN)}/${ms(l.loopDelayMs.client.p99)}`,
      ms(l.decodeMs.p99),
      l.rssMiB.max.toFixed(0),
    ]),
  ),
);
printCascade(cascadeResult);
if (soakResult) console.log(`soak ${SOAK} s: ${JSON.stringify(soakResult)}`);
console.log(
  `wrote ${writeBenchFile(QUICK ? `serve-levels${PIN ? '-pinned' : ''}` : `serve${PIN ? '-pinned' : ''}`, 1, { serverFlags: EXTRA_FLAGS, ...(PIN ? { pinned: { serverCpus: PIN[0], clientCpus: PIN[1] } } : {}), fastRung: INT8_FLAGS.join(' '), capacityPerS: cap, fp32P50Ms: p50, deadlineMs, secondsPerLevel: SECONDS, loadAtStart: load0, levels, cascade: cascadeResult, ...(soakResult ? { soak: soakResult } : {}) })}`,
);
await dispatcher.close();

function printCascade(r: {
  calibration: string;
  models: Record<
    string,
    {
      agreementWithFp32: number;
      agreementIgnoringSpaces: number;
      exactVsTruth: number;
      meanMs: number;
      p50Ms: number;
      escalated: number;
      vsFp32Ms?: { mean: number; ci: [number, number] };
    }
  >;
}): void {
  console.log(r.calibration);
  console.log(
    table(
      ['model', 'agreement with fp32', 'ignoring spaces', 'exact vs truth (no spaces)', 'mean ms', 'p50 ms', 'vs fp32, same image (ms, 95% CI)', 'escalated'],
      Object.entries(r.models).map(([k, v]) => [
        k,
        pct(v.agreementWithFp32),
        pct(v.agreementIgnoringSpaces),
        pct(v.exactVsTruth),
        ms(v.meanMs),
        ms(v.p50Ms),
        v.vsFp32Ms ? `${v.vsFp32Ms.mean.toFixed(2)} [${v.vsFp32Ms.ci[0].toFixed(2)}, ${v.vsFp32Ms.ci[1].toFixed(2)}]` : '',
        pct(v.escalated),
      ]),
    ),
  );
}

function pct(v: number): string {
  return `${(v * 100).toFixed(1)}%`;
}
function ms(v: number): string {
  return Number.isFinite(v) ? v.toFixed(1) : '–';
}
