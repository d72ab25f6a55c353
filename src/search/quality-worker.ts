// Child process that measures one candidate's quality, so a crash or a memory blow-up in ORT cannot
// touch the search. Usage: node quality-worker.(js|ts) <request.json> <result.json>.
// The request names the model, the session settings and either a task (scored with the eval module)
// or a reference model (scored as per-item top-1 agreement with it on the same feeds).

import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../onnx/write-model.js';
import { measureQuality, type QualityRequest } from './quality.js';

async function mainWorker(): Promise<void> {
  const [reqPath, outPath] = process.argv.slice(2);
  if (!reqPath || !outPath) throw new Error('usage: quality-worker <request.json> <result.json>');
  const req = JSON.parse(readFileSync(reqPath, 'utf8')) as QualityRequest;
  try {
    const q = await measureQuality(req);
    writeFileAtomic(outPath, JSON.stringify({ ok: true, quality: q }));
  } catch (e) {
    const err = e as Error & { code?: string; hint?: string };
    writeFileAtomic(outPath, JSON.stringify({ ok: false, error: { message: err.message ?? String(e), code: err.code, hint: err.hint, stack: err.stack } }));
  }
}

await mainWorker();
