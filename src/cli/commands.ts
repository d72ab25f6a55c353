// The table of CLI commands. One line per command; each lives in its own file.

import type { Command } from './command.js';

/** Loaded lazily so that `edgefit --help` does not load onnxruntime. */
export const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  inspect: { summary: 'show what is inside a model: inputs, ops, parameters, MACs', load: async () => (await import('./inspect.js')).inspectCommand },
  convert: { summary: 'rewrite a model: round trip, opset upgrade, external data', load: async () => (await import('./convert.js')).convertCommand },
  bench: { summary: 'measure the latency distribution, cold start and memory of a model', load: async () => (await import('./bench.js')).benchCommand },
  eval: {
    summary: 'score a model on a task (accuracy, F1, recall per class, CER, …) with confidence intervals',
    load: async () => (await import('./eval.js')).evalCommand,
  },
  data: {
    summary: 'make the built-in datasets (serials, serials-rotated, parts, mnist) as image folders',
    load: async () => (await import('./data.js')).dataCommand,
  },
  quantize: {
    summary: 'quantize a model (int8 dynamic or static, int4, fp16) and measure it against the input',
    load: async () => (await import('./quantize.js')).quantizeCommand,
  },
  qat: {
    summary: 'quantization-aware training: static int8, then training with the fp32 model as teacher; the QDQ export ORT fuses',
    load: async () => (await import('./qat.js')).qatCommand,
  },
  optimize: {
    summary: 'search for the fastest model that meets a latency budget and a quality floor, measured here',
    load: async () => (await import('./optimize.js')).optimizeCommand,
  },
  prune: {
    summary: 'remove channels, heads and FFN neurons, recover by distillation, and measure against the input',
    load: async () => (await import('./prune.js')).pruneCommand,
  },
  train: { summary: 'build a small model (MLP or CNN) and train it from scratch on a task', load: async () => (await import('./train.js')).trainCommand },
  distill: {
    summary: 'distil a teacher into a smaller student (KL on soft outputs), reported beside the student trained alone',
    load: async () => (await import('./distill.js')).distillCommand,
  },
  finetune: {
    summary: 'fine-tune a pretrained model on a task: cut at a feature tensor, new head, optionally unfreeze blocks',
    load: async () => (await import('./finetune.js')).finetuneCommand,
  },
  serve: {
    summary: 'serve a model or a degrade ladder over HTTP, keeping deadlines (admission, shedding, cascade, metrics)',
    load: async () => (await import('./serve.js')).serveCommand,
  },
  monitor: {
    summary: 'record inspections; SPC and drift alerts per machine, batch and line; a dashboard',
    load: async () => (await import('./monitor.js')).monitorCommand,
  },
};
