// The WebAssembly AdamW kernel against the JavaScript loop: same parameters and moments (to float32
// rounding) over several steps, with clipping scale, weight decay and lengths that are not multiples of 4.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { createWasmAdamW } from './adamw-wasm.js';
import { TsOptimizer } from './optimizers.js';

test('the wasm AdamW step matches the JavaScript one (lengths 1, 7, 1000; clipping; weight decay)', () => {
  const init = [1, 7, 1000].map((n, k) => Float32Array.from({ length: n }, (_, i) => Math.sin(i + k)));
  assert.ok(createWasmAdamW(init), 'WebAssembly SIMD is available in this Node');
  const config = { kind: 'adamw' as const, lr: 0.01, weightDecay: 0.05, clipNorm: 0.5 };
  const wasm = new TsOptimizer(
    config,
    init.map((p) => p.slice()),
  );
  const js = new TsOptimizer(
    config,
    init.map((p) => p.slice()),
    { wasm: false },
  );
  assert.notEqual(wasm.params[0]!.buffer, init[0]!.buffer);
  for (let step = 0; step < 5; step++) {
    const grads = init.map((p, k) => Float32Array.from({ length: p.length }, (_, i) => Math.cos(i * 0.3 + step + k) * (1 + (i % 3))));
    assert.equal(wasm.update(grads, 0.01 * (step + 1)), js.update(grads, 0.01 * (step + 1)));
  }
  for (let k = 0; k < init.length; k++) {
    for (const [a, b] of [
      [wasm.params[k]!, js.params[k]!],
      [wasm.state[k]![0]!, js.state[k]![0]!],
      [wasm.state[k]![1]!, js.state[k]![1]!],
    ] as const)
      for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= 1e-6 * (1 + Math.abs(b[i]!)), `param ${k}[${i}]: ${a[i]} vs ${b[i]}`);
    assert.ok(
      wasm.params[k]!.some((v, i) => v !== init[k]![i]),
      'the parameters moved',
    );
  }
});
