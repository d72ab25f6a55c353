// Starts a worker thread from a module beside this one: the compiled .js, or the .ts source through
// tsx (worker threads do not inherit its loader).

import { Worker } from 'node:worker_threads';

/** `name` without extension, e.g. 'worker' or 'decode-worker'; `workerData` is the thread's workerData. */
export function spawnWorker(name: string, workerData?: unknown): Worker {
  const self = import.meta.url;
  const opts = workerData === undefined ? {} : { workerData };
  if (!self.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, self), opts);
  const entry = new URL(`./${name}.ts`, self).href;
  const api = import.meta.resolve('tsx/esm/api');
  return new Worker(`import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`, { eval: true, ...opts });
}
