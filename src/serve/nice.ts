// Lowers the priority of the calling thread only (Linux nice is per thread), relative to the process:
// the server's worker threads (inference, image decode) call it so that the main thread, which admits
// and refuses requests, gets a core before their work when the cores are busy. Where it is not allowed
// (or nice is not per thread), the thread keeps the process's priority.

import { getPriority, setPriority } from 'node:os';

/** How much nicer the server's worker threads are than the process by default. */
export const DEFAULT_WORKER_NICE = 5;

export function niceThread(by: number): void {
  if (!(by > 0)) return;
  try {
    setPriority(0, Math.min(19, getPriority(0) + by));
  } catch {
    // not allowed here: the thread runs at the process's priority
  }
}
