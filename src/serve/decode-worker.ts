// A decode worker thread: turns checked image bytes into the model's input tensor and the image's
// statistics, one image at a time, off the server's main thread. A bad image is answered as an error
// with its HTTP status; nothing an image carries ends the thread on purpose.

import { parentPort, workerData } from 'node:worker_threads';
import { niceThread, type WorkerPriority } from './nice.js';
import { decodeImage } from './image-input.js';
import { HttpError } from './http-error.js';
import type { DecodeReply, DecodeRequest } from './decode-wire.js';
import { transferList } from './wire.js';

const port = parentPort!;
// the pixel work yields to the main thread (a hand-off to this thread must not cost the main thread the decode)
niceThread((workerData as { nice?: WorkerPriority } | undefined)?.nice ?? 0);
port.postMessage({ job: 0, ready: true } satisfies DecodeReply);

port.on('message', (m: DecodeRequest) => {
  const t0 = performance.now();
  decodeImage(m.bytes, m.preprocess, m.input).then(
    (img) => {
      const reply: DecodeReply = { job: m.job, ok: true, image: img, ms: performance.now() - t0 };
      port.postMessage(reply, transferList(img.feeds));
    },
    (e: unknown) => {
      const h = e instanceof HttpError ? e : undefined;
      const reply: DecodeReply = {
        job: m.job,
        ok: false,
        status: h?.status ?? 400,
        code: h?.code ?? 'bad_image',
        message: h ? h.message : `the image cannot be decoded: ${(e as Error).message}`,
        ...(h?.hint ? { hint: h.hint } : {}),
      };
      port.postMessage(reply);
    },
  );
});
