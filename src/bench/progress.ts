// A one-line progress bar on stderr, drawn only when stderr is a terminal (never into logs or pipes).

import type { Progress } from './latency.js';

export interface ProgressBar {
  update(p: Progress): void;
  /** Clears the line. */
  done(): void;
}

const NOOP: ProgressBar = { update() {}, done() {} };

export function progressBar(stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }, label: string): ProgressBar {
  if (!stream.isTTY) return NOOP;
  let drawn = false;
  return {
    update(p) {
      const frac = p.total ? p.done / p.total : p.durationMs ? p.elapsedMs / p.durationMs : 0;
      const width = Math.max(10, Math.min(40, (stream.columns ?? 80) - 50));
      const filled = Math.round(Math.min(1, Math.max(0, frac)) * width);
      const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
      const count = p.total ? `${p.done}/${p.total}` : `${p.done} runs`;
      stream.write(`\r\x1b[2K${label} ${p.phase === 'warmup' ? 'warm-up' : 'measure'} ${bar} ${count} ${(p.elapsedMs / 1000).toFixed(1)}s`);
      drawn = true;
    },
    done() {
      if (drawn) stream.write('\r\x1b[2K');
      drawn = false;
    },
  };
}
