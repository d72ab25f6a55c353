// Edit distance and "did you mean" suggestions, shared by the CLI's flag parser, the task-spec checker
// and the text metrics (CER). Imports nothing.

/**
 * Levenshtein distance between two sequences. A string compares UTF-16 code units; pass `[...s]` to
 * compare Unicode code points.
 */
export function levenshtein<T>(a: ArrayLike<T>, b: ArrayLike<T>): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

/**
 * The candidate nearest to `word` by edit distance (the first one on ties), or undefined when even that
 * one is more than max(2, ⌊word.length / 3⌋) edits away. `ignoreCase` compares lower-cased forms.
 */
export function closest(word: string, candidates: readonly string[], ignoreCase = false): string | undefined {
  const w = ignoreCase ? word.toLowerCase() : word;
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = levenshtein(w, ignoreCase ? c.toLowerCase() : c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}
