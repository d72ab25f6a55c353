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
import { lineageSummary } from '../src/report/lineage-fixture.js';
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

type Rect = { x: number; y: number; width: number; height: number };
const overlap = (a: Rect, b: Rect) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
function overlaps(rects: Rect[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < rects.length; i++) for (let j = i + 1; j < rects.length; j++) if (overlap(rects[i]!, rects[j]!)) out.push(`${i} and ${j}`);
  return out;
}

test('report.html of a run with chains: the lineage tree, the ladder and the time per stage, visible and clear of each other', {
  skip,
  timeout: 120_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-lineage-'));
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
  try {
    const summary = lineageSummary();
    const file = join(dir, 'report.html');
    writeFileSync(file, renderReport(summary));
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    assert.deepEqual(problems, []);

    // Every candidate is a node of the tree, each under the chain it grew from.
    const nodes = await page.$$eval('#lineage li[data-node]', (lis) =>
      lis.map((li) => {
        const nd = li.querySelector(':scope > .nd')!;
        const r = nd.getBoundingClientRect();
        const parent = li.parentElement?.closest('li[data-node]')?.getAttribute('data-node') ?? null;
        return {
          id: li.getAttribute('data-node')!,
          parent,
          text: nd.textContent ?? '',
          opacity: Number(getComputedStyle(nd).opacity),
          rect: { x: r.x, y: r.y, width: r.width, height: r.height },
        };
      }),
    );
    assert.deepEqual(nodes.map((n) => n.id).sort(), summary.candidates.map((c) => c.id).sort());
    const parentOf = Object.fromEntries(nodes.map((n) => [n.id, n.parent]));
    assert.equal(parentOf.pr, 'base', 'prune 0.25 → recover 60 grew from the source');
    assert.equal(parentOf.prq, 'pr', '… → quantize-static grew from prune 0.25 → recover 60');
    assert.equal(parentOf.prr, 'pr', 'the longer recovery grew from the short one');
    assert.equal(parentOf.qq, 'qs', 'quantize-static → qat 100 grew from quantize-static');
    const byId = Object.fromEntries(nodes.map((n) => [n.id, n]));
    assert.match(byId.pr!.text, /\+ prune-structured 0\.25 → recover 60/);
    assert.match(byId.pr!.text, /p99 \d+\.\d\d \[[\d.]+, [\d.]+\] → \d+\.\d\d \[[\d.]+, [\d.]+\] ms: −\d+\.\d\d ms, [\d.]+× faster/);
    assert.match(byId.pr!.text, /cer 0\.0400 \[0\.0340, 0\.0460\] → 0\.0440 \[0\.0380, 0\.0500\]: \+0\.0040, worse/);
    assert.match(byId.pr!.text, /recover built in 48\.0 s/);
    assert.match(byId.qq!.text, /\+ qat 100[\s\S]*qat built in 1\.6 min \(resumed from step 40\)[\s\S]*chosen/);
    assert.match(byId.prq!.text, /\+ quantize-static /);
    // Failed, dropped and no-change nodes are greyed, with their verdict.
    for (const [id, why] of [
      ['p50', /failed: recover diverged/],
      ['dyn', /dropped: /],
      ['int4', /no-change: /],
    ] as const) {
      assert.ok(byId[id]!.opacity < 1, `${id} is greyed`);
      assert.match(byId[id]!.text, why);
    }
    assert.ok(
      nodes.every((n) => n.rect.width > 0 && n.rect.height > 0),
      'every node is drawn',
    );
    assert.deepEqual(overlaps(nodes.map((n) => n.rect)), [], 'no node box sits on another');

    // The ladder: the Pareto-optimal models, most accurate first, fastest last, each row visible.
    const rungs = await page.$$eval('#ladder tr[data-rung]', (trs) =>
      trs.map((tr) => ({ id: tr.getAttribute('data-rung'), text: tr.textContent ?? '', h: tr.getBoundingClientRect().height })),
    );
    assert.deepEqual(
      rungs.map((r) => r.id),
      ['fp32-ext', 'prr', 'qq', 'prq'],
    );
    assert.ok(rungs.every((r) => r.h > 0));
    assert.match(rungs[2]!.text, /int8 static → qat 100/);

    // The Pareto front over every chain: the chains with training stages are on it, labelled by chain,
    // and no label covers another label or a dot.
    const front = (await page.$$eval('#pareto g.candidate.on-front', (gs) => gs.map((g) => g.getAttribute('data-candidate')))).sort();
    assert.deepEqual(front, ['fp32-ext', 'prq', 'prr', 'qq']);
    const labels = await page.$$eval('#pareto text.ptlabel', (ts) =>
      ts.map((t) => {
        const r = t.getBoundingClientRect();
        return { text: t.textContent ?? '', rect: { x: r.x, y: r.y, width: r.width, height: r.height } };
      }),
    );
    assert.ok(labels.some((l) => l.text === 'quantize-static → qat 100'));
    assert.ok(labels.some((l) => /recover 240$/.test(l.text)));
    assert.deepEqual(overlaps(labels.map((l) => l.rect)), [], 'point labels do not overlap');
    const dots = await page.$$eval('#pareto circle.pt', (cs) =>
      cs.map((c) => {
        const r = c.getBoundingClientRect();
        return { x: r.x, y: r.y, width: r.width, height: r.height };
      }),
    );
    assert.ok(
      labels.every((l) => dots.every((d) => !overlap(l.rect, d))),
      'no label covers a dot',
    );

    // Where the time went.
    const stages = await page.$$eval('#stage-times tr[data-stage]', (trs) => trs.map((tr) => tr.getAttribute('data-stage')));
    assert.deepEqual(stages.slice(0, 2), ['quantize-static', 'prune-structured']);
    assert.ok(stages.includes('recover') && stages.includes('qat') && stages.includes('screening') && stages.includes('full measurement'));
    if (process.env.EF_REPORT_SHOTS) await page.screenshot({ path: join(process.env.EF_REPORT_SHOTS, 'lineage-report.png'), fullPage: true });
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
