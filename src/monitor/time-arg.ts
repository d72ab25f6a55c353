// Times on the command line: `--since` / `--until` take an ISO-8601 time (no zone means UTC), epoch
// milliseconds, or a time relative to now — `30m`, `2h`, `3d`, `1w` (also `90s`, `1.5h`) meaning that
// long ago. A bad value is a usage error that names the flag.

import { UsageError } from '../onnx/errors.js';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Epoch ms for a flag's value, or undefined when the flag is absent. `now` is for tests. */
export function parseTimeArg(flag: string, v: string | undefined, now: number = Date.now()): number | undefined {
  if (v === undefined) return undefined;
  const s = v.trim();
  const rel = /^(\d+(?:\.\d+)?)\s*([smhdw])$/i.exec(s);
  let n: number;
  if (rel) n = now - Number(rel[1]) * UNIT_MS[rel[2]!.toLowerCase()]!;
  else if (/^\d+$/.test(s)) n = Number(s);
  else if (/^\d{4}-\d{2}-\d{2}/.test(s)) n = Date.parse(/[zZ]|[+-]\d{2}:?\d{2}$/.test(s) || s.length === 10 ? s : `${s}Z`);
  else n = Number.NaN;
  if (!Number.isFinite(n))
    throw new UsageError(
      `--${flag} expects an ISO-8601 time, epoch milliseconds or a time ago like 30m, 2h, 3d, got '${v}'`,
      `e.g. --${flag} 2h or --${flag} 2026-03-02T14:00:00Z`,
    );
  return n;
}
