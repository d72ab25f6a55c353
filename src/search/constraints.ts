// The constraints an optimize run must meet, parsed from short strings: latency budgets
// ("p99<=12ms"), quality floors relative to the baseline ("exact>=-1pt") or absolute
// ("accuracy>=0.97"), and limits on model size and peak memory ("size<=20MB", "memory<=300MB").

import { UsageError } from '../onnx/errors.js';

export type LatencyStat = 'p50' | 'p90' | 'p95' | 'p99' | 'max' | 'mean';
export const LATENCY_STATS: readonly LatencyStat[] = ['p50', 'p90', 'p95', 'p99', 'max', 'mean'];

export type Constraint =
  /** A latency budget: absolute (`ms`), or relative to the baseline measured in the same run (`factor`: 0.6 = 60% of it). */
  | { kind: 'latency'; stat: LatencyStat; op: '<=' | '<'; ms?: number; factor?: number; text: string }
  /**
   * A quality floor (or ceiling, for lower-is-better metrics such as CER). `relative`: `value` is a
   * change from the baseline in metric units (1pt = 0.01); `absolute`: `value` is the metric itself.
   */
  | { kind: 'quality'; metric: string; op: '>=' | '>' | '<=' | '<'; mode: 'relative' | 'absolute'; value: number; text: string }
  | { kind: 'size'; op: '<=' | '<'; bytes: number; text: string }
  | { kind: 'memory'; op: '<=' | '<'; bytes: number; text: string };

const TIME_UNITS: Record<string, number> = { us: 0.001, µs: 0.001, ms: 1, s: 1000 };
const BYTE_UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };
const SIZE_NAMES = new Set(['size', 'model-size', 'modelsize', 'bytes']);
const MEMORY_NAMES = new Set(['memory', 'mem', 'rss', 'peak-rss', 'peakrss', 'peak-memory']);

/** Metrics where lower is better; a floor on them reads `cer<=0.05` or `cer<=+1pt`. */
export function lowerIsBetter(metric: string): boolean {
  return /^(cer|wer|error|err|loss|ece|mae|mse|rmse)([-_a-z]*)$/i.test(metric) || /(^|:)(rel-l2|max-abs-diff|mean-abs-diff)$/i.test(metric);
}

const EXAMPLES = '"p99<=12ms", "p50<5ms", "p99<=0.6x" (of the source model), "exact>=-1pt", "accuracy>=0.97", "cer<=0.05", "size<=20MB", "memory<=300MB"';

