// Training data for a task name: MNIST straight from the digits (fast, fixed split), any other
// classification task through the data module (its train/val/test split by id).

import { loadTask } from '../data/task.js';
import { mnistSplits, reshapeSamples, taskDataset, type Splits } from './dataset.js';

export async function taskSplits(task: string, opts: { sampleShape?: number[]; seed?: number; limit?: number; input?: string } = {}): Promise<Splits> {
  if (task === 'mnist') return mnistSplits({ sampleShape: opts.sampleShape });
  const t = await loadTask(task, { seed: opts.seed ?? 0, limit: opts.limit });
  const [train, val, test] = [await taskDataset(t, 'train', opts.input), await taskDataset(t, 'val', opts.input), await taskDataset(t, 'test', opts.input)];
  const fit = (d: typeof train) => (opts.sampleShape ? reshapeSamples(d, opts.sampleShape) : d);
  return { train: fit(train), val: fit(val), test: fit(test) };
}
