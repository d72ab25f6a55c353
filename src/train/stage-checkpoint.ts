// A training stage's checkpoint: one file, written atomically (tmp + rename), holding a JSON header line
// (what run it belongs to, the step, the seed that orders the data, the loss before training) and then
// the trainable weights and the optimizer state as float32 arrays back to back. One file, so weights,
// optimizer state and step can never disagree; a checkpoint of another run (fingerprint) is ignored.

import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { EdgefitError } from '../onnx/errors.js';
import { writeFileAtomic } from '../onnx/write-model.js';

export const STAGE_CHECKPOINT_SCHEMA = 'edgefit.stage-checkpoint/1';
const FILE = 'state.bin';

export interface StageCheckpoint {
  /** Hash of everything that must match to resume: settings, data, starting weights. */
  fingerprint: string;
  /** Steps done. */
  step: number;
  /** The data order of step k is a function of (seed, k): this is the whole random state. */
  seed: number;
  lossBefore: number;
  /** Training wall time spent before this checkpoint. */
  elapsedMs: number;
  weights: Float32Array[];
  /** Per weight, the optimizer's state arrays. */
  state: Float32Array[][];
}

export function checkpointPath(dir: string): string {
  return join(dir, FILE);
}

export function writeStageCheckpoint(dir: string, c: StageCheckpoint): void {
  mkdirSync(dir, { recursive: true });
  const arrays = [...c.weights, ...c.state.flat()];
  const header = {
    schema: STAGE_CHECKPOINT_SCHEMA,
    fingerprint: c.fingerprint,
    step: c.step,
    seed: c.seed,
    lossBefore: c.lossBefore,
    elapsedMs: c.elapsedMs,
    weights: c.weights.map((w) => w.length),
    state: c.state.map((s) => s.map((v) => v.length)),
  };
  const head = Buffer.from(JSON.stringify(header) + '\n');
  const bytes = new Uint8Array(head.length + arrays.reduce((a, v) => a + v.byteLength, 0));
  bytes.set(head, 0);
  let at = head.length;
  for (const v of arrays) {
    bytes.set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), at);
    at += v.byteLength;
  }
  writeFileAtomic(checkpointPath(dir), bytes);
}

/** The checkpoint in `dir` when there is one of this run (same fingerprint), else undefined. */
export function readStageCheckpoint(dir: string, fingerprint: string): StageCheckpoint | undefined {
  const path = checkpointPath(dir);
  if (!existsSync(path)) return undefined;
  const bytes = readFileSync(path);
  const nl = bytes.indexOf(10);
  let h: { schema?: string; fingerprint?: string; step: number; seed: number; lossBefore: number; elapsedMs: number; weights: number[]; state: number[][] };
  try {
    h = JSON.parse(bytes.subarray(0, Math.max(0, nl)).toString('utf8')) as typeof h;
  } catch {
    throw new EdgefitError(`${path}: the checkpoint header is damaged`, 'E_CHECKPOINT', `delete ${dir} to start the stage again`);
  }
  if (h.schema !== STAGE_CHECKPOINT_SCHEMA || h.fingerprint !== fingerprint) return undefined;
  const total = h.weights.reduce((a, b) => a + b, 0) + h.state.flat().reduce((a, b) => a + b, 0);
  if (bytes.length !== nl + 1 + total * 4)
    throw new EdgefitError(`${path}: ${bytes.length - nl - 1} bytes of data, ${total * 4} expected`, 'E_CHECKPOINT', `delete ${dir} to start the stage again`);
  let at = nl + 1;
  const take = (len: number) => {
    const v = new Float32Array(bytes.buffer.slice(bytes.byteOffset + at, bytes.byteOffset + at + len * 4));
    at += len * 4;
    return v;
  };
  const weights = h.weights.map(take);
  const state = h.state.map((s) => s.map(take));
  return { fingerprint, step: h.step, seed: h.seed, lossBefore: h.lossBefore, elapsedMs: h.elapsedMs, weights, state };
}

export function removeStageCheckpoint(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
