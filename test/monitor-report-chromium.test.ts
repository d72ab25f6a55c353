// The monitor dashboard in real headless Chromium (Debian's /usr/bin/chromium via playwright-core): it
// renders with no console errors and no network requests, and holds a chart for every machine and
// every batch, the drift plots and the alerts. Without Chromium the test skips and says why.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { simulateLine } from '../src/data/generators/line.js';
import { runCli } from '../src/cli/test-cli.js';
import { appendEvents } from '../src/monitor/append-events.js';
import { withDb } from '../src/monitor/db.js';
import { toInspectionEvent } from './monitor-helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing: run scripts/ensure-chromium.sh (apt-get install chromium) to enable this test`;

test('monitor.html renders in headless Chromium with every machine and batch chart', { skip, timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-monitor-report-'));
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const { events, truth } = simulateLine({ seed: 4, hours: 24, intervalS: 40 });
    // A machine name that must be escaped, not run.
    for (const e of events) if (e.machine === 'M8') e.machine = 'M8<script>alert(1)</script>';
    const db = join(dir, 'line.duckdb');
    await withDb(db, (d) => appendEvents(d.conn, events.map(toInspectionEvent)));
    const html = join(dir, 'monitor.html');
    const r = await runCli(['monitor', 'report', '--db', db, '-o', html]);
    assert.equal(r.code, 0, r.stderr);
    const text = readFileSync(html, 'utf8');
    assert.ok(!/<script|https?:\/\//i.test(text.replace(/xmlns="http:\/\/www\.w3\.org\/2000\/svg"/g, '')), 'no scripts and no network references');

    const page = await browser.newPage();
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('request', (q) => {
      if (!q.url().startsWith('file:')) requests.push(q.url());
    });
    page.on('dialog', (d) => {
      problems.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    await page.goto(pathToFileURL(html).href, { waitUntil: 'load' });
    assert.deepEqual(problems, []);
    assert.deepEqual(requests, []);

    const machines = [...new Set(events.map((e) => e.machine))].sort();
    const charts = await page.$$eval('#machines svg.chart', (s) => s.map((x) => x.id));
    assert.deepEqual(
      charts,
      machines.map((m) => `chart-machine-${m}`),
    );
    const batches = await page.$$eval('#batches svg.chart', (s) => s.length);
    assert.equal(batches, truth.batches.length);
    // Each machine chart draws its series with a point per bucket, in a box of real size.
    const drawn = await page.$$eval('#machines svg.chart', (s) =>
      s.map((x) => [x.querySelector('polyline.series')?.getAttribute('points')?.split(' ').length ?? 0, x.getBoundingClientRect().width]),
    );
    assert.ok(
      drawn.every(([pts, w]) => pts! >= 40 && w! > 300),
      JSON.stringify(drawn),
    );
    assert.equal(await page.$$eval('#drift svg.chart', (s) => s.length), machines.length);
    // The injected faults show: the bad batch and the creeping machine are named in the alert table.
    const alerts = await page.$$eval('#alerts tr', (t) => t.map((x) => x.textContent ?? ''));
    for (const f of truth.faults.filter((x) => x.kind !== 'lighting')) {
      const [dim, value] = Object.entries(f.slice)[0]!;
      assert.ok(
        alerts.some((a) => a.startsWith('attribution') && a.includes(`${dim} ${value}`)),
        `${dim} ${value} in ${alerts.join('\n')}`,
      );
    }
    assert.ok((await page.$$eval('circle.alarm', (c) => c.length)) > 0, 'alarms are marked');
    assert.equal((await page.$$eval('#slices tr', (t) => t.length)) > machines.length + truth.batches.length, true);
    await page.screenshot({ path: join(dir, 'monitor.png'), fullPage: true });
    if (process.env.EDGEFIT_KEEP_SCREENSHOT) writeFileSync(process.env.EDGEFIT_KEEP_SCREENSHOT, readFileSync(join(dir, 'monitor.png')));
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
