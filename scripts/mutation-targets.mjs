// The files `npm run mutation` mutates, each with the only test files run against its mutants (the
// module's own tests and its boundary tests): one core is shared, so no mutant runs the whole suite.
export const TARGETS = [
  { mutate: 'src/search/constraints.ts', tests: ['src/search/constraints.test.ts', 'src/search/constraints.boundary.test.ts'] },
  { mutate: 'src/search/pareto.ts', tests: ['src/search/pareto.test.ts', 'src/search/pareto.boundary.test.ts'] },
  { mutate: 'src/search/stats.ts', tests: ['src/search/stats.test.ts', 'src/search/stats.boundary.test.ts'] },
  { mutate: 'src/search/guard.ts', tests: ['src/search/guard.test.ts', 'src/search/guard.boundary.test.ts'] },
  { mutate: 'src/search/space.ts', tests: ['src/search/space.test.ts', 'src/search/space.boundary.test.ts', 'src/search/space.chains.test.ts'] },
  { mutate: 'src/search/strategy.ts', tests: ['src/search/strategy.test.ts', 'src/search/strategy.boundary.test.ts'] },
  { mutate: 'src/bench/stats.ts', tests: ['src/bench/stats.test.ts', 'src/bench/stats.boundary.test.ts'] },
  { mutate: 'src/passes/quant/histogram.ts', tests: ['src/passes/quant/histogram.test.ts', 'src/passes/quant/histogram.boundary.test.ts'] },
  { mutate: 'src/eval/agreement.ts', tests: ['src/eval/agreement.test.ts', 'src/eval/output-kinds.test.ts'] },
  { mutate: 'src/eval/metrics.ts', tests: ['src/eval/metrics.test.ts', 'src/eval/metrics.boundary.test.ts'] },
  { mutate: 'src/passes/registry.ts', tests: ['src/passes/registry.test.ts', 'src/passes/registry.boundary.test.ts'] },
  { mutate: 'src/serve/admission.ts', tests: ['src/serve/admission.test.ts'] },
  { mutate: 'src/serve/cascade.ts', tests: ['src/serve/cascade.test.ts'] },
  { mutate: 'src/serve/batch-measure.ts', tests: ['src/serve/batch-measure.test.ts'] },
  { mutate: 'src/train/sparse-frames.ts', tests: ['src/train/sparse-frames.test.ts'] },
  { mutate: 'src/search/schedule/chains.ts', tests: ['src/search/schedule/chains.test.ts'] },
  // prune-classes decides which classes a head keeps, and whether the data allow dropping any
  { mutate: 'src/passes/classes/class-use.ts', tests: ['src/passes/classes/class-use.test.ts', 'src/passes/prune-classes.test.ts'] },
  { mutate: 'src/passes/prune-classes.ts', tests: ['src/passes/prune-classes.test.ts'] },
  // which Resize nodes train (the block-sum gradient), and the search's training stages for a source
  { mutate: 'src/ops/grad-resize.ts', tests: ['src/ops/grad-resize.test.ts', 'src/ops/gradients.test.ts'] },
  // which HardSwish stages quantize-static takes into int8, and the ranges it computes for them
  { mutate: 'src/passes/quant/hardswish-readers.ts', tests: ['src/passes/quant/hardswish-readers.test.ts', 'src/passes/quant/hardswish-uint8.test.ts'] },
  // the time the search plans with (left, perScreen, perFull): tested through the search itself
  {
    mutate: 'src/search/steps/context.ts',
    tests: ['src/search/strategy.test.ts', 'src/search/steps/steps.test.ts', 'src/search/chains.search.test.ts', 'src/search/optimize-interrupt.test.ts'],
  },
];

/** reports/mutation/<slug>.incremental.json holds one target's results (Stryker's incremental file). */
export function slugOf(file) {
  return file
    .replace(/^src\//, '')
    .replace(/\.ts$/, '')
    .replace(/[/.]/g, '-');
}

export function targetOf(file) {
  const f = file.replace(/\\/g, '/').replace(/^\.\//, '').replace(/:.*$/, '');
  return TARGETS.find((t) => t.mutate === f);
}
