// The event store as serve sees it: an EventSink over a DuckDB file. Each append opens the file (or
// reuses it if the last append was moments ago), commits, and lets go of it soon after, so that an
// ingest in another process can take its turn. `append` resolves after DuckDB's commit, which is
// written to its write-ahead log: an acknowledged event survives kill -9.

import type { EventSink, InspectionEvent } from './event.js';
import { appendEvents, type AppendResult } from './append-events.js';
import { withDb, type OpenOptions } from './db.js';

export interface EventStoreOptions extends OpenOptions {}

export class EventStore implements EventSink {
  private closed = false;
  private chain: Promise<unknown> = Promise.resolve();
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
    const run = this.chain.then(() => withDb(this.path, (db) => appendEvents(db.conn, events), this.opts));
    this.chain = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.chain;
  }
}
