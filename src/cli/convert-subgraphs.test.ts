// `convert --external-data` on a model whose weights live inside If branches, in Constant nodes (as
// some exporters write VADs): the weights must reach the .data file, and the model must still run.
import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initializersToConstants } from '../onnx/constants.js';
import { readModel } from '../onnx/read-model.js';
import { writeModel } from '../onnx/write-model.js';
import { runModel } from '../passes/quant/ort-check.js';
import { entryFeeds, exporterZoo } from '../zoo/index.js';
import { runCli as run } from './test-cli.js';

test('convert --external-data moves the weights of If branches (Constant nodes there too) and the model round-trips in ORT', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgefit-convert-sub-'));
  try {
    const entry = exporterZoo().find((e) => e.name === 'vad-recurrent')!;
    const m = entry.build();
    initializersToConstants(m, { subgraphs: true });
    let bodyBytes = 0;
    m.graph.walk((g, parent) => {
      if (parent) for (const n of g.nodes) if (n.opType === 'Constant') bodyBytes += Math.max(0, n.tensor('value')?.byteLength ?? 0);
    });
    assert.ok(bodyBytes > 10_000, 'the branches hold real weights');
    const src = join(dir, 'vad.onnx');
    writeModel(m, src);
    const out = join(dir, 'vad-ext.onnx');
    const r = await run(['convert', src, '-o', out, '--external-data', '--external-threshold', '256', '--check', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const data = statSync(`${out}.data`).size;
    assert.ok(data >= bodyBytes, `.data holds the branch weights (${data} bytes, branches ${bodyBytes})`);
    let inlineInBodies = 0;
    readModel(out).graph.walk((g, parent) => {
      if (parent) inlineInBodies += g.nodes.filter((n) => n.opType === 'Constant' && (n.tensor('value')?.byteLength ?? 0) >= 256).length;
    });
    assert.equal(inlineInBodies, 0, 'no weight stays in a Constant node of a branch');
    const feeds = entryFeeds(entry);
    const [a, b] = [await runModel(m, feeds), await runModel(out, feeds)];
    for (const k of Object.keys(a)) assert.deepEqual(b[k], a[k], `output ${k} is unchanged`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
