// Helpers for the scripts in bench/: a plain-text table for the terminal and an atomic JSON write
// into bench/results/<name>.json that always carries the machine, ORT version and threads.

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../onnx/write-model.js';
import { machineInfo, type MachineInfo } from './machine.js';

export interface BenchFile<T> {
  name: string;
  /** ISO time the file was written. */
  date: string;
  /** The command that produced it. */
  command: string;
  machine: MachineInfo;
  results: T;
}

/**
 * The results of bench/results/<name>.json as last written (relative to `root`, default the working
 * directory), or {} when there is none: benches whose sections run separately merge into them.
 */
export function readBenchResults(name: string, root = process.cwd()): Record<string, unknown> {
  const path = join(root, 'bench', 'results', `${name}.json`);
  if (!existsSync(path)) return {};
  return (JSON.parse(readFileSync(path, 'utf8')) as { results?: Record<string, unknown> }).results ?? {};
}

/** Writes bench/results/<name>.json (relative to `root`, default the working directory); returns the path. */
export function writeBenchFile<T>(name: string, threads: number, results: T, root = process.cwd()): string {
  const dir = join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.json`);
  const file: BenchFile<T> = { name, date: new Date().toISOString(), command: `npm run bench -- ${name}`, machine: machineInfo(threads), results };
  writeFileAtomic(path, JSON.stringify(file, null, 2) + '\n');
  return path;
}

/** A left-aligned first column, right-aligned others. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, k) => Math.max(...cells.map((r) => (r[k] ?? '').length)));
  const line = (r: string[]) => r.map((c, k) => (k === 0 ? c.padEnd(widths[k]!) : c.padStart(widths[k]!))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.slice(1).map(line)].join('\n') + '\n';
}
