// Where the run's time went: stage builds by stage name (from each candidate's `stageTimes`; a stage
// taken from the cache costs nothing here, it was counted where it was built), screening and full
// measurements (from `Measurement.wallMs`), and the rest of the elapsed time.

import type { Summary } from '../search/types.js';
import { bars, esc } from './svg.js';

export interface TimeRow {
  what: string;
  kind: 'build' | 'measure' | 'other';
  /** Builds run (cache hits excluded), or measurements taken. */
  runs: number;
  ms: number;
  /** Builds of this stage served from the stage cache. */
  cacheHits: number;
  /** Builds that resumed from a checkpoint. */
  resumed: number;
}

/** Time per stage name, then screening, full measurements and the rest; builds in the order first seen. */
export function timeByStage(s: Summary): TimeRow[] {
  const builds = new Map<string, TimeRow>();
  const measure = (what: string): TimeRow => ({ what, kind: 'measure', runs: 0, ms: 0, cacheHits: 0, resumed: 0 });
  const [screen, full] = [measure('screening'), measure('full measurement')];
  for (const c of s.candidates) {
    for (const t of c.stageTimes ?? []) {
      const row = builds.get(t.stage) ?? { what: t.stage, kind: 'build', runs: 0, ms: 0, cacheHits: 0, resumed: 0 };
      builds.set(t.stage, row);
      if (t.cached) row.cacheHits++;
      else {
        row.runs++;
        row.ms += t.wallMs;
        if (t.resumedFromStep !== undefined) row.resumed++;
      }
    }
    for (const [m, row] of [
      [c.screen, screen],
      [c.full, full],
    ] as const)
      if (m) {
        row.runs++;
        row.ms += m.wallMs;
      }
  }
  const rows = [...builds.values(), screen, full];
  const rest = s.elapsedSec * 1000 - rows.reduce((t, r) => t + r.ms, 0);
  if (rest > 0) rows.push({ what: 'the rest (setup, sensitivity, writing)', kind: 'other', runs: 0, ms: rest, cacheHits: 0, resumed: 0 });
  return rows;
}

const sec = (ms: number) => (ms / 1000).toFixed(1);

export function stageTimeHtml(s: Summary): string {
  const rows = timeByStage(s);
  const total = s.elapsedSec * 1000;
  const label = (r: TimeRow) => (r.kind === 'build' ? `build: ${r.what}` : r.what);
  const table = rows.map(
    (r) =>
      `<tr data-stage="${esc(r.what)}"><td>${esc(label(r))}</td><td class="num">${r.kind === 'other' ? '—' : r.runs}</td><td class="num">${r.kind === 'build' ? r.cacheHits : '—'}</td><td class="num">${r.kind === 'build' ? r.resumed : '—'}</td><td class="num">${sec(r.ms)}</td><td class="num">${total > 0 ? `${((r.ms / total) * 100).toFixed(1)}%` : '—'}</td></tr>`,
  );
  return (
    `<p class="muted">Stage builds by stage (a stage served from the stage cache costs nothing; a resumed one counts only the time after its checkpoint), screening and full measurements, and the rest of the ${s.elapsedSec} s the run took. Builds that ran side by side would add up to more than the elapsed time.</p>` +
    bars(
      rows.map((r) => ({ label: label(r), value: r.ms / 1000 })),
      { id: 'stage-time-bars', xLabel: 'seconds' },
    ) +
    `<table id="stage-times"><tr><th>what</th><th>runs</th><th>from cache</th><th>resumed</th><th>seconds</th><th>of the run</th></tr>${table.join('')}</table>`
  );
}
