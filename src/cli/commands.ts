// The table of CLI commands. One line per command; each lives in its own file.

import type { Command } from './command.js';

/** Loaded lazily so that `edgefit --help` does not load onnxruntime. */
export const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  inspect: { summary: 'show what is inside a model: inputs, ops, parameters, MACs', load: async () => (await import('./inspect.js')).inspectCommand },
  convert: { summary: 'rewrite a model: round trip, opset upgrade, external data', load: async () => (await import('./convert.js')).convertCommand },
  bench: { summary: 'measure the latency distribution, cold start and memory of a model', load: async () => (await import('./bench.js')).benchCommand },
  eval: { summary: 'score a model on a task (accuracy, F1, recall per class, CER, …) with confidence intervals', load: async () => (await import('./eval.js')).evalCommand },
  data: { summary: 'make the built-in datasets (serials, serials-rotated, parts, mnist) as image folders', load: async () => (await import('./data.js')).dataCommand },
  quantize: { summary: 'quantize a model (int8 dynamic or static, int4, fp16) and measure it against the input', load: async () => (await import('./quantize.js')).quantizeCommand },
  optimize: { summary: 'search for the fastest model that meets a latency budget and a quality floor, measured here', load: async () => (await import('./optimize.js')).optimizeCommand },
  train: { summary: 'build a small model (MLP or CNN) and train it from scratch on a task', load: async () => (await import('./train.js')).trainCommand },
  finetune: { summary: 'fine-tune a pretrained model on a task: cut at a feature tensor, new head, optionally unfreeze blocks', load: async () => (await import('./finetune.js')).finetuneCommand },
  monitor: { summary: 'record inspections; SPC and drift alerts per machine, batch and line; a dashboard', load: async () => (await import('./monitor.js')).monitorCommand },
};
