// Progress of a search on stderr: on a terminal one status line rewritten in place, elsewhere plain
// lines (so logs stay readable). Silent when quiet.

import type { Writable } from 'node:stream';

export interface ProgressState {
  phase: string;
  done: number;
  total: number;
  msLeft: number;
  current?: string;
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const m = Math.floor(s / 60);
  return m ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

export class Progress {
  private live = false;

  constructor(
    private readonly out: (Writable & { isTTY?: boolean; columns?: number }) | undefined,
    private readonly quiet = false,
  ) {}

  get tty(): boolean {
    return !!this.out?.isTTY;
  }

  /** The status line: what is being measured, how many remain, time left. */
  status(s: ProgressState): void {
    if (this.quiet || !this.out) return;
    const line = `[${s.phase} ${s.done}/${s.total}, ${s.total - s.done} left, ${formatDuration(s.msLeft)} left]${s.current ? ' ' + s.current : ''}`;
    if (this.tty) {
      const width = Math.max(20, (this.out.columns ?? 100) - 1);
      this.out.write('\r\x1b[2K' + (line.length > width ? line.slice(0, width - 1) + '…' : line));
      this.live = true;
    } else {
      this.out.write(line + '\n');
    }
  }

  /** A line that stays (a result, a warning). */
  log(line: string): void {
    if (this.quiet || !this.out) return;
    if (this.live) this.out.write('\r\x1b[2K');
    this.live = false;
    this.out.write(line + '\n');
  }

  done(): void {
    if (this.live && this.out) this.out.write('\r\x1b[2K');
    this.live = false;
  }
}
