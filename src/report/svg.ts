// Small inline-SVG charts for the report: a scatter (Pareto plot), per-candidate latency distributions,
// and horizontal bars (sensitivity). No scripts, no network: plain SVG elements with titles.

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function ticks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-12; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function fmt(v: number): string {
  if (v === 0) return '0';
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(3);
}

export interface ScatterPoint {
  id: string;
  label: string;
  x: number;
  y: number;
  xErr?: [number, number];
  yErr?: [number, number];
  cls: string;
  /** The text beside the dot, when shorter than `label` (which the tooltip shows in full). */
  short?: string;
}

/** Latency (x) against quality (y), with the Pareto front, a budget line and a floor line. */
export function scatter(
  points: ScatterPoint[],
  o: { xLabel: string; yLabel: string; front: string[]; xBudget?: number; yFloor?: number; id: string; labels?: string[]; labelMax?: number },
): string {
  const W = 720;
  const H = 420;
  const m = { l: 64, r: 20, t: 16, b: 48 };
  // The axis covers the points and the budget; error bars past it are cut at the edge.
  const xs = points
    .map((p) => p.x)
    .concat(o.xBudget !== undefined ? [o.xBudget] : [])
    .filter(Number.isFinite);
  const ys = points
    .map((p) => p.y)
    .concat(o.yFloor !== undefined ? [o.yFloor] : [])
    .filter(Number.isFinite);
  let [x0, x1] = [Math.min(0, ...xs), Math.max(...xs, 1e-9) * 1.08];
  // A far outlier (a broken candidate at 100% error) would flatten everyone else: clip the axis to
  // the bulk of the points and pin outliers to the edge, their real value in the tooltip.
  const sortedY = points
    .map((p) => p.y)
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  const qy = (f: number) => sortedY[Math.min(sortedY.length - 1, Math.floor(f * (sortedY.length - 1)))] ?? 0;
  const spread = Math.max(qy(0.9) - qy(0.1), 1e-6);
  const lim: [number, number] = [qy(0.1) - 4 * spread, qy(0.9) + 4 * spread];
  let [y0, y1] = [Math.max(Math.min(...ys), lim[0]), Math.min(Math.max(...ys), lim[1])];
  const pad = (y1 - y0) * 0.1 || 0.05;
  y0 -= pad;
  y1 += pad;
  if (!Number.isFinite(x1)) [x0, x1] = [0, 1];
  if (!Number.isFinite(y0) || !Number.isFinite(y1)) [y0, y1] = [0, 1];
  const X = (v: number) => m.l + ((Math.min(Math.max(v, x0), x1) - x0) / (x1 - x0 || 1)) * (W - m.l - m.r);
  const Y = (v: number) => H - m.b - ((Math.min(Math.max(v, y0), y1) - y0) / (y1 - y0 || 1)) * (H - m.t - m.b);
  const parts: string[] = [];
  parts.push(
    `<svg id="${esc(o.id)}" class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(o.yLabel)} against ${esc(o.xLabel)}" xmlns="http://www.w3.org/2000/svg">`,
  );
  for (const t of ticks(x0, x1))
    parts.push(
      `<line class="grid" x1="${X(t)}" x2="${X(t)}" y1="${m.t}" y2="${H - m.b}"/><text class="tick" x="${X(t)}" y="${H - m.b + 16}" text-anchor="middle">${fmt(t)}</text>`,
    );
  for (const t of ticks(y0, y1))
    parts.push(
      `<line class="grid" x1="${m.l}" x2="${W - m.r}" y1="${Y(t)}" y2="${Y(t)}"/><text class="tick" x="${m.l - 6}" y="${Y(t) + 4}" text-anchor="end">${fmt(t)}</text>`,
    );
  parts.push(`<text class="axis" x="${(m.l + W - m.r) / 2}" y="${H - 10}" text-anchor="middle">${esc(o.xLabel)}</text>`);
  parts.push(`<text class="axis" transform="translate(16 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`);
  if (o.xBudget !== undefined)
    parts.push(
      `<line class="budget" x1="${X(o.xBudget)}" x2="${X(o.xBudget)}" y1="${m.t}" y2="${H - m.b}"><title>latency budget ${fmt(o.xBudget)}</title></line>`,
    );
  if (o.yFloor !== undefined && Number.isFinite(o.yFloor) && o.yFloor >= y0 && o.yFloor <= y1)
    parts.push(`<line class="budget" x1="${m.l}" x2="${W - m.r}" y1="${Y(o.yFloor)}" y2="${Y(o.yFloor)}"><title>quality floor ${fmt(o.yFloor)}</title></line>`);
  const front = o.front.map((id) => points.find((p) => p.id === id)).filter((p): p is ScatterPoint => !!p);
  if (front.length > 1) parts.push(`<polyline class="front" points="${front.map((p) => `${X(p.x)},${Y(p.y)}`).join(' ')}"/>`);
  const labelled = points.filter((p) => o.labels?.includes(p.id));
  const max = o.labelMax ?? 32;
  const texts = labelled.map((p) => {
    const t = p.short ?? p.label;
    return t.length > max ? t.slice(0, max - 1) + '…' : t;
  });
  const placed = placeLabels(
    labelled.map((p, i) => ({ x: X(p.x), y: Y(p.y), w: texts[i]!.length * CHAR_W })),
    { left: m.l, right: W - m.r, top: m.t + 10, bottom: H - m.b },
    // a label may not cover another candidate's dot
    points.map((p) => ({ x0: X(p.x) - 6, x1: X(p.x) + 6, y0: Y(p.y) - 6, y1: Y(p.y) + 6 })),
  );
  for (const p of points) {
    const g: string[] = [];
    if (p.xErr) g.push(`<line class="err" x1="${X(p.xErr[0])}" x2="${X(p.xErr[1])}" y1="${Y(p.y)}" y2="${Y(p.y)}"/>`);
    if (p.yErr) g.push(`<line class="err" x1="${X(p.x)}" x2="${X(p.x)}" y1="${Y(p.yErr[0])}" y2="${Y(p.yErr[1])}"/>`);
    const clipped = p.y < y0 || p.y > y1;
    g.push(`<circle class="pt ${esc(p.cls)}${clipped ? ' clipped' : ''}" cx="${X(p.x)}" cy="${Y(p.y)}" r="6"/>`);
    const li = labelled.indexOf(p);
    if (li >= 0) {
      const at = placed[li]!;
      // a label moved away from its dot gets a leader line back to it
      if (Math.abs(at.y - (Y(p.y) - 8)) > 4)
        g.push(`<line class="err" x1="${X(p.x)}" y1="${Y(p.y)}" x2="${at.anchor === 'start' ? at.x - 2 : at.x + 2}" y2="${at.y - 4}"/>`);
      g.push(`<text class="ptlabel" x="${at.x}" y="${at.y}"${at.anchor === 'end' ? ' text-anchor="end"' : ''}>${esc(texts[li]!)}</text>`);
    }
    parts.push(
      `<g class="candidate${o.front.includes(p.id) ? ' on-front' : ''}" data-candidate="${esc(p.id)}"><title>${esc(p.label)}: ${fmt(p.x)} ms, ${fmt(p.y)}</title>${g.join('')}</g>`,
    );
  }
  parts.push('</svg>');
  return parts.join('\n');
}