/** Parses one constraint. Throws a UsageError that names the problem and shows the accepted forms. */
export function parseConstraint(raw: string): Constraint {
  const text = raw.trim();
  const m = /^([A-Za-z][\w.:/-]*)\s*(<=|>=|<|>|≤|≥)\s*(.+)$/.exec(text);
  if (!m) throw new UsageError(`cannot read the constraint '${raw}': expected <what><op><value>`, `examples: ${EXAMPLES}`);
  const name = m[1]!.toLowerCase();
  const op = (m[2] === '≤' ? '<=' : m[2] === '≥' ? '>=' : m[2]) as '<=' | '>=' | '<' | '>';
  const rhs = m[3]!.trim();

  if ((LATENCY_STATS as readonly string[]).includes(name) || /^p\d+$/.test(name)) {
    if (!(LATENCY_STATS as readonly string[]).includes(name))
      throw new UsageError(`unsupported latency statistic '${m[1]}' in '${raw}'`, `use one of ${LATENCY_STATS.join(', ')}`);
    if (op !== '<=' && op !== '<')
      throw new UsageError(`a latency budget is an upper bound: '${raw}' uses '${op}'`, `write it as ${name}<=<time>, e.g. "${name}<=12ms"`);
    const rel = /^(\d+(?:\.\d+)?|\.\d+)\s*[x×]$/i.exec(rhs) ?? /^-(\d+(?:\.\d+)?)\s*%$/.exec(rhs);
    if (rel) {
      const factor = rhs.endsWith('%') ? 1 - Number(rel[1]) / 100 : Number(rel[1]);
      if (!(factor > 0))
        throw new UsageError(`a relative latency budget must leave a positive time: '${raw}'`, 'e.g. "p99<=0.6x" (60% of the baseline) or "p99<=-40%"');
      return { kind: 'latency', stat: name as LatencyStat, op, factor, text };
    }
    const v = /^(\d+(?:\.\d+)?|\.\d+)\s*(us|µs|ms|s)$/i.exec(rhs);
    if (!v)
      throw new UsageError(
        `cannot read the time '${rhs}' in '${raw}'`,
        'give a positive number with a unit: us, ms or s, e.g. "p99<=12ms"; or relative to the source model: "p99<=0.6x", "p99<=-40%"',
      );
    const ms = Number(v[1]) * TIME_UNITS[v[2]!.toLowerCase()]!;
    if (!(ms > 0)) throw new UsageError(`a latency budget must be positive: '${raw}'`, 'e.g. "p99<=12ms"');
    return { kind: 'latency', stat: name as LatencyStat, op, ms, text };
  }

  if (SIZE_NAMES.has(name) || MEMORY_NAMES.has(name)) {
    const kind = SIZE_NAMES.has(name) ? 'size' : 'memory';
    if (op !== '<=' && op !== '<')
      throw new UsageError(`a ${kind} limit is an upper bound: '${raw}' uses '${op}'`, `write it as ${name}<=<bytes>, e.g. "${name}<=20MB"`);
    const v = /^(\d+(?:\.\d+)?)\s*([kmg]i?b|b)?$/i.exec(rhs);
    if (!v) throw new UsageError(`cannot read the size '${rhs}' in '${raw}'`, 'give a number with a unit: B, KB, MB, GB, KiB, MiB or GiB, e.g. "size<=20MB"');
    const bytes = Number(v[1]) * BYTE_UNITS[(v[2] ?? 'b').toLowerCase()]!;
    if (!(bytes > 0)) throw new UsageError(`a ${kind} limit must be positive: '${raw}'`, `e.g. "${name}<=20MB"`);
    return { kind, op, bytes, text };
  }

  // A quality floor. Relative: a signed change in points ("-1pt", "+0.5pt") or a signed fraction
  // with "baseline" ("baseline-0.01"). Absolute: a number (0.97) or a percentage (97%).
  const better = lowerIsBetter(name) ? ['<=', '<'] : ['>=', '>'];
  if (!better.includes(op)) {
    throw new UsageError(
      `the quality constraint '${raw}' points the wrong way: ${name} is ${lowerIsBetter(name) ? 'lower' : 'higher'}-is-better`,
      `write it as ${name}${better[0]}<value>, e.g. "${lowerIsBetter(name) ? 'cer<=0.05' : 'accuracy>=0.97'}"`,
    );
  }
  let v = /^([+-]\s*\d+(?:\.\d+)?|\d+(?:\.\d+)?)\s*pts?$/i.exec(rhs);
  if (v) return { kind: 'quality', metric: name, op: op as '>=', mode: 'relative', value: Number(v[1]!.replace(/\s+/g, '')) / 100, text };
  v = /^baseline\s*([+-])\s*(\d+(?:\.\d+)?)\s*(pts?)?$/i.exec(rhs);
  if (v) return { kind: 'quality', metric: name, op: op as '>=', mode: 'relative', value: (v[1] === '-' ? -1 : 1) * Number(v[2]) * (v[3] ? 0.01 : 1), text };
  if (/^baseline$/i.test(rhs)) return { kind: 'quality', metric: name, op: op as '>=', mode: 'relative', value: 0, text };
  v = /^(\d+(?:\.\d+)?)\s*(%)?$/.exec(rhs);
  if (v) {
    const value = Number(v[1]) / (v[2] ? 100 : 1);
    if (value > 1 && !v[2])
      throw new UsageError(
        `the quality floor '${raw}' is above 1`,
        `metrics are fractions: write ${name}${op}${(value / 100).toString()} or ${name}${op}${v[1]}%; for a change from the baseline write e.g. "${name}>=-1pt"`,
      );
    return { kind: 'quality', metric: name, op: op as '>=', mode: 'absolute', value, text };
  }
  throw new UsageError(
    `cannot read the quality value '${rhs}' in '${raw}'`,
    `use an absolute value ("${name}${op}0.97", "${name}${op}97%") or a change from the baseline in points ("${name}${op}-1pt")`,
  );
}

/** Parses a comma- or semicolon-separated list of constraints. */
export function parseConstraints(raw: string): Constraint[] {
  const parts = raw
    .split(/[,;]/)
    .map((s) => s.trim())
    .filter(Boolean);
  if (parts.length === 0) throw new UsageError(`empty constraint '${raw}'`, `examples: ${EXAMPLES}`);
  return parts.map(parseConstraint);
}

