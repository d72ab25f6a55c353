// The one error a request can cause: an HTTP status, a stable code, a message that says what was wrong
// and a hint that says what to do. Every 4xx body is `{error: {code, message, hint}}`.

import { EdgefitError } from '../onnx/errors.js';

export class HttpError extends EdgefitError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
    hint?: string,
  ) {
    super(message, code, hint);
    this.name = 'HttpError';
  }
}

export interface ErrorBody {
  error: { code: string; message: string; hint?: string };
}

export function errorBody(code: string, message: string, hint?: string): ErrorBody {
  return { error: { code, message, ...(hint ? { hint } : {}) } };
}
