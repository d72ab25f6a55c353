// `edgefit serve` runs with glibc's malloc tuned for steady latency (src/runtime/malloc-tuning.ts), as the
// measurements that chose and timed its models did. glibc reads those variables only when a process
// starts, so the entry point starts `serve` again as a child with them set: the child gets the signals
// the parent receives (SIGTERM and SIGINT drain, SIGHUP reloads), its exit status becomes the parent's,
// and it dies with the parent (a kill -9 of the parent leaves no server holding the port). The child is
// in its own process group, so a Ctrl-C reaches it once, through the parent.

import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { mallocTuningEnv } from '../runtime/malloc-tuning.js';
import { dieWithParent } from '../search/child.js';

/** Set in the relaunched child: the parent's pid. */
export const SERVE_PARENT_ENV = 'EDGEFIT_SERVE_PARENT';
const FORWARDED = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

/**
 * Called by the entry point before main. For `serve` without tuned malloc (on Linux, unless the user set
 * malloc variables or EDGEFIT_MALLOC=default), runs it again as a child with the tuning and resolves to
 * its exit status; otherwise resolves to undefined and main runs here. `script` is the entry's own path.
 */
export async function relaunchServe(argv: readonly string[], script: string): Promise<number | undefined> {
  if (argv[0] !== 'serve' || argv.includes('--help') || argv.includes('-h')) return undefined;
  const parent = Number(process.env[SERVE_PARENT_ENV]);
  if (parent > 0) {
    dieWithParent(parent, 200);
    return undefined;
  }
  const tuning = mallocTuningEnv();
  if (Object.keys(tuning).length === 0) return undefined;
  return new Promise<number | undefined>((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, script, ...argv], {
      stdio: 'inherit',
      detached: true,
      env: { ...process.env, ...tuning, [SERVE_PARENT_ENV]: String(process.pid) },
    });
    const forward = (sig: (typeof FORWARDED)[number]) => () => {
      child.kill(sig);
    };
    const handlers = FORWARDED.map((sig) => [sig, forward(sig)] as const);
    for (const [sig, h] of handlers) process.on(sig, h);
    const done = (status: number | undefined) => {
      for (const [sig, h] of handlers) process.off(sig, h);
      resolve(status);
    };
    // could not start one (a missing node binary, no fork allowed): serve runs here, untuned
    child.once('error', () => done(undefined));
    child.once('exit', (code, signal) => done(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)));
  });
}

/**
 * The body of both entry points (bin/edgefit.js, scripts/edgefit-dev.mjs): `serve` relaunched with the
 * tuning, or the CLI's main run here. `loadMain` is called only then, so a relaunching parent stays small.
 */
export async function runEntry(argv: string[], script: string, loadMain: () => Promise<{ main(argv: string[]): Promise<number> }>): Promise<number> {
  const relaunched = await relaunchServe(argv, script);
  if (relaunched !== undefined) return relaunched;
  const { main } = await loadMain();
  return main(argv);
}
