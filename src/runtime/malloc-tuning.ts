// glibc's malloc, tuned for steady inference latency. By default glibc maps a large block (at first
// above 128 KiB) with mmap and unmaps it when freed, raises that threshold as blocks are freed, and
// gives the heap's free top back to the system past a trim threshold. An inference that allocates a
// large block per run (PaddleOCR rec's 40 × 6,625 output is 1 MiB) then often gets fresh pages, and each
// run that does pays a page fault per 4 KiB: about 260 faults, 3 ms on this machine, on runs of 7–18 ms.
// Fixed thresholds keep freed blocks in the heap, so a run reuses pages it already has. Measured with
// `edgefit bench` (a child process per model): rec fp32 p50 18.4 → 15.3 ms, its int8-chains form
// 11.5 → 9.5 ms (`npm run bench -- malloc`, bench/results/malloc.json); README, "Steady latency".
//
// glibc reads these variables once, when the process starts, so they apply to processes edgefit
// starts: the latency measurement children, and `serve`, which starts itself again with them. Other
// C libraries (musl) ignore them. A user's own settings are kept; EDGEFIT_MALLOC=default turns it off.

/** What glibc is told: no dynamic mmap threshold, blocks below 1 GB from the heap, no trimming below 1 GB. */
export const MALLOC_TUNING: Readonly<Record<string, string>> = {
  MALLOC_MMAP_THRESHOLD_: '1000000000',
  MALLOC_TRIM_THRESHOLD_: '1000000000',
};

const OFF_VAR = 'EDGEFIT_MALLOC';
/** The user's own threshold settings, which are kept as they are. */
const USER_VARS = ['MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_', 'MALLOC_TOP_PAD_', 'MALLOC_MMAP_MAX_'];
const userSet = (env: NodeJS.ProcessEnv) => USER_VARS.some((k) => env[k] !== undefined) || /glibc\.malloc\./.test(env.GLIBC_TUNABLES ?? '');

/**
 * The variables to add to a child's environment: MALLOC_TUNING on Linux, unless the environment already
 * sets a glibc malloc threshold (the user's choice is kept) or EDGEFIT_MALLOC=default.
 */
export function mallocTuningEnv(env: NodeJS.ProcessEnv = process.env, platform: string = process.platform): Record<string, string> {
  if (platform !== 'linux' || env[OFF_VAR] === 'default' || userSet(env)) return {};
  return { ...MALLOC_TUNING };
}

/** How this process's malloc runs: 'tuned' (MALLOC_TUNING), 'user' (other malloc variables), or 'default'. */
export function mallocMode(env: NodeJS.ProcessEnv = process.env): 'tuned' | 'user' | 'default' {
  if (Object.entries(MALLOC_TUNING).every(([k, v]) => env[k] === v)) return 'tuned';
  return userSet(env) ? 'user' : 'default';
}
