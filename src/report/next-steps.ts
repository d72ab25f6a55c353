// What to do after an optimize run, for the CLI and report.html alike: where the chosen model is, five
// lines that load it in onnxruntime-node and in onnxruntime-web, and why each pass that did nothing did
// nothing.

import type { Summary } from '../search/types.js';

export interface NextSteps {
  best?: string;
  node?: string;
  web?: string;
  /** Candidates whose pass changed nothing, with the reason. */
  noChange: { label: string; why: string }[];
}

const ARRAYS: Record<string, string> = {
  float32: 'Float32Array',
  int64: 'BigInt64Array',
  int32: 'Int32Array',
  uint8: 'Uint8Array',
  int8: 'Int8Array',
  float16: 'Uint16Array',
  bool: 'Uint8Array',
};

function feedLines(s: Summary): string {
  const inputs = s.inputs?.length ? s.inputs : [{ name: 'input', type: 'float32', shape: [1] }];
  return inputs
    .map((i) => {
      const n = i.shape.reduce((a, b) => a * b, 1);
      return `  ${JSON.stringify(i.name)}: new ort.Tensor('${i.type}', new ${ARRAYS[i.type] ?? 'Float32Array'}(${n}), [${i.shape.join(', ')}]),`;
    })
    .join('\n');
}

export function nextSteps(s: Summary, bestPath?: string): NextSteps {
  const noChange = s.candidates
    .filter((c) => c.verdict?.kind === 'no-change')
    .map((c) => ({ label: c.config.label, why: c.verdict && 'why' in c.verdict ? c.verdict.why : '' }));
  if (!bestPath || !s.chosen) return { noChange };
  const chosen = s.candidates.find((c) => c.id === s.chosen);
  const level = chosen?.config.session.graphOptimizationLevel ?? 'all';
  const off = chosen?.config.session.disabledOptimizers ?? [];
  const file = bestPath.split(/[\\/]/).pop()!;
  const node = [
    `import * as ort from 'onnxruntime-node';`,
    `const session = await ort.InferenceSession.create(${JSON.stringify(bestPath)}, { intraOpNumThreads: ${s.threads}, graphOptimizationLevel: '${level}' });${off.length ? ` // measured with ORT's ${off.join(', ')} off` : ''}`,
    `const feeds = {\n${feedLines(s)}\n};`,
    `const out = await session.run(feeds);`,
    `console.log(session.outputNames.map((n) => [n, out[n].dims]));`,
  ].join('\n');
  const web = [
    `import * as ort from 'onnxruntime-web';`,
    `const session = await ort.InferenceSession.create('/models/${file}', { executionProviders: ['wasm'], graphOptimizationLevel: '${level}' });`,
    `const feeds = {\n${feedLines(s)}\n};`,
    `const out = await session.run(feeds);`,
    `console.log(session.outputNames.map((n) => [n, out[n].dims]));`,
  ].join('\n');
  return { best: bestPath, node, web, noChange };
}
