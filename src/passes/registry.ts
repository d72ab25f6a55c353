// The table of every pass. The search, the CLI and the conformance suite read it; a test imports
// each entry so the list and the code cannot drift apart.

import type { Pass } from './pass.js';

export const PASSES: Pass[] = [];

export function findPass(name: string): Pass | undefined {
  return PASSES.find((p) => p.name === name);
}
