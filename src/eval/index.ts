// The eval module's public surface. Re-exports only.

export { evaluate, adaptTask, compareCandidates, type EvalResult, type EvalOptions } from './evaluate.js';
export * from './metrics.js';
export { ctcGreedy, classProbabilities, softmax, whitespaceClasses } from './decode.js';
export { formatEval } from './format.js';
