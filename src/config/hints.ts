/** "Did you mean …" hints for unknown keys, by edit distance. */

export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

/** The closest candidate, if it is close enough to be a plausible typo (or differs only in case/separators). */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const norm = (s: string): string => s.toLowerCase().replace(/[-_.]/g, '');
  // A - for a _ is a spelling (the kebab-case aliases of ./aliases.ts), not a typo: `dest-tabel` is one slip from dest_table.
  const spell = (s: string): string => s.toLowerCase().replace(/-/g, '_');
  let best: string | undefined;
  let bestScore = Infinity;
  for (const c of candidates) {
    const score = norm(c) === norm(word) ? 0 : editDistance(spell(word), spell(c));
    if (score < bestScore) {
      best = c;
      bestScore = score;
    }
  }
  // Allow roughly one typo per four characters: close enough to be a slip, far enough not to guess wildly.
  const limit = Math.max(2, Math.floor(word.length / 4));
  return bestScore <= limit ? best : undefined;
}
