// The table of CLI commands. One line per command; each lives in its own file.

import type { Command } from './command.js';

/** Loaded lazily so that `edgefit --help` does not load onnxruntime. */
export const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  inspect: { summary: 'show what is inside a model: inputs, ops, parameters, MACs', load: async () => (await import('./inspect.js')).inspectCommand },
  convert: { summary: 'rewrite a model: round trip, opset upgrade, external data', load: async () => (await import('./convert.js')).convertCommand },
  bench: { summary: 'measure the latency distribution, cold start and memory of a model', load: async () => (await import('./bench.js')).benchCommand },
};
