// The event store as serve sees it: an EventSink over a DuckDB file. `append` resolves after DuckDB's
// commit, which is in its write-ahead log: an acknowledged event survives kill -9.
// DuckDB lets one process at a time write a file. Opening and closing it costs tens of milliseconds
// to seconds (closing checkpoints), so the store keeps the file open while appends keep coming, and
// lets go of it after `idleMs` without appends or at the latest `maxHoldMs` after it opened it; then
// it waits `yieldMs` before opening again, so that an ingest in another process (which retries every
// ≤ 200 ms) gets its turn. Appends made meanwhile wait and are written when the file is back.
// Each append is one transaction that also keeps the alerts' pre-aggregates (rollup.ts). Serve should
// use EventWriter (event-writer.ts), which queues events and flushes them through this in the background.

import type { EventSink, InspectionEvent } from './event.js';
import { HeldWriter, type AppendResult } from './append-events.js';
import { acquire, type Handle, type OpenOptions } from './db.js';

export interface EventStoreOptions extends OpenOptions {
  /** Let go of the file after this long without an append (default 500 ms). */
  idleMs?: number;
  /** Let go of the file at the latest this long after opening it (default 2000 ms). */
  maxHoldMs?: number;
  /** After letting go at maxHoldMs, wait this long before opening again (default 300 ms). */
  yieldMs?: number;
}

export class EventStore implements EventSink {
  private closed = false;
  private chain: Promise<unknown> = Promise.resolve();
  private held: { h: Handle; w: HeldWriter; since: number } | undefined;
  private idle: NodeJS.Timeout | undefined;
  constructor(
    readonly path: string,
    private readonly opts: EventStoreOptions = {},
  ) {}

  /** Appends events; resolves once they are committed. Appends from one store run one after another. */
  append(events: readonly InspectionEvent[]): Promise<void> {
    return this.appendCounted(events).then(() => undefined);
  }

  /** Like append, and says how many were new, repeated or too old. */
  appendCounted(events: readonly InspectionEvent[]): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new Error('EventStore.append after close'));
    const run = this.chain.then(async () => {
      const w = await this.writer();
      try {
        return await w.write(events);
      } finally {
        this.armIdle();
      }
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async writer(): Promise<HeldWriter> {
    if (this.held && Date.now() - this.held.since > (this.opts.maxHoldMs ?? 2000)) {
      this.letGo();
      await new Promise((r) => setTimeout(r, this.opts.yieldMs ?? 300));
    }
    if (!this.held) {
      const h = await acquire(this.path, this.opts);
      try {
        this.held = { h, w: await HeldWriter.open(h.conn), since: Date.now() };
      } catch (e) {
        h.release();
        throw e;
      }
    }
    return this.held.w;
  }

  private armIdle(): void {
    clearTimeout(this.idle);
    this.idle = setTimeout(() => {
      // Only when no append is running: the chain is idle once it settles with nothing queued after.
      const at = this.chain;
      void at.then(() => {
        if (this.chain === at) this.letGo();
      });
    }, this.opts.idleMs ?? 500);
    this.idle.unref();
  }

  private letGo(): void {
    clearTimeout(this.idle);
    this.held?.h.release();
    this.held = undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.chain;
    this.letGo();
  }
}