/** The figures a constraint is checked against. */
export interface Figures {
  latency?: Partial<Record<LatencyStat, number>>;
  /** Metric name → value. */
  quality?: Record<string, number>;
  sizeBytes?: number;
  peakRssBytes?: number;
}

export interface Check {
  constraint: string;
  ok: boolean;
  /** The measured value, the bound it was held to, and how far off it is (positive = violation, in the unit). */
  actual?: number;
  bound: number;
  unit: 'ms' | 'bytes' | 'metric';
  /** Missed by this fraction of the bound (0 when met); used to rank the closest misses. */
  missBy: number;
  note?: string;
}

/** Finds the metric a constraint names in a set of metrics: exact name, then loose spelling (exact ~ exact-match). */
export function resolveMetric(name: string, available: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');
  const n = norm(name);
  return (
    available.find((a) => a === name) ??
    available.find((a) => norm(a) === n) ??
    available.find((a) => norm(a).startsWith(n)) ??
    available.find((a) => norm(a).includes(n))
  );
}

/** Checks a candidate's figures against every constraint; quality floors relative to `baseline`. */
export function checkConstraints(constraints: readonly Constraint[], f: Figures, baseline?: Figures): Check[] {
  return constraints.map((c) => {
    const upper = (actual: number | undefined, bound: number, strict: boolean, unit: Check['unit']): Check => {
      if (actual === undefined || !Number.isFinite(actual)) return { constraint: c.text, ok: false, bound, unit, missBy: Infinity, note: 'not measured' };
      const ok = strict ? actual < bound : actual <= bound;
      return { constraint: c.text, ok, actual, bound, unit, missBy: ok ? 0 : (actual - bound) / Math.abs(bound || 1) };
    };
    switch (c.kind) {
      case 'latency': {
        if (c.ms !== undefined) return upper(f.latency?.[c.stat], c.ms, c.op === '<', 'ms');
        const base = baseline?.latency?.[c.stat];
        if (base === undefined) return { constraint: c.text, ok: false, bound: NaN, unit: 'ms', missBy: Infinity, note: 'no baseline to compare with' };
        return upper(f.latency?.[c.stat], base * c.factor!, c.op === '<', 'ms');
      }
      case 'size':
        return upper(f.sizeBytes, c.bytes, c.op === '<', 'bytes');
      case 'memory':
        return upper(f.peakRssBytes, c.bytes, c.op === '<', 'bytes');
      case 'quality': {
        const names = Object.keys(f.quality ?? {});
        const key = resolveMetric(c.metric, names);
        if (key === undefined)
          return {
            constraint: c.text,
            ok: false,
            bound: NaN,
            unit: 'metric',
            missBy: Infinity,
            note: `metric '${c.metric}' not among ${names.join(', ') || '(none)'}`,
          };
        const actual = f.quality![key]!;
        let bound = c.value;
        if (c.mode === 'relative') {
          const base = baseline?.quality?.[key];
          if (base === undefined) return { constraint: c.text, ok: false, bound: NaN, unit: 'metric', missBy: Infinity, note: 'no baseline to compare with' };
          bound = base + c.value;
        }
        const lower = c.op === '<=' || c.op === '<';
        // Compare with a little slack for float noise in values that are counts/n.
        const eps = 1e-9;
        const ok = lower ? (c.op === '<' ? actual < bound : actual <= bound + eps) : c.op === '>' ? actual > bound : actual >= bound - eps;
        const missBy = ok ? 0 : Math.abs(actual - bound) / Math.max(Math.abs(bound), 0.01);
        return { constraint: c.text, ok, actual, bound, unit: 'metric', missBy };
      }
      default:
        throw new Error(`unknown constraint kind in ${JSON.stringify(c)}`);
    }
  });
}

/** "p99 14.2 ms > 12 ms" — how a failed check reads in the terminal and the report. */
export function describeCheck(ch: Check): string {
  if (ch.note) return `${ch.constraint}: ${ch.note}`;
  const fmt = (v: number) => (ch.unit === 'ms' ? `${v.toFixed(2)} ms` : ch.unit === 'bytes' ? formatBytes(v) : v.toFixed(4));
  return `${ch.constraint}: ${fmt(ch.actual!)} ${ch.ok ? 'meets' : 'misses'} ${fmt(ch.bound)}`;
}

export function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} KB`;
  return `${n} B`;
}
