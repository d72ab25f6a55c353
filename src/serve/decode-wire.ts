// Messages between the server's main thread and its decode workers.

import type { ImagePreprocess } from '../data/spec.js';
import type { DecodedImage } from './image-input.js';

export interface DecodeRequest {
  job: number;
  /** The image file's bytes (a copy, transferred). */
  bytes: Uint8Array;
  preprocess: ImagePreprocess;
  /** The model input the tensor is named for. */
  input: string;
}

export type DecodeReply =
  /** Sent once the thread has loaded its modules. */
  | { job: 0; ready: true }
  | { job: number; ok: true; image: DecodedImage; ms: number }
  | { job: number; ok: false; status: number; code: string; message: string; hint?: string };
