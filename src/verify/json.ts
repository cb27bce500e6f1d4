/**
 * JSON documents compared as PostgreSQL's jsonb compares them: whitespace and key order do not
 * matter, a duplicated key keeps its last value, numbers are compared by value (`1.50` = `1.5`,
 * `1e2` = `100`). Numbers are parsed as doubles, so two integers beyond 2^53 that differ only past
 * the 16th digit compare equal (a missed difference, never an invented one).
 */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return Object.fromEntries(Object.keys(o).sort().map((k) => [k, canonical(o[k])]));
  }
  return v;
}

/** The document's canonical text; the input itself when it is not JSON (then compared as text). */
export function canonicalJson(text: string): string {
  try {
    return JSON.stringify(canonical(JSON.parse(text)));
  } catch {
    return text;
  }
}

export function jsonEqual(a: string | null, b: string | null): boolean {
  if (a === null || b === null) return a === b;
  return a === b || canonicalJson(a) === canonicalJson(b);
}
