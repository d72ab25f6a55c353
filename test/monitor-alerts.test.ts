// The whole path through the CLI: `data make line` → `monitor ingest` → `monitor alerts --json`. Every
// alert carries the documented fields; the injected faults are found and named by slice; the rule
// set and its false-alarm rate are printed.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runCli } from '../src/cli/test-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'edgefit-monitor-alerts-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('data make line, ingest, alerts: the faults are named by slice and time, with the documented fields', async () => {
  const events = join(dir, 'events.jsonl');
  const made = await runCli(['data', 'make', 'line', '--out', events, '--seed', '6', '--option', 'hours=24']);
  assert.equal(made.code, 0, made.stderr);
  const truth = JSON.parse(readFileSync(join(dir, 'events.faults.json'), 'utf8'));
  assert.equal(truth.faults.length, 3);
  const db = join(dir, 'line.duckdb');
  assert.equal((await runCli(['monitor', 'ingest', events, '--db', db])).code, 0);

  const r = await runCli(['monitor', 'alerts', '--db', db, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.schema, 'edgefit.monitor.alerts/1');
  assert.equal(out.rule_set.set, 'we1');
  assert.ok(Math.abs(out.rule_set.falseAlarmRate - 0.0027) < 0.0004);
  for (const a of out.alerts) {
    for (const k of ['kind', 'slice', 'start_ts', 'detected_ts', 'statistic', 'value', 'limit', 'rule', 'message'])
      assert.ok(k in a, `${k} in ${JSON.stringify(a)}`);
    assert.equal(typeof a.start_ts, 'number');
    assert.ok(a.detected_ts >= a.start_ts);
  }
  const named = (kind: string, slice: Record<string, string>) =>
    out.alerts.filter(
      (a: { kind: string; slice: Record<string, string>; explained_by?: unknown }) =>
        a.kind === kind && JSON.stringify(a.slice) === JSON.stringify(slice) && !a.explained_by,
    );
  for (const f of truth.faults) {
    if (f.kind === 'lighting') {
      assert.ok(named('input-drift', f.slice).length >= 1, `lighting on ${JSON.stringify(f.slice)}`);
      const first = Math.min(...named('input-drift', f.slice).map((a: { start_ts: number }) => a.start_ts));
      assert.ok(Math.abs(first - f.start_ts) <= 30 * 60_000, 'dated to within a bucket');
    } else assert.equal(named('attribution', f.slice).length, 1, `${f.kind} on ${JSON.stringify(f.slice)}`);
  }
  // No attribution that is not one of the injected faults' slices.
  const faultSlices = truth.faults.map((f: { slice: unknown }) => JSON.stringify(f.slice));
  for (const a of out.alerts.filter((x: { kind: string }) => x.kind === 'attribution'))
    assert.ok(faultSlices.includes(JSON.stringify(a.slice)), JSON.stringify(a));

  // --since/--until as ISO times cut the range; a relative --since far after the simulated day finds nothing.
  const last = out.range;
  const cut = await runCli([
    'monitor',
    'alerts',
    '--db',
    db,
    '--json',
    '--since',
    new Date(last.min + 3_600_000).toISOString(),
    '--until',
    String(last.max - 3_600_000),
  ]);
  assert.equal(cut.code, 0, cut.stderr);
  const cr = JSON.parse(cut.stdout).range;
  assert.ok(cr.min >= last.min + 3_600_000 && cr.max < last.max - 3_600_000 && cr.events < out.range.events);
  const recent = await runCli(['monitor', 'alerts', '--db', db, '--since', '2h']);
  assert.equal(recent.code, 1);
  assert.match(recent.stderr, /no events in .* since /);

  const text = await runCli(['monitor', 'alerts', '--db', db]);
  assert.match(text.stdout, /run rules WE1: in-control false alarms 0\.27% per chart point \(ARL 3[67]\d\)/);
  assert.match(text.stdout, /^attribution/m);
});

test('alerts on a missing store, or with a bad flag, say what to do', async () => {
  const r = await runCli(['monitor', 'alerts', '--db', join(dir, 'nope.duckdb')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no event store at .*nope\.duckdb/);
  assert.match(r.stderr, /hint: ingest events first/);
  const b = await runCli(['monitor', 'alerts', '--db', join(dir, 'x.duckdb'), '--since', 'last tuesday']);
  assert.equal(b.code, 2);
  assert.match(b.stderr, /--since expects an ISO-8601 time, epoch milliseconds or a time ago like 30m, 2h, 3d/);
  const u = await runCli(['monitor', 'alerts', '--db', join(dir, 'x.duckdb'), '--until', '2 hours']);
  assert.equal(u.code, 2);
  assert.match(u.stderr, /--until expects/);
  const order = await runCli(['monitor', 'alerts', '--db', join(dir, 'x.duckdb'), '--since', '1h', '--until', '2h']);
  assert.equal(order.code, 2);
  assert.match(order.stderr, /--until .* must be after --since/);
  const c = await runCli(['monitor', 'frobnicate']);
  assert.equal(c.code, 2);
});
