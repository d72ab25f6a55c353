// Child process for test/monitor-durability.test.ts: a writer that the test kills with SIGKILL or
// runs beside another writer. `sink <db> <tag> <batches>` appends batches of 50 events through
// EventStore and prints `ack <n>` after each append resolves; `ingest <db> <file>` ingests a file;
// `writer <db> <tag>` queues 20 events every 2 ms on an EventWriter without waiting, and prints
// `ack <n>` after each background flush commits (n = events acknowledged so far, in queue order).
import { EventStore } from '../src/monitor/event-store.js';
import { EventWriter } from '../src/monitor/event-writer.js';
import { ingestFile } from '../src/monitor/ingest.js';

const [mode, db, arg, batches] = process.argv.slice(2) as [string, string, string, string | undefined];
if (mode === 'sink') {
  const store = new EventStore(db, { lockTimeoutMs: 60_000 });
  let n = 0;
  for (let b = 0; b < Number(batches ?? 1e9); b++) {
    const events = Array.from({ length: 50 }, () => ({ id: `${arg}-${n++}`, ts: 1772373720000 + n, machine: 'M1', defect: n % 7 === 0, score: 0.5 }));
    await store.append(events);
    process.stdout.write(`ack ${n}\n`);
  }
  await store.close();
} else if (mode === 'ingest') {
  process.stdout.write('start\n');
  const r = await ingestFile(arg, db, { lockTimeoutMs: 60_000 });
  process.stdout.write(`done ${r.inserted}\n`);
} else if (mode === 'writer') {
  const w = new EventWriter(db, { lockTimeoutMs: 60_000, flushEvents: 500, flushMs: 50, onFlush: () => process.stdout.write(`ack ${w.stats().flushed}\n`) });
  let n = 0;
  for (;;) {
    w.enqueue(Array.from({ length: 20 }, () => ({ id: `${arg}-${n++}`, ts: 1772373720000 + n * 100, machine: 'M1', defect: n % 7 === 0, score: 0.5 })));
    await new Promise((r) => setTimeout(r, 2));
  }
}
