// Starting one of the toolkit's own scripts in a child Node process, from compiled or TypeScript sources.
// Imports nothing local.

import { fileURLToPath } from 'node:url';

/**
 * Arguments for `process.execPath` that run the script `name` lying beside the module at `moduleUrl`
 * (pass `import.meta.url`): `<name>.js` from compiled sources, `--import tsx <name>.ts` from TypeScript
 * sources.
 */
export function nodeScriptArgs(moduleUrl: string, name: string): string[] {
  if (moduleUrl.endsWith('.ts')) {
    let tsx = 'tsx';
    try {
      tsx = import.meta.resolve('tsx');
    } catch {
      // resolved from the working directory instead
    }
    return ['--import', tsx, fileURLToPath(new URL(`./${name}.ts`, moduleUrl))];
  }
  return [fileURLToPath(new URL(`./${name}.js`, moduleUrl))];
}
