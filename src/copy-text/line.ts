/**
 * A row held as its COPY text line (FORMAT text: tab-separated, `\N` for NULL, `\\ \t \n \r`
 * escaped) instead of a `Row` object: what the COPY-ready decode path (src/decode/copy-ready.ts)
 * hands the merge buffer for a row with every column known (no unchanged-TOAST placeholder).
 * Apply streams `line` as is when the batch's columns are `names`; anything else that needs the
 * values (a batch whose columns differ, a dead letter, a placeholder carried from it) reads them
 * back with `rowOf`, the exact inverse of apply's appendRow for such rows.
 */
import type { ColumnSpec, Op, PgValue, Position, Row, SourceInfo, SourceTable } from '../kernel/types';

export class CopyLine {
  /** `line` holds the values of `names`, in that order. */
  constructor(readonly line: string, readonly names: readonly string[]) {}
}

/** A row as the merge buffer holds it. */
export type HeldRow = Row | CopyLine;

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
 * What the COPY-ready decode path (src/decode/copy-ready.ts) makes of one change event: what the
 * merge buffer and apply need of it. Each field names the general-path expression it equals.
 */
export interface CopyReadyEvent {
  /** Tells it apart from a ChangeEvent. */
  readonly copyReady: true;
  readonly op: Op;
  /**
   * `encodeKey(keyColumns, ev.key, ev.op === 'd' ? ev.before : ev.after)`: the buffer's Map key;
   * undefined when a key column is missing or is the unchanged-TOAST placeholder, and for 't'.
   */
  readonly key: string | undefined;
  /** 'c' | 'r' | 'u': `appendRow('', ev.after, names)` (names = `columns`' names); null otherwise. */
  readonly line: string | null;
  /** 'c' | 'r' | 'u': `unavailableMask(ev.after, names)`; null otherwise (and when no placeholder). */
  readonly mask: string | null;
  /**
   * 'c' | 'r' | 'u': the buffer's requireKeyInRow check passes (every key column is in `after`
   * and not a placeholder); false otherwise.
   */
  readonly keyInRow: boolean;
  /** 'd' with a key: `appendRow('', keyRow(keyColumns, ev.key, ev.before), keyColumns)`; null otherwise. */
  readonly keyLine: string | null;
  /** 'u' with a `before` image: `encodeKey(keyColumns, null, ev.before)` (an update that moved the key); undefined otherwise. */
  readonly beforeKey: string | undefined;
  /** `ev.columns` (the same array instance). */
  readonly columns: readonly ColumnSpec[];
  /** `ev.source`. */
  readonly source: SourceInfo;
  /** `ev.table`: the table the event names (source block or `__` fields), else the topic's. */
  readonly table: SourceTable;
  /** `ev.pos`. */
  readonly pos: Position;
  /** `ev.bytes` (memory accounting). */
  readonly bytes: number;
  /** The names of `columns`, in `line`'s order (one array per schema). */
  readonly names: readonly string[];
  /** The columns `key` and `keyLine` are made of (the encoder's). */
  readonly keyColumns: readonly string[];
}

export function isCopyReady(x: object): x is CopyReadyEvent {
  return (x as { copyReady?: unknown }).copyReady === true;
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
