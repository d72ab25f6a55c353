// StrykerJS on the code that decides (search, statistics, calibration ranges, metrics, the pass table).
// One target file per run: `npm run mutation` (scripts/mutation.mjs) loops over scripts/mutation-targets.mjs,
// or by hand: `nice -n 15 npx stryker run --mutate src/search/constraints.ts`. The command runner runs
// only that file's tests, in one process, one mutant at a time (the machine's one core is shared).
import { TARGETS, slugOf, targetOf } from './scripts/mutation-targets.mjs';

function chosenFile() {
  if (process.env.EDGEFIT_MUTATE) return process.env.EDGEFIT_MUTATE;
  const i = process.argv.findIndex((a) => a === '--mutate' || a === '-m');
  if (i >= 0 && process.argv[i + 1]) return process.argv[i + 1];
  const eq = process.argv.find((a) => a.startsWith('--mutate='));
  return eq ? eq.slice('--mutate='.length) : undefined;
}

const file = chosenFile();
const target = file ? targetOf(file) : undefined;
if (!target) {
  throw new Error(
    `stryker.config.mjs: pick one target with EDGEFIT_MUTATE=<file> or --mutate <file>, one of: ${TARGETS.map((t) => t.mutate).join(', ')} (or run \`npm run mutation\`)`,
  );
}

export default {
  $schema: './node_modules/@stryker-mutator/core/schema/stryker-schema.json',
  packageManager: 'npm',
  testRunner: 'command',
  commandRunner: {
    command: `node --import tsx scripts/mutation-tests.mjs ${target.tests.join(' ')}`,
  },
  // the file, or `file.ts:from-to` to mutate only those lines
  mutate: [file.replace(/\\/g, '/').replace(/^\.\//, '')],
  coverageAnalysis: 'off',
  concurrency: 1,
  // A mutant gets the clean run's time × 1.5 + 8 s; an infinite loop ends there as 'Timeout' (killed).
  timeoutMS: 8000,
  timeoutFactor: 1.5,
  incremental: true,
  incrementalFile: `reports/mutation/${slugOf(target.mutate)}.incremental.json`,
  reporters: ['clear-text', 'progress'],
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  // The sandbox needs only the sources, the helper scripts and the package/tsconfig files.
  ignorePatterns: ['/*', '!/src', '!/scripts', '!/package.json', '!/tsconfig.json'],
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  thresholds: { high: 90, low: 80, break: null },
};
