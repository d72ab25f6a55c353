// One split of a task, else all of it when the task is too small to split (its items exist, none fall
// in that split). Every other error (a missing data file, a bad spec) is the caller's to see.

import { DataError } from './errors.js';
import { loadTask, SPLIT_EMPTY, type LoadTaskOptions, type Task } from './task.js';

export type SplitName = 'train' | 'val' | 'test';

export async function loadSplit(ref: string, split: SplitName, opts: Omit<LoadTaskOptions, 'split'> = {}): Promise<{ task: Task; whole: boolean }> {
  try {
    return { task: await loadTask(ref, { ...opts, split }), whole: false };
  } catch (e) {
    if (!(e instanceof DataError) || e.code !== SPLIT_EMPTY) throw e;
    return { task: await loadTask(ref, { ...opts, split: 'all' }), whole: true };
  }
}
