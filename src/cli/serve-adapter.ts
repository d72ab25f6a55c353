// `serve --adapter file`: the first (most accurate) model of the ladder, fine-tuned for one line or
// product, built at load time from the shared base and a LoRA adapter file (train/lora-adapter.ts).
// The merged model goes to a private temporary folder that the workers load from and that is removed
// when the process exits; a reload (SIGHUP) merges again, so a new adapter file is picked up.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { writeModel } from '../onnx/write-model.js';
import type { Ladder } from '../serve/ladder.js';
import { loadWithAdapter } from '../train/lora-adapter.js';

let dir: string | undefined;
let generation = 0;

function workDir(): string {
  if (!dir) {
    dir = mkdtempSync(join(tmpdir(), 'edgefit-adapter-'));
    const d = dir;
    process.once('exit', () => rmSync(d, { recursive: true, force: true }));
  }
  return dir;
}

/** The ladder with its first model replaced by that model with the adapter merged in. */
export function withAdapter(ladder: Ladder, adapterPath: string): Ladder {
  const first = ladder.models[0];
  if (!first) return ladder;
  const merged = loadWithAdapter(first.path, adapterPath);
  const name = basename(adapterPath).replace(/\.onnx$/i, '');
  const path = join(workDir(), `${generation++}-${name}.onnx`);
  writeModel(merged, path);
  return { ...ladder, models: [{ ...first, id: `${first.id}+${name}`, path, latency: undefined }, ...ladder.models.slice(1)] };
}
