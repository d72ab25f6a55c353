// An inference worker thread: opens its own ORT session for each ladder model (1 intra-op thread,
// spinning off unless told otherwise), warms each up, then runs one request at a time. A failed run is
// answered as 'failed'; nothing a request carries can end the thread.

import { parentPort } from 'node:worker_threads';
import { niceThread } from './nice.js';
import * as ort from 'onnxruntime-node';
import { openSession } from '../runtime/session.js';
import { synthesizeFeeds } from '../runtime/inputs.js';
import { warmUp } from '../runtime/warm-up.js';
import { EdgefitError } from '../onnx/errors.js';
import type { FromWorker, ModelIo, ToWorker, WireTensors } from './wire.js';
import { transferList } from './wire.js';
import { makeDecoder, type Decoded, type Decoder } from './decode-result.js';
import { splitOutputs } from './batch.js';

const port = parentPort!;
const sessions = new Map<string, ort.InferenceSession>();
/** The task's output decoder, once the main thread has sent it. */
let decoder: Decoder | undefined;

function send(m: FromWorker): void {
  port.postMessage(m, m.type === 'done' ? transferList(m.outputs) : []);
}

function ioOf(s: ort.InferenceSession): ModelIo {
  const meta = (list: readonly ort.InferenceSession.ValueMetadata[]) =>
    list.map((m) => ({
      name: m.name,
      type: m.isTensor ? m.type : 'non-tensor',
      shape: m.isTensor ? m.shape.map((d) => (typeof d === 'number' ? (d >= 0 ? d : undefined) : d === '' ? undefined : d)) : undefined,
    }));
  return { inputs: meta(s.inputMetadata), outputs: meta(s.outputMetadata) };
}

async function load(m: Extract<ToWorker, { type: 'load' }>): Promise<void> {
  // ORT runs on this thread (1 intra-op thread): the main thread gets a core before the compute does
  if (m.nice) niceThread(m.nice);
  const io: Record<string, ModelIo> = {};
  for (const model of m.models) {
    const { session } = await openSession(model.path, m.session);
    sessions.set(model.id, session);
    io[model.id] = ioOf(session);
  }
  send({ type: 'ready', io });
}

/**
 * Untimed first run, then `runs` timed ones per model named in the feeds (every model when none is):
 * the times seed the service-time distributions. The batch-size measurement names only the models it
 * still measures, with inputs the others were not asked to take.
 */
async function warm(m: Extract<ToWorker, { type: 'warmup' }>): Promise<void> {
  const warmupMs: Record<string, number[]> = {};
  const named = Object.keys(m.feeds).length > 0;
  for (const [id, session] of sessions) {
    if (named && !m.feeds[id]) continue;
    const feeds = synthesizeFeeds(session, m.feeds[id] ?? {});
    warmupMs[id] = (await warmUp(session, feeds, m.runs + 1)).slice(1);
  }
  send({ type: 'warm', warmupMs });
}

async function run(m: Extract<ToWorker, { type: 'run' }>): Promise<void> {
  const session = sessions.get(m.model);
  if (!session) return send({ type: 'failed', job: m.job, message: `no model '${m.model}' in this worker` });
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(m.feeds)) feeds[name] = new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
    const t0 = performance.now();
    const out = await session.run(feeds);
    const computeMs = performance.now() - t0;
    const outputs: WireTensors = {};
    for (const [name, t] of Object.entries(out)) outputs[name] = { type: t.type, dims: [...t.dims], data: t.data as Float32Array };
    const decoded = m.decodeRows ? decodeHere(outputs, m.decodeRows) : undefined;
    send(decoded ? { type: 'done', job: m.job, outputs: {}, computeMs, decoded } : { type: 'done', job: m.job, outputs, computeMs });
  } catch (e) {
    send({ type: 'failed', job: m.job, message: (e as Error).message.split('\n')[0] ?? String(e) });
  }
}

/**
 * The answers of an image run decoded here, so that only they cross to the main thread: an OCR output
 * is a megabyte per request, and megabytes arriving there many times a second make its garbage
 * collector stop it for milliseconds, which every admission decision then waits for. Undefined (the
 * main thread decodes, and reports any error) when there is no decoder or it fails.
 */
function decodeHere(outputs: WireTensors, rows: number[]): Decoded[] | undefined {
  if (!decoder) return undefined;
  try {
    return (rows.length === 1 ? [outputs] : splitOutputs(outputs, rows)).map(decoder);
  } catch {
    return undefined;
  }
}

port.on('message', (m: ToWorker) => {
  const fatal = (e: unknown) => {
    const err = e as Error;
    send({ type: 'fatal', message: err.message, ...(e instanceof EdgefitError ? { code: e.code, ...(e.hint ? { hint: e.hint } : {}) } : {}) });
  };
  if (m.type === 'load') load(m).catch(fatal);
  else if (m.type === 'warmup') warm(m).catch(fatal);
  else if (m.type === 'decoder') {
    try {
      decoder = makeDecoder(m.output, m.baseDir, m.ignoreWhitespace);
    } catch {
      decoder = undefined; // the main thread, which made the same decoder first, decodes instead
    }
  } else void run(m);
});
