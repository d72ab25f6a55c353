// A tiny EventSink for `edgefit serve --events file.jsonl`: one JSON line per event, appended and
// fsynced before append() resolves. Appends that arrive while a write is under way are written together
// with one fsync (group commit), so the cost per event stays small under load.

import { open, type FileHandle } from 'node:fs/promises';
import type { EventSink, InspectionEvent } from '../monitor/event.js';

export class JsonlSink implements EventSink {
  private waiting: { lines: string; done: () => void; fail: (e: Error) => void }[] = [];
  private writing: Promise<void> | null = null;
  private closed = false;

  private constructor(private readonly fh: FileHandle) {}

  static async open(path: string): Promise<JsonlSink> {
    return new JsonlSink(await open(path, 'a'));
  }

  append(events: readonly InspectionEvent[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the event sink is closed'));
    if (events.length === 0) return Promise.resolve();
    const lines = events.map((e) => JSON.stringify(e) + '\n').join('');
    return new Promise((done, fail) => {
      this.waiting.push({ lines, done, fail });
      this.writing ??= this.flush();
    });
  }

  private async flush(): Promise<void> {
    while (this.waiting.length) {
      const batch = this.waiting;
      this.waiting = [];
      try {
        await this.fh.appendFile(batch.map((b) => b.lines).join(''));
        await this.fh.sync();
        for (const b of batch) b.done();
      } catch (e) {
        for (const b of batch) b.fail(e as Error);
      }
    }
    this.writing = null;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.writing) await this.writing;
    await this.fh.close();
  }
}
