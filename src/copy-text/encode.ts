/**
 * PostgreSQL COPY text-format encoding (FORMAT text, default delimiter tab, NULL as \N).
 * Values arrive already in PostgreSQL's text input form; only the four characters COPY treats
 * specially need escaping. Output is produced as large string chunks so the stream sees a few
 * hundred writes per 100k rows instead of one per row.
 */
import { UNAVAILABLE, type PgValue, type Row } from '../kernel/types';

/** Chunk size in UTF-16 code units; ~256 KiB keeps syscalls few without holding much memory. */
export const COPY_CHUNK_CHARS = 256 * 1024;

/** A value holding one of the four characters COPY's text format escapes. */
export const SPECIAL = /[\\\t\n\r]/;

const BACKSLASH_G = /\\/g;
const TAB_G = /\t/g;
const LF_G = /\n/g;
const CR_G = /\r/g;

/**
 * COPY's escapes of a text holding at least one special character. Backslashes first, so the
 * backslashes the other three add are not doubled; string replacements, no per-match callback.
 */
export function escapeSpecial(t: string): string {
  return t.replace(BACKSLASH_G, '\\\\').replace(TAB_G, '\\t').replace(LF_G, '\\n').replace(CR_G, '\\r');
}

/** One field. null, UNAVAILABLE and undefined all encode as \N (the caller decides what they mean). */
export function copyField(v: PgValue | undefined): string {
  if (v === null || v === undefined || v === UNAVAILABLE) return '\\N';
  // Test first: most values have nothing to escape and then no new string is built.
  return SPECIAL.test(v) ? escapeSpecial(v) : v;
}

/**
 * Appends the fields of one row (in `columns` order) to `out`, without the line end.
 * Returns the new string; V8 concatenation builds ropes, so this does not copy per append.
 */
export function appendRow(out: string, row: Row, columns: readonly string[]): string {
  for (let j = 0; j < columns.length; j++) {
    if (j > 0) out += '\t';
    out += copyField(row[columns[j]!]);
  }
  return out;
}

/**
 * Which columns of a row are unavailable (unchanged TOAST) or absent: a comma-joined list of
 * column indexes, or null when every column has a value (the common case: no allocation).
 */
export function unavailableMask(row: Row, columns: readonly string[]): string | null {
  let mask: string | null = null;
  for (let j = 0; j < columns.length; j++) {
    const v = row[columns[j]!];
    if (v === UNAVAILABLE || v === undefined) mask = mask === null ? String(j) : `${mask},${j}`;
  }
  return mask;
}

/**
 * Yields COPY text for `count` rows in chunks of about COPY_CHUNK_CHARS. `line(i, out)` appends
 * row i's fields (no line end) to `out` and returns it.
 */
export function* copyChunks(count: number, line: (i: number, out: string) => string): Generator<string> {
  let out = '';
  for (let i = 0; i < count; i++) {
    out = line(i, out) + '\n';
    if (out.length >= COPY_CHUNK_CHARS) {
      yield out;
      out = '';
    }
  }
  if (out.length > 0) yield out;
}
