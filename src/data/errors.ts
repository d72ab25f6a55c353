// The errors bad data can cause: a missing file, an unreadable image, an unknown class, an empty folder,
// NaN in a tensor, a task spec that does not validate. Each says which item and what to do.

import { EdgefitError } from '../onnx/errors.js';

export class DataError extends EdgefitError {
  constructor(message: string, hint?: string, code = 'E_DATA') {
    super(message, code, hint);
    this.name = 'DataError';
  }
}

export class TaskSpecError extends EdgefitError {
  constructor(message: string, hint?: string) {
    super(message, 'E_TASK_SPEC', hint ?? 'see docs/task-spec.md for the fields a task spec takes');
    this.name = 'TaskSpecError';
  }
}

/** What to do with one bad item: stop with an error, or skip it and list it in the result. */
export type OnBadItem = 'error' | 'skip';

export interface SkippedItem {
  id: string;
  reason: string;
}

/** Collects skipped items, or throws at the first one when the policy is 'error'. */
export class BadItems {
  readonly skipped: SkippedItem[] = [];
  constructor(readonly policy: OnBadItem = 'error') {}

  report(id: string, reason: string, hint?: string): void {
    if (this.policy === 'error')
      throw new DataError(`bad item ${id}: ${reason}`, hint ?? 'fix or remove the item, or pass --on-bad-item skip to skip bad items and list them');
    this.skipped.push({ id, reason });
  }
}
