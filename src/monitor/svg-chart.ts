// A small inline-SVG line chart for the dashboard: series over time, step limits, a shaded reference
// window and marked alarms. Its own few helpers rather than src/report/svg.ts, whose charts (Pareto
// scatter, latency distributions) share only an escape function with this one.

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export interface Line {
  name: string;
  cls: string;
  points: { x: number; y: number }[];
  step?: boolean;
}

export interface Mark {
  x: number;
  y: number;
  title: string;
  cls: string;
}

export interface LineChartOptions {
  id: string;
  title: string;
  yLabel: string;
  /** x from which the monitoring starts: everything left of it is shaded as reference. */
  refUntil?: number;
  xFormat: (x: number) => string;
  yFormat: (y: number) => string;
  vlines?: { x: number; title: string; cls: string }[];
  width?: number;
  height?: number;
}

export function lineChart(lines: Line[], marks: Mark[], o: LineChartOptions): string {
  const W = o.width ?? 560;
  const H = o.height ?? 200;
  const m = { l: 52, r: 10, t: 22, b: 26 };
  const xs = lines.flatMap((l) => l.points.map((p) => p.x));
  const ys = lines.flatMap((l) => l.points.map((p) => p.y)).filter(Number.isFinite);
  const x0 = Math.min(...xs, o.refUntil ?? Infinity);
  const x1 = Math.max(...xs, x0 + 1);
  const y0 = Math.min(0, ...ys);
  const y1 = Math.max(...ys, y0 + 1e-9) * 1.08;
  const X = (v: number) => m.l + ((v - x0) / (x1 - x0)) * (W - m.l - m.r);
  const Y = (v: number) => H - m.b - ((Math.min(Math.max(v, y0), y1) - y0) / (y1 - y0)) * (H - m.t - m.b);
  const parts = [
    `<svg id="${esc(o.id)}" class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(o.title)}" xmlns="http://www.w3.org/2000/svg">`,
  ];
  parts.push(`<text class="ctitle" x="${m.l}" y="14">${esc(o.title)}</text>`);
  if (o.refUntil !== undefined && o.refUntil > x0)
    parts.push(
      `<rect class="ref" x="${m.l}" y="${m.t}" width="${Math.max(0, X(o.refUntil) - m.l)}" height="${H - m.t - m.b}"><title>reference window</title></rect>`,
    );
  for (let k = 0; k <= 4; k++) {
    const v = y0 + ((y1 - y0) * k) / 4;
    parts.push(
      `<line class="grid" x1="${m.l}" x2="${W - m.r}" y1="${Y(v)}" y2="${Y(v)}"/><text class="tick" x="${m.l - 4}" y="${Y(v) + 4}" text-anchor="end">${esc(o.yFormat(v))}</text>`,
    );
  }
  for (let k = 0; k <= 4; k++) {
    const v = x0 + ((x1 - x0) * k) / 4;
    parts.push(`<text class="tick" x="${X(v)}" y="${H - 8}" text-anchor="middle">${esc(o.xFormat(v))}</text>`);
  }
  for (const l of lines) {
    if (!l.points.length) continue;
    const pts: string[] = [];
    l.points.forEach((p, i) => {
      if (l.step && i > 0) pts.push(`${X(p.x)},${Y(l.points[i - 1]!.y)}`);
      pts.push(`${X(p.x)},${Y(p.y)}`);
    });
    parts.push(`<polyline class="${esc(l.cls)}" points="${pts.join(' ')}"><title>${esc(l.name)}</title></polyline>`);
  }
  for (const v of o.vlines ?? [])
    parts.push(`<line class="${esc(v.cls)}" x1="${X(v.x)}" x2="${X(v.x)}" y1="${m.t}" y2="${H - m.b}"><title>${esc(v.title)}</title></line>`);
  for (const k of marks) parts.push(`<circle class="${esc(k.cls)}" cx="${X(k.x)}" cy="${Y(k.y)}" r="4"><title>${esc(k.title)}</title></circle>`);
  parts.push(
    `<text class="axis" x="12" y="${(m.t + H - m.b) / 2}" transform="rotate(-90 12 ${(m.t + H - m.b) / 2})" text-anchor="middle">${esc(o.yLabel)}</text>`,
  );
  parts.push('</svg>');
  return parts.join('');
}