/** Width of one label character at the report's 11 px font, for collision checks (a generous average). */
const CHAR_W = 6.2;
const LINE_H = 13;

interface Box {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

export interface PlacedLabel {
  x: number;
  y: number;
  anchor: 'start' | 'end';
}

/**
 * Places point labels so that none overlaps another, nor any of the `obstacles` (the dots): each starts above-right of its dot (left of it
 * when it would run past the right edge) and moves down, then up, a line at a time until it is clear.
 */
export function placeLabels(
  items: { x: number; y: number; w: number }[],
  b: { left: number; right: number; top: number; bottom: number },
  obstacles: readonly Box[] = [],
): PlacedLabel[] {
  const boxes: Box[] = [];
  const out: PlacedLabel[] = new Array(items.length);
  const order = items.map((_, i) => i).sort((i, j) => items[i]!.y - items[j]!.y || items[i]!.x - items[j]!.x);
  for (const i of order) {
    const it = items[i]!;
    const anchor: 'start' | 'end' = it.x + 9 + it.w > b.right ? 'end' : 'start';
    const x = anchor === 'start' ? it.x + 9 : it.x - 9;
    const [x0, x1] = anchor === 'start' ? [x, x + it.w] : [x - it.w, x];
    const hits = (q: Box, y: number) => q.x0 < x1 && x0 < q.x1 && q.y0 < y && y - LINE_H + 3 < q.y1;
    const free = (y: number) => y - LINE_H + 3 >= b.top - 10 && y <= b.bottom && !boxes.some((q) => hits(q, y)) && !obstacles.some((q) => hits(q, y));
    let y = it.y - 8;
    for (let k = 1; !free(y) && k < 40; k++) {
      const down = it.y - 8 + Math.ceil(k / 2) * LINE_H * (k % 2 ? 1 : -1);
      if (free(down)) {
        y = down;
        break;
      }
      if (k === 39) y = it.y - 8;
    }
    boxes.push({ x0, x1, y0: y - LINE_H + 3, y1: y });
    out[i] = { x, y, anchor };
  }
  return out;
}

export interface DistRow {
  id: string;
  label: string;
  samples: number[];
  cls: string;
}

/** One row per candidate: the samples as a strip, with a box from p50 to p99 and ticks at p50/p99/max. */
export function distributions(rows: DistRow[], o: { id: string; budget?: number }): string {
  const W = 720;
  const rowH = 26;
  const m = { l: 200, r: 20, t: 10, b: 36 };
  const H = m.t + m.b + rowH * rows.length;
  const q = (s: number[], p: number) => s[Math.min(s.length - 1, Math.floor(p * (s.length - 1)))] ?? NaN;
  // The axis reaches a little past the slowest p99; rarer outliers are pinned to its edge.
  const p99s = rows
    .map((r) =>
      q(
        [...r.samples].sort((a, b) => a - b),
        0.99,
      ),
    )
    .filter(Number.isFinite);
  const x1 = Math.max(...p99s, o.budget ?? 0, 1e-9) * 1.25;
  const X = (v: number) => m.l + (Math.min(v, x1) / x1) * (W - m.l - m.r);
  const parts = [
    `<svg id="${esc(o.id)}" class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="latency distributions" xmlns="http://www.w3.org/2000/svg">`,
  ];
  for (const t of ticks(0, x1))
    parts.push(
      `<line class="grid" x1="${X(t)}" x2="${X(t)}" y1="${m.t}" y2="${H - m.b}"/><text class="tick" x="${X(t)}" y="${H - m.b + 16}" text-anchor="middle">${fmt(t)}</text>`,
    );
  parts.push(`<text class="axis" x="${(m.l + W - m.r) / 2}" y="${H - 4}" text-anchor="middle">latency (ms)</text>`);
  if (o.budget !== undefined)
    parts.push(`<line class="budget" x1="${X(o.budget)}" x2="${X(o.budget)}" y1="${m.t}" y2="${H - m.b}"><title>budget ${fmt(o.budget)} ms</title></line>`);
  rows.forEach((r, i) => {
    const y = m.t + i * rowH + rowH / 2;
    const s = [...r.samples].sort((a, b) => a - b);
    // At most ~300 dots per row: every k-th sorted sample keeps the shape of the distribution.
    const k = Math.max(1, Math.ceil(s.length / 300));
    const dots = s
      .filter((_, j) => j % k === 0)
      .map((v, j) => `<circle class="dot" cx="${X(v).toFixed(1)}" cy="${(y + ((j % 5) - 2) * 1.6).toFixed(1)}" r="1.3"/>`);
    const [p50, p99, max] = [q(s, 0.5), q(s, 0.99), s[s.length - 1] ?? NaN];
    parts.push(
      `<g class="candidate dist ${esc(r.cls)}" data-candidate="${esc(r.id)}"><title>${esc(r.label)}: p50 ${fmt(p50)} ms, p99 ${fmt(p99)} ms, max ${fmt(max)} ms, ${s.length} runs</title>` +
        `<text class="rowlabel" x="${m.l - 8}" y="${y + 4}" text-anchor="end">${esc(r.label.length > 28 ? r.label.slice(0, 27) + '…' : r.label)}</text>` +
        `<rect class="box" x="${X(p50)}" y="${y - 8}" width="${Math.max(1, X(p99) - X(p50))}" height="16"/>` +
        dots.join('') +
        `<line class="p50" x1="${X(p50)}" x2="${X(p50)}" y1="${y - 10}" y2="${y + 10}"/><line class="p99" x1="${X(p99)}" x2="${X(p99)}" y1="${y - 10}" y2="${y + 10}"/></g>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** Horizontal bars (e.g. the quality each node costs when quantized). */
export function bars(rows: { label: string; value: number }[], o: { id: string; xLabel: string }): string {
  const W = 720;
  const rowH = 18;
  const m = { l: 260, r: 60, t: 8, b: 32 };
  const H = m.t + m.b + rowH * rows.length;
  const x1 = Math.max(...rows.map((r) => Math.abs(r.value)), 1e-9);
  const parts = [
    `<svg id="${esc(o.id)}" class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(o.xLabel)}" xmlns="http://www.w3.org/2000/svg">`,
  ];
  rows.forEach((r, i) => {
    const y = m.t + i * rowH;
    const w = (Math.abs(r.value) / x1) * (W - m.l - m.r);
    parts.push(
      `<g class="bar${r.value < 0 ? ' neg' : ''}"><title>${esc(r.label)}: ${r.value}</title><text class="rowlabel" x="${m.l - 6}" y="${y + 13}" text-anchor="end">${esc(r.label.length > 40 ? r.label.slice(0, 39) + '…' : r.label)}</text><rect x="${m.l}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 6}"/><text class="tick" x="${m.l + w + 4}" y="${y + 13}">${fmt(r.value)}</text></g>`,
    );
  });
  parts.push(`<text class="axis" x="${(m.l + W - m.r) / 2}" y="${H - 8}" text-anchor="middle">${esc(o.xLabel)}</text></svg>`);
  return parts.join('\n');
}
