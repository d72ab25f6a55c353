// A small pool of decode worker threads: image bodies are decoded, measured and preprocessed there, so
// the main thread, which takes admission decisions and answers refusals, never touches pixels. Jobs
// wait in a FIFO for a free worker; a worker that dies fails its image with a 400 and is replaced.
//
//   const pool = new DecodePool(1);
//   const img = await pool.decode(bytes, spec.preprocess, 'x');   // feeds, stats, width, height

import type { Worker } from 'node:worker_threads';
import type { ImagePreprocess } from '../data/spec.js';
import { HttpError } from './http-error.js';
import type { DecodedImage } from './image-input.js';
import type { DecodeReply, DecodeRequest } from './decode-wire.js';
import { RecentTimes } from './recent-times.js';
import { spawnWorker } from './spawn-worker.js';
import { DEFAULT_WORKER_NICE, type WorkerPriority } from './nice.js';

/** What the server needs of an image decoder (tests pass their own). */
export interface ImageDecoder {
  decode(bytes: Uint8Array, p: ImagePreprocess, input: string): Promise<DecodedImage>;
  /** Images queued or being decoded now. */
  readonly pending: number;
  /** Predicted ms from now until an image submitted now is decoded (0 while nothing was measured lately). */
  predictMs(quantile: number): number;
  close(): Promise<void>;
}

interface Job {
  msg: DecodeRequest;
  resolve: (img: DecodedImage) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  /** Resolves once the thread has loaded (rejects if it dies first). */
  ready: Promise<void>;
  job?: Job;
  startedAt?: number;
}

export class DecodePool implements ImageDecoder {
  private readonly slots: (Slot | undefined)[];
  private readonly queue: Job[] = [];
  private nextJob = 1;
  private closed = false;
  /** Recent times per image in the worker (decode, statistics, preprocessing); old ones are forgotten. */
  times = new RecentTimes();
  /** Images handed to decode() so far. */
  calls = 0;

  constructor(
    readonly size = 1,
    /** How much nicer the decode threads are than the process. */
    private readonly nice: WorkerPriority = DEFAULT_WORKER_NICE,
  ) {
    if (!(size >= 1)) throw new RangeError(`a decode pool needs at least one worker, got ${size}`);
    this.slots = new Array(size).fill(undefined);
  }

  /** Starts the workers now rather than at the first image; resolves once they are loaded. */
  async start(): Promise<void> {
    await Promise.all(Array.from({ length: this.size }, (_, k) => this.slot(k).ready));
  }

  /**
   * Decodes `bytes` `runs` times on every worker (the first images through a fresh thread are slow), then
   * forgets their times and calls: the predictions start from real requests.
   */
  async warmUp(bytes: Uint8Array, preprocess: ImagePreprocess, input: string, runs = 3): Promise<void> {
    const calls = this.calls;
    for (let i = 0; i < runs; i++) await Promise.all(Array.from({ length: this.size }, () => this.decode(bytes, preprocess, input)));
    this.times = new RecentTimes();
    this.calls = calls;
  }

  get pending(): number {
    return this.queue.length + this.slots.filter((s) => s?.job).length;
  }

  predictMs(quantile: number): number {
    const ahead = this.pending;
    return Math.floor(ahead / this.size) * this.times.mean() + this.times.quantile(quantile);
  }

  decode(bytes: Uint8Array, preprocess: ImagePreprocess, input: string): Promise<DecodedImage> {
    if (this.closed) return Promise.reject(new Error('the decode pool is closed'));
    this.calls++;
    // a copy of its own, so that it can be transferred (a request's Buffer may be a view of a shared pool)
    const msg: DecodeRequest = { job: this.nextJob++, bytes: bytes.slice(), preprocess, input };
    return new Promise((resolve, reject) => {
      this.queue.push({ msg, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    for (let k = 0; k < this.size && this.queue.length; k++) {
      const s = this.slot(k);
      if (s.job) continue;
      s.job = this.queue.shift()!;
      s.startedAt = performance.now();
      s.worker.postMessage(s.job.msg, [s.job.msg.bytes.buffer as ArrayBuffer]);
    }
  }

  private slot(k: number): Slot {
    const have = this.slots[k];
    if (have) return have;
    const worker = spawnWorker('decode-worker', { nice: this.nice });
    let loaded!: () => void;
    let failed!: (e: Error) => void;
    const ready = new Promise<void>((res, rej) => {
      loaded = res;
      failed = rej;
    });
    const s: Slot = { worker, ready };
    s.ready.catch(() => undefined);
    this.slots[k] = s;
    worker.on('message', (m: DecodeReply) => ('ready' in m ? loaded() : this.settle(s, m)));
    const died = (why: string) => {
      failed(new Error(`the decode worker could not start (${why})`));
      if (this.slots[k] !== s) return;
      this.slots[k] = undefined;
      const job = s.job;
      s.job = undefined;
      job?.reject(new HttpError(400, 'bad_image', `the image decoder failed on this image (${why})`, 'send a valid PNG or JPEG'));
      if (!this.closed) this.pump();
    };
    worker.on('error', (e) => died(e.message));
    worker.on('exit', (code) => died(`the decode worker exited with code ${code}`));
    return s;
  }

  private settle(s: Slot, m: Exclude<DecodeReply, { ready: true }>): void {
    const job = s.job;
    if (!job || job.msg.job !== m.job) return;
    s.job = undefined;
    // the worker's own time: a first image that waited for the thread to start would skew every prediction
    if (m.ok) this.times.add(m.ms);
    if (m.ok) job.resolve(m.image);
    else job.reject(new HttpError(m.status, m.code, m.message, m.hint));
    this.pump();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const j of this.queue.splice(0)) j.reject(new Error('the decode pool closed'));
    const live = this.slots.filter((s): s is Slot => !!s);
    this.slots.fill(undefined);
    for (const s of live) s.job?.reject(new Error('the decode pool closed'));
    await Promise.all(live.map((s) => s.worker.terminate()));
  }
}
