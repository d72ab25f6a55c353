// Numeric flags that only make sense above zero (a batch of 0 would loop forever, an lr of 0 trains nothing):
// refused before any work, naming the flag.

import { UsageError } from '../onnx/errors.js';
import type { FlagValues } from './command.js';

export function requirePositive(flags: FlagValues, names: readonly string[]): void {
  for (const k of names) {
    const v = flags[k];
    if (v !== undefined && !((v as number) > 0)) throw new UsageError(`--${k} must be above 0, got ${String(v)}`);
  }
}
