// The benches' latency comparison of several sessions in one process: one real input (the task's first
// test item), each session warmed, then `rounds` rounds of `iterations` runs each, the order rotated
// every round so that no session always runs after the same neighbour.

import type * as ort from 'onnxruntime-node';
import { measureLatency } from '../../src/bench/latency.js';
import type { Task } from '../../src/data/task.js';

/** The feeds of the task's first item, batch 1. */
export async function firstFeeds(task: Task, input: string): Promise<Record<string, ort.Tensor>> {
  for await (const b of task.batches({ batchSize: 1, input })) return b.feeds;
  throw new Error(`task ${task.spec.name} has no items`);
}

/** Latency samples (ms) per session, round-robin; logs every fifth round. */
export async function roundRobin(
  sessions: ort.InferenceSession[],
  feeds: Record<string, ort.Tensor>,
  opts: { rounds: number; iterations: number; log?: (s: string) => void },
): Promise<number[][]> {
  for (const s of sessions) await measureLatency(s, feeds, { warmup: 5, iterations: 1 });
  const samples: number[][] = sessions.map(() => []);
  for (let r = 0; r < opts.rounds; r++) {
    for (let j = 0; j < sessions.length; j++) {
      const k = (j + r) % sessions.length;
      samples[k]!.push(...(await measureLatency(sessions[k]!, feeds, { warmup: 1, iterations: opts.iterations })).samplesMs);
    }
    if (r % 5 === 4) opts.log?.(`round ${r + 1}/${opts.rounds}`);
  }
  return samples;
}
