/** Connect arrays → PostgreSQL array literals: '{1,NULL,"a b","q\"uote"}', nested arrays unquoted. */
import type { PgValue } from '../../kernel/types';
import { UNAVAILABLE } from '../../kernel/types';
import type { Convert } from './types';
import { ConvertError, fail } from './types';

const NEEDS_QUOTES = /[{}",\\\s]/;

/** Quote one element's text if PostgreSQL's array parser would otherwise misread it. */
export function quoteElement(s: string): string {
  if (s.length === 0 || NEEDS_QUOTES.test(s) || (s.length === 4 && s.toUpperCase() === 'NULL')) {
    return '"' + s.replace(/[\\"]/g, '\\$&') + '"';
  }
  return s;
}

/**
 * Debezium's unchanged-TOAST marker for int/bigint/date arrays: the placeholder's bytes as numbers
 * (UnchangedToastedPlaceholder). A real array equal to it is vanishingly unlikely.
 */
function isBytePlaceholder(v: unknown[], bytes: readonly number[]): boolean {
  if (v.length !== bytes.length || v[0] !== bytes[0]) return false;
  for (let i = 1; i < bytes.length; i++) if (v[i] !== bytes[i]) return false;
  return true;
}

export function arrayConverter(element: Convert, nested: boolean, placeholder: string): Convert {
  const bytes = Array.from(Buffer.from(placeholder, 'utf8'));
  return (v) => {
    if (!Array.isArray(v)) return fail('an array', v);
    // Unchanged TOASTed arrays: a one-element array holding the placeholder (text-like arrays),
    // or the placeholder's bytes as numbers (int, bigint, date arrays).
    if (v.length === 1 && v[0] === placeholder) return UNAVAILABLE;
    if (isBytePlaceholder(v, bytes)) return UNAVAILABLE;
    let out = '{';
    for (let i = 0; i < v.length; i++) {
      if (i > 0) out += ',';
      const e: unknown = v[i];
      if (e === null || e === undefined) {
        out += 'NULL';
        continue;
      }
      let t: PgValue;
      try {
        t = element(e);
      } catch (err) {
        if (err instanceof ConvertError) throw new ConvertError(`array element ${i}: ${err.message}`);
        throw err;
      }
      if (t === null) out += 'NULL';
      else if (t === UNAVAILABLE) throw new ConvertError(`array element ${i} is the unavailable-value placeholder`);
      else out += nested ? t : quoteElement(t);
    }
    return out + '}';
  };
}
