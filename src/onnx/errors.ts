// The one error type a user can cause: a message that says what was wrong, a code, and a hint that says
// what to do. The CLI prints these without a stack; anything else is a bug and keeps its stack.

export class EdgefitError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'EdgefitError';
  }
}

/** A model file that cannot be read: truncated, corrupt, not ONNX, over a limit, unsafe external data. */
export class ModelFileError extends EdgefitError {
  constructor(
    readonly file: string,
    problem: string,
    code = 'E_MODEL_FILE',
    hint?: string,
  ) {
    super(`${file}: ${problem}`, code, hint);
    this.name = 'ModelFileError';
  }
}

/** A bad command-line flag or parameter value. */
export class UsageError extends EdgefitError {
  constructor(message: string, hint?: string) {
    super(message, 'E_USAGE', hint);
    this.name = 'UsageError';
  }
}

export function isEdgefitError(e: unknown): e is EdgefitError {
  return e instanceof EdgefitError;
}
