/**
 * A row held as its COPY text line (FORMAT text: tab-separated, `\N` for NULL, `\\ \t \n \r`
 * escaped) instead of a `Row` object: what the COPY-ready decode path (src/decode/copy-ready.ts)
 * hands the merge buffer for a row with every column known (no unchanged-TOAST placeholder).
 * Apply streams `line` as is when the batch's columns are `names`; anything else that needs the
 * values (a batch whose columns differ, a dead letter, a placeholder carried from it) reads them
 * back with `rowOf`, the exact inverse of apply's appendRow for such rows.
 */
import { CopyLine, type CopyReadyEvent, type HeldRow, type PgValue, type Row } from '../kernel/types';

const ESCAPED = /\\(.)/g;

function unescapeChar(_m: string, c: string): string {
  switch (c) {
    case 't':
      return '\t';
    case 'n':
      return '\n';
    case 'r':
      return '\r';
    default:
      return c; // '\\' → '\'
  }
}

/** One field of a line: `\N` is NULL, else the text with COPY's escapes undone. */
function fieldValue(f: string): PgValue {
  if (f === '\\N') return null;
  return f.indexOf('\\') < 0 ? f : f.replace(ESCAPED, unescapeChar);
}

/**
 * The values of a held row as a Row (own properties in `names` order; a null-prototype object, so
 * any column name is an ordinary property). A Row is returned as it is.
 */
export function rowOf(r: HeldRow): Row {
  if (!(r instanceof CopyLine)) return r;
  const row = Object.create(null) as Row;
  const names = r.names;
  // Raw tabs only ever separate fields: a tab inside a value is written as `\t`.
  const fields = r.line.split('\t');
  if (fields.length !== names.length) {
    throw new Error(`a held COPY line has ${fields.length} fields for ${names.length} columns`);
  }
  for (let i = 0; i < names.length; i++) row[names[i]!] = fieldValue(fields[i]!);
  return row;
}

/** The values of a line's fields, in order (a delete's key line). */
export function lineValues(line: string): PgValue[] {
  return line.split('\t').map(fieldValue);
}

/**
 * Whether the merge buffer holds this event as it is (a row as its COPY line, a delete as its
 * key): the key is whole, and the row has every column (no unchanged-TOAST placeholder, key in
 * the row) and does not move the key. Anything else, and truncates, take the general path.
 */
export function holdsAsLine(fe: CopyReadyEvent): boolean {
  if (fe.key === undefined) return false;
  switch (fe.op) {
    case 'd':
      return fe.keyLine !== null;
    case 'c':
    case 'r':
    case 'u':
      return fe.line !== null && fe.mask === null && fe.keyInRow && (fe.beforeKey === undefined || fe.beforeKey === fe.key);
    default:
      return false;
  }
}
