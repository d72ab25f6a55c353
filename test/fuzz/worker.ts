// A fuzz worker (started by scripts/fuzz.mjs): runs the cases it is sent, one by one, and reports each
// one's start and outcome over IPC, so that the parent can tell a hang or a crash from the case it hit.

import { runCase } from './mutants.js';

// EDGEFIT_FUZZ_SELFTEST="hang:3,crash:5" makes those cases hang or abort, to check the runner's watchdog
const selftest = new Map((process.env.EDGEFIT_FUZZ_SELFTEST ?? '').split(',').map((s) => s.split(':').reverse() as [string, string]));

interface Job {
  from: number;
  to: number;
  base: number;
  dir: string;
}

process.on('message', (job: Job) => {
  for (let k = job.from; k < job.to; k++) {
    process.send!({ start: k });
    if (selftest.get(String(k)) === 'hang') for (;;);
    if (selftest.get(String(k)) === 'crash') process.abort();
    const r = runCase(k, job.dir, job.base);
    process.send!({ done: k, ...r });
  }
  process.send!({ finished: true }, () => process.disconnect());
});
