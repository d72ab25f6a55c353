// Shared by the serve tests: two tiny classifiers over 8×8 grey images written to a scratch folder
// (a two-rung ladder), their task spec, PNG bytes, a small Prometheus text-format parser, and a poll-until helper.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCanvas } from '@napi-rs/canvas';
import { mlp } from '../src/zoo/mlp.js';
import { writeModel } from '../src/onnx/write-model.js';
import { validateSpec, type TaskSpec } from '../src/data/spec.js';

export function tinyLadder(sizes: { big?: number[]; small?: number[] } = {}): { dir: string; big: string; small: string } {
  const dir = mkdtempSync(join(tmpdir(), 'edgefit-serve-'));
  const big = join(dir, 'big.onnx');
  const small = join(dir, 'small.onnx');
  writeModel(mlp({ sizes: sizes.big ?? [64, 32, 3], softmax: true, seed: 1 }), big);
  writeModel(mlp({ sizes: sizes.small ?? [64, 3], softmax: true, seed: 2 }), small);
  return { dir, big, small };
}

export const TINY_SPEC: TaskSpec = validateSpec({
  name: 'tiny',
  preprocess: { kind: 'image', height: 8, width: 8, channels: 'gray', layout: 'flat', resize: 'stretch' },
  output: { decode: 'classes', classes: ['ok', 'scratch', 'dent'] },
  metric: 'accuracy',
});

export function png(width: number, height: number, shade = 128): Buffer {
  const c = createCanvas(width, height);
  const ctx = c.getContext('2d');
  ctx.fillStyle = `rgb(${shade},${shade},${shade})`;
  ctx.fillRect(0, 0, width, height);
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, width / 2, height / 2);
  return c.toBuffer('image/png');
}

/** A PNG signature and IHDR that claim a size, and nothing else. */
export function pngHeaderOnly(width: number, height: number): Buffer {
  const b = Buffer.alloc(33);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b, 0);
  b.writeUInt32BE(13, 8);
  b.write('IHDR', 12, 'latin1');
  b.writeUInt32BE(width, 16);
  b.writeUInt32BE(height, 20);
  b[24] = 8;
  b[25] = 6;
  return b;
}

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * Parses Prometheus text exposition format 0.0.4: `# HELP`/`# TYPE` lines, and samples
 * `name{label="value",…} value [timestamp]`. Throws on any line that is neither.
 */
export function parsePrometheus(text: string): { types: Record<string, string>; samples: PromSample[] } {
  const types: Record<string, string> = {};
  const samples: PromSample[] = [];
  const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
  text.split('\n').forEach((line, i) => {
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) ?(.*)$/.exec(line);
      if (!m) throw new Error(`line ${i + 1}: bad comment: ${line}`);
      if (m[1] === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(m[3]!)) throw new Error(`line ${i + 1}: bad type ${m[3]}`);
        types[m[2]!] = m[3]!;
      }
      return;
    }
    const name = NAME.exec(line)?.[0];
    if (!name) throw new Error(`line ${i + 1}: no metric name: ${line}`);
    let rest = line.slice(name.length);
    const labels: Record<string, string> = {};
    if (rest.startsWith('{')) {
      const end = rest.indexOf('}');
      if (end < 0) throw new Error(`line ${i + 1}: unclosed labels`);
      const body = rest.slice(1, end);
      const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;
      let at = 0;
      while (at < body.length) {
        LABEL.lastIndex = at;
        const m = LABEL.exec(body);
        if (!m) throw new Error(`line ${i + 1}: bad labels {${body}}`);
        labels[m[1]!] = m[2]!;
        at = LABEL.lastIndex;
      }
      rest = rest.slice(end + 1);
    }
    const parts = rest.trim().split(/\s+/);
    if (parts.length < 1 || parts.length > 2 || !rest.startsWith(' ')) throw new Error(`line ${i + 1}: bad sample: ${line}`);
    const v = parts[0]!;
    const value = v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : v === 'NaN' ? NaN : Number(v);
    if (Number.isNaN(value) && v !== 'NaN') throw new Error(`line ${i + 1}: bad value ${v}`);
    samples.push({ name, labels, value });
  });
  return { types, samples };
}

/** Polls `ok` every millisecond until it holds; fails with `what` after `ms`. */
export async function until(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const end = performance.now() + ms;
  while (!ok()) {
    if (performance.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 1));
  }
}
