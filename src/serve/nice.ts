// Lowers the priority of the calling thread only (Linux nice and scheduling policy are per thread),
// relative to the process: the server's worker threads (inference, image decode) call it so that the main
// thread, which admits and refuses requests, gets a core before their work when the cores are busy. Where
// it is not allowed (or not per thread), the thread keeps the process's priority.

import { spawnSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** How much nicer the server's worker threads are than the process by default. */
export const DEFAULT_WORKER_NICE = 5;

/** A worker thread's priority: nicer by 0–19, or Linux's SCHED_IDLE policy. */
export type WorkerPriority = number | 'idle';

export function niceThread(by: WorkerPriority): void {
  if (by === 'idle') {
    idleThread();
    return;
  }
  if (!(by > 0)) return;
  try {
    setPriority(0, Math.min(19, getPriority(0) + by));
  } catch {
    // not allowed here: the thread runs at the process's priority
  }
}

/**
 * SCHED_IDLE for this thread: a thread of any other policy that wakes up takes the core from it at once,
 * where a nice thread keeps it until the scheduler's fairness says otherwise. Set through util-linux's
 * `chrt` (Node has no call for it); true when it took effect.
 */
export function idleThread(): boolean {
  try {
    const tid = readlinkSync('/proc/thread-self').split('/').pop()!;
    return spawnSync('chrt', ['--idle', '-p', '0', tid], { stdio: 'ignore', timeout: 5000 }).status === 0;
  } catch {
    return false;
  }
}

/** Whether threads can be put under SCHED_IDLE here: Linux, with util-linux's `chrt` (what idleThread runs). */
export function canIdleThreads(): boolean {
  return process.platform === 'linux' && spawnSync('chrt', ['--version'], { stdio: 'ignore' }).status === 0;
}
