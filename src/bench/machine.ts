// The machine a figure was measured on: every benchmark result carries this beside its numbers.

import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, platform, release, arch, totalmem, loadavg } from 'node:os';
import { mallocMode } from '../runtime/malloc-tuning.js';
import { ortVersion } from '../runtime/session.js';

export interface MachineInfo {
  /** CPU model as the OS reports it (e.g. 'AMD EPYC 7B13'). */
  cpu: string;
  /** Logical CPUs this process may use. */
  cores: number;
  /** e.g. 'linux 6.1.0 x64'. */
  os: string;
  /** Node.js version, e.g. 'v20.20.2'. */
  node: string;
  /** onnxruntime-node version. */
  ort: string;
  /** Intra-op threads the measurement used. */
  threads: number;
  memoryBytes: number;
  /** 1-, 5- and 15-minute load averages when the figures were taken: above `cores`, other work competed. */
  loadAverage: number[];
  /** glibc malloc of the measuring process: 'tuned' (src/runtime/malloc-tuning.ts), 'user' (the user's variables) or 'default'. */
  malloc: 'tuned' | 'user' | 'default';
}

export function machineInfo(threads: number): MachineInfo {
  const list = cpus();
  return {
    cpu: (list[0]?.model ?? 'unknown').trim().replace(/\s+/g, ' '),
    cores: typeof availableParallelism === 'function' ? availableParallelism() : list.length,
    os: `${platform()} ${release()} ${arch()}`,
    node: process.version,
    ort: ortVersion(),
    threads,
    memoryBytes: totalmem(),
    loadAverage: loadavg().map((v) => Math.round(v * 100) / 100),
    malloc: mallocMode(),
  };
}

/** One line for tables: 'AMD EPYC (2 cores), linux x64, node v20.20.2, ORT 1.30.0, 1 thread, load 0.8'. */
export function machineLine(m: MachineInfo): string {
  const os = m.os.split(' ');
  const load = m.loadAverage?.[0] !== undefined ? `, load ${m.loadAverage[0]}` : '';
  const malloc = m.malloc === 'tuned' ? ', malloc tuned' : '';
  return `${m.cpu} (${m.cores} cores), ${os[0]} ${os[2] ?? ''}, node ${m.node}, ORT ${m.ort}, ${m.threads} thread${m.threads === 1 ? '' : 's'}${load}${malloc}`;
}

/**
 * This process's own high-water RSS in bytes. getrusage's maxRSS survives exec on Linux, so a child
 * started by a large parent would report the parent's size; /proc's VmHWM belongs to this process's
 * memory alone. Elsewhere (not Linux) it falls back to getrusage.
 */
export function peakRss(): number {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux: fall back to getrusage
  }
  return process.resourceUsage().maxRSS * 1024;
}
