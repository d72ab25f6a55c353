// Starts a worker thread from a module beside this one: the compiled .js, or the .ts source through
// tsx (worker threads do not inherit its loader).

import { Worker } from 'node:worker_threads';

/** `name` without extension, e.g. 'worker' or 'decode-worker'. */
export function spawnWorker(name: string): Worker {
  const self = import.meta.url;
  if (!self.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, self));
  const entry = new URL(`./${name}.ts`, self).href;
  const api = import.meta.resolve('tsx/esm/api');
  return new Worker(`import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`, { eval: true });
}
