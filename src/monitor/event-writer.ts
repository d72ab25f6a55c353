// Serve's event writer: `append` puts events on a bounded in-memory queue and returns at once; a
// background flush writes the queue to the store (EventStore) when it holds `flushEvents` events or
// `flushMs` after the oldest queued one, whichever comes first. An event is acknowledged when the flush
// that holds it has committed — the promise `append` returned resolves then, and `onFlush` is called —
// and from then on it survives kill -9. Events still queued are lost by a crash: that is the price of
// keeping the store's commit off the request path. A full queue never makes the caller wait: the events
// that do not fit are dropped, counted in `stats().dropped`, reported through `onOverflow`, and their
// promise rejects. `close()` flushes everything queued, then lets go of the store.

import { EdgefitError } from '../onnx/errors.js';
import type { AppendResult } from './append-events.js';
import type { EventSink, InspectionEvent } from './event.js';
import { EventStore, type EventStoreOptions } from './event-store.js';

export interface EventWriterOptions extends EventStoreOptions {
  /** Events held in memory at most; more are dropped and counted (default 50,000). */
  maxQueue?: number;
  /** Flush as soon as this many events are queued (default 1,000). */
  flushEvents?: number;
  /** Flush at the latest this long after the oldest queued event arrived (default 200 ms). */
  flushMs?: number;
  /** Called after each flush commits: its events are acknowledged. */
  onFlush?: (f: { events: number; ms: number; result: AppendResult }) => void;
  /** Called when events are dropped because the queue is full, with the running total dropped. */
  onOverflow?: (droppedTotal: number) => void;
}

export interface WriterStats {
  /** Events waiting in the queue now. */
  queued: number;
  /** Events committed (acknowledged). */
  flushed: number;
  /** Events refused because the queue was full, or offered after close. */
  dropped: number;
  /** Events whose flush failed (the store could not be written). */
  failed: number;
  flushes: number;
  lastError?: string;
}

interface Entry {
  events: readonly InspectionEvent[];
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class EventWriter implements EventSink {
  private readonly store: EventStore;
  private entries: Entry[] = [];
  private queued = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;
  private readonly s: WriterStats = { queued: 0, flushed: 0, dropped: 0, failed: 0, flushes: 0 };

  constructor(
    readonly path: string,
    private readonly o: EventWriterOptions = {},
  ) {
    this.store = new EventStore(path, o);
  }

  /** Queues events; the promise resolves when they are committed, and rejects if they were dropped or failed. */
  append(events: readonly InspectionEvent[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (!this.offer({ events, resolve, reject })) {
        const why = this.closed ? 'the event writer is closed' : `the event queue is full (${this.o.maxQueue ?? 50_000} events)`;
        reject(new EdgefitError(`${events.length} events dropped: ${why}`, 'E_MONITOR_QUEUE_FULL', 'the store is not keeping up; see stats().dropped'));
      }
    });
  }

  /** Queues events without a promise; false when they were dropped. Never waits. */
  enqueue(events: readonly InspectionEvent[]): boolean {
    return this.offer({ events, resolve: () => {}, reject: () => {} });
  }

  private offer(e: Entry): boolean {
    if (this.closed || this.queued + e.events.length > (this.o.maxQueue ?? 50_000)) {
      this.s.dropped += e.events.length;
      if (!this.closed) this.o.onOverflow?.(this.s.dropped);
      return false;
    }
    if (!e.events.length) {
      e.resolve();
      return true;
    }
    this.entries.push(e);
    this.queued += e.events.length;
    if (this.queued >= (this.o.flushEvents ?? 1000)) this.kick();
    else if (!this.timer) {
      // Not unref'd: queued events keep the process alive until they are flushed.
      this.timer = setTimeout(() => this.kick(), this.o.flushMs ?? 200);
    }
    return true;
  }

  /** Starts a flush unless one is running (that one starts the next when it ends). */
  private kick(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running || !this.entries.length) return;
    this.running = this.drain().finally(() => {
      this.running = undefined;
      if (this.queued >= (this.o.flushEvents ?? 1000) || (this.closed && this.entries.length)) this.kick();
      else if (this.entries.length && !this.timer) {
        this.timer = setTimeout(() => this.kick(), this.o.flushMs ?? 200);
      }
    });
  }

  private async drain(): Promise<void> {
    const batch = this.entries;
    this.entries = [];
    this.queued = 0;
    const events = batch.flatMap((e) => e.events);
    const t = performance.now();
    try {
      const result = await this.store.appendCounted(events);
      this.s.flushed += events.length;
      this.s.flushes++;
      for (const e of batch) e.resolve();
      this.o.onFlush?.({ events: events.length, ms: performance.now() - t, result });
    } catch (err) {
      this.s.failed += events.length;
      this.s.lastError = (err as Error).message;
      for (const e of batch) e.reject(err);
    }
  }

  /** Flushes what is queued now; resolves when it is committed. */
  async flush(): Promise<void> {
    while (this.running || this.entries.length) {
      if (!this.running) this.kick();
      await this.running;
    }
  }

  stats(): WriterStats {
    return { ...this.s, queued: this.queued };
  }

  /** Flushes everything queued, then closes the store; stats() keeps the final counts. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
    await this.store.close();
  }
}
