// report.html in a real headless Chromium (Debian's /usr/bin/chromium driven by playwright-core): it
// must render with no console errors and no network requests, and its charts must hold every measured
// candidate. Chromium comes from scripts/ensure-chromium.sh; without it the test skips and says why.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeModel } from '../src/onnx/write-model.js';
import { renderReport } from '../src/report/html.js';
import { optimize } from '../src/search/optimize.js';
import { latencyFigures } from '../src/search/stats.js';
import { mulberry32 } from '../src/util/rng.js';
import type { Measurer } from '../src/search/strategy.js';
import type { CandidateConfig, Measurement } from '../src/search/types.js';
import { mlp } from '../src/zoo/index.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing: run scripts/ensure-chromium.sh (apt-get install chromium) to enable this test`;

const TRUTH: Record<string, { ms: number; q: number; fail?: boolean }> = {
  baseline: { ms: 20, q: 0.95 },
  'fp32 opt=extended': { ms: 19, q: 0.95 },
  'int8 dynamic': { ms: 12, q: 0.94 },
  'int8 static': { ms: 7, q: 0.7 },
  'int8 static keep 3 fp32': { ms: 8, q: 0.945 },
  'int4 <script>alert(1)</script>': { ms: 15, q: 0.93 },
  'broken pass': { ms: 1, q: 1, fail: true },
};

const cfg = (label: string): CandidateConfig => ({
  label,
  passes: label === 'baseline' ? [] : [{ name: 'fake', params: { label } }],
  session: { graphOptimizationLevel: 'all', disabledOptimizers: [] },
});

const fake: Measurer = {
  async build(c, out) {
    if (TRUTH[c.label]!.fail) throw new Error('pass fake failed on node Foo');
    writeFileSync(out, c.label);
    return { records: [], sizeBytes: 1e6 + c.label.length * 1000, sha256: createHash('sha256').update(c.label).digest('hex') };
  },
  async measure(_p, c, stage): Promise<Measurement> {
    const t = TRUTH[c.label]!;
    const r = mulberry32(c.label.length);
    const samples = Array.from({ length: 200 }, () => t.ms * (1 + 0.1 * r() + (r() < 0.02 ? 0.5 : 0)));
    const n = 100;
    const k = Math.round(t.q * n);
    return {
      stage,
      latency: latencyFigures(samples),
      quality: {
        primary: { name: 'top1-agreement', value: k / n, ci: [k / n - 0.05, Math.min(1, k / n + 0.04)] },
        metrics: {},
        n,
        perItem: Array.from({ length: n }, (_, i) => (i < k ? 1 : 0)),
        source: 'task',
      },
      measuredAt: new Date().toISOString(),
      wallMs: 1,
    };
  },
};

test('report.html renders in headless Chromium with every candidate in its charts', { skip, timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-report-'));
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const model = join(dir, 'm.onnx');
    writeModel(mlp({ sizes: [8, 4], seed: 1 }), model);
    const { summary, paths } = await optimize({
      model,
      budget: ['p99<=16ms'],
      quality: ['top1-agreement>=-2pt'],
      // the fake measurer's quality stands in for real held-out data
      allowRandom: true,
      timeLimitMs: 60_000,
      out: join(dir, 'run'),
      configs: Object.keys(TRUTH).map(cfg),
      measurer: fake,
      passes: [],
    });
    assert.equal(summary.candidates.find((c) => c.id === summary.chosen)?.config.label, 'int8 static keep 3 fp32');
    // Per-node sensitivity comes from the quant area's analysis in a real run; here it is given.
    const sensitivity = {
      metric: 'cosine agreement with fp32',
      rows: [
        { node: 'conv_0', opType: 'Conv', delta: 0.2 },
        { node: 'matmul_7', opType: 'MatMul', delta: 0.05 },
      ],
    };
    writeFileSync(paths.report, renderReport({ ...summary, sensitivity }));
    const html = readFileSync(paths.report, 'utf8');
    assert.ok(!/<script|https?:\/\//i.test(html.replace(/xmlns="http:\/\/www\.w3\.org\/2000\/svg"/g, '')), 'no scripts and no network references');

    const page = await browser.newPage();
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('request', (r) => {
      if (!r.url().startsWith('file:')) requests.push(r.url());
    });
    page.on('dialog', (d) => {
      problems.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    await page.goto(pathToFileURL(paths.report).href, { waitUntil: 'load' });
    assert.deepEqual(problems, []);
    assert.deepEqual(requests, []);

    const measured = summary.candidates
      .filter((c) => c.status === 'ok')
      .map((c) => c.id)
      .sort();
    const inPareto = (await page.$$eval('#pareto g.candidate', (gs) => gs.map((g) => g.getAttribute('data-candidate')))).sort();
    const inLatency = (await page.$$eval('#latency g.candidate', (gs) => gs.map((g) => g.getAttribute('data-candidate')))).sort();
    assert.deepEqual(inPareto, measured);
    assert.deepEqual(inLatency, measured);
    // The dots are drawn: non-zero boxes inside the chart.
    const boxes = await page.$$eval('#pareto circle.pt', (cs) => cs.map((c) => c.getBoundingClientRect()).map((r) => [r.width, r.height]));
    assert.equal(boxes.length, measured.length);
    assert.ok(boxes.every(([w, h]) => w! > 0 && h! > 0));
    const chart = await page.$eval('#pareto', (s) => s.getBoundingClientRect().width);
    assert.ok(chart > 300);
    // Every candidate in the table, failures and rejections with their reason; the recommendation; sensitivity.
    const rows = await page.$$eval('#candidates tr[data-candidate]', (trs) => trs.map((tr) => tr.textContent ?? ''));
    assert.equal(rows.length, summary.candidates.length);
    assert.ok(rows.some((r) => /failed: pass fake failed on node Foo/.test(r)));
    assert.ok(
      rows.some((r) => /int4 <script>alert\(1\)<\/script>/.test(r)),
      'labels are escaped, shown as text',
    );
    assert.ok(rows.some((r) => /misses top1-agreement>=-2pt/.test(r)));
    const recs = (await page.$$eval('.rec', (ds) => ds.map((d) => d.textContent ?? ''))).join('\n');
    assert.match(recs, /Recommendation: int8 static keep 3 fp32/);
    assert.match(recs, /measured on random inputs/, 'a run without --data says its quality is no evidence');
    assert.match(await page.$eval('#confidence', (p) => p.textContent ?? ''), /faster in \d+(\.\d)?% of bootstrap rounds/);
    assert.equal(await page.$$eval('#sensitivity g.bar', (g) => g.length), 2);
    await page.screenshot({ path: join(dir, 'report.png'), fullPage: true });
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
