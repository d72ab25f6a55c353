// Finds an installed npm package's folder (for its data files: fonts, dictionaries, digits), even when
// its package.json is not in the package's "exports".

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

export function packageDir(name: string): string {
  const require = createRequire(import.meta.url);
  for (const base of require.resolve.paths(name) ?? []) {
    const dir = join(base, name);
    if (existsSync(join(dir, 'package.json'))) return dir;
  }
  throw new Error(`npm package '${name}' is not installed; run npm install`);
}
