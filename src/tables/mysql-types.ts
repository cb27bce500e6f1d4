/**
 * MySQL/MariaDB → PostgreSQL, pure: column metadata (information_schema.COLUMNS) → `SourceColumn`
 * with its PostgreSQL type, and raw values → PostgreSQL text input. Documented row by row in
 * docs/types.md ("MySQL / MariaDB batch sources").
 *
 * Values arrive as the bytes of MySQL's text protocol (the reader asks mysql2 for no conversion at
 * all), so nothing passes through a JS number or Date: integers, decimals and times are MySQL's
 * own text, binary columns their bytes, BIT its big-endian bytes.
 */
import { FatalError } from '../kernel/errors';
import type { SourceColumn } from './table-source';

/** One row of information_schema.COLUMNS (plus MariaDB's JSON check), as the reader hands it over. */
export interface MysqlColumnMeta {
  readonly name: string;
  /** DATA_TYPE, e.g. `bigint`, `varchar`, `point`. */
  readonly dataType: string;
  /** COLUMN_TYPE, e.g. `bigint(20) unsigned`, `decimal(10,2)`, `enum('a','b')`. */
  readonly columnType: string;
  readonly nullable: boolean;
  /**
   * MariaDB stores JSON as `longtext` with a `json_valid(col)` column check; the reader sets this
   * when it finds one, so such a column maps like MySQL's `json`.
   */
  readonly jsonCheck?: boolean;
}

export interface MappingOptions {
  readonly tinyint1AsBoolean: boolean;
}

/** How a value of a column is decoded; derived from `sourceType` + `pgType`, so it survives copies of a column. */
export type Kind = 'ascii' | 'int-bool' | 'bit-bool' | 'bits' | 'text' | 'json' | 'bytes' | 'date' | 'datetime' | 'timestamp';

interface TypeEntry {
  readonly kind: Kind;
  /** PostgreSQL type for a column of this MySQL type. */
  readonly pg: (columnType: string, o: MappingOptions) => string;
  readonly cursorable?: boolean;
}

const fixed = (pg: string) => (): string => pg;
const unsigned = (t: string): boolean => /\bunsigned\b/i.test(t);
const isTinyint1 = (t: string): boolean => /^tinyint\(1\)/i.test(t);
/** The first number in parentheses: the fsp of datetime(3), the n of bit(10). */
export const arg = (t: string, dflt: number): number => {
  const m = /\((\d+)/.exec(t);
  return m ? Number(m[1]) : dflt;
};

const INT = (signed: string, uns: string): TypeEntry => ({ kind: 'ascii', cursorable: true, pg: (t) => (unsigned(t) ? uns : signed) });
const TEXT: TypeEntry = { kind: 'text', pg: fixed('text') };
const BYTES: TypeEntry = { kind: 'bytes', pg: fixed('bytea') };

/** The registry, keyed by DATA_TYPE. A type not listed here is refused by describe(). */
const TYPES: Readonly<Record<string, TypeEntry>> = {
  tinyint: { kind: 'ascii', cursorable: true, pg: (t, o) => (o.tinyint1AsBoolean && isTinyint1(t) ? 'boolean' : 'smallint') },
  smallint: INT('smallint', 'integer'),
  mediumint: INT('integer', 'integer'), // unsigned max 16777215 fits integer
  int: INT('integer', 'bigint'),
  integer: INT('integer', 'bigint'),
  bigint: INT('bigint', 'numeric(20,0)'),
  year: { kind: 'ascii', cursorable: true, pg: fixed('smallint') },
  decimal: { kind: 'ascii', pg: (t) => `numeric(${/\((\d+),(\d+)\)/.exec(t)?.slice(1).join(',') ?? '10,0'})` },
  float: { kind: 'ascii', pg: fixed('real') },
  double: { kind: 'ascii', pg: fixed('double precision') },
  bit: { kind: 'bits', pg: (t) => (arg(t, 1) === 1 ? 'boolean' : `bit(${arg(t, 1)})`) },
  char: TEXT,
  varchar: TEXT,
  tinytext: TEXT,
  text: TEXT,
  mediumtext: TEXT,
  longtext: TEXT,
  enum: TEXT,
  set: TEXT,
  json: { kind: 'json', pg: fixed('jsonb') },
  binary: BYTES,
  varbinary: BYTES,
  tinyblob: BYTES,
  blob: BYTES,
  mediumblob: BYTES,
  longblob: BYTES,
  date: { kind: 'date', cursorable: true, pg: fixed('date') },
  datetime: { kind: 'datetime', cursorable: true, pg: (t) => `timestamp(${arg(t, 0)})` },
  timestamp: { kind: 'timestamp', cursorable: true, pg: (t) => `timestamptz(${arg(t, 0)})` },
  time: { kind: 'ascii', pg: fixed('interval') },
  // MariaDB's own types, sent as their text form
  uuid: { kind: 'ascii', pg: fixed('uuid') },
  inet4: { kind: 'ascii', pg: fixed('inet') },
  inet6: { kind: 'ascii', pg: fixed('inet') },
};

const SPATIAL = new Set(['geometry', 'point', 'linestring', 'polygon', 'multipoint', 'multilinestring', 'multipolygon', 'geometrycollection', 'geomcollection']);

const bt = (name: string): string => '`' + name.replace(/`/g, '``') + '`';

/** Column metadata → the column as the batch pipeline sees it. Throws for spatial and unknown types. */
export function mapColumn(table: string, meta: MysqlColumnMeta, opts: MappingOptions): SourceColumn {
  const dataType = meta.dataType.toLowerCase();
  const entry = meta.jsonCheck && dataType === 'longtext' ? TYPES.json! : TYPES[dataType];
  if (!entry) {
    const what = SPATIAL.has(dataType) ? 'a spatial type, which nilus does not read' : 'not a type nilus can read exactly';
    throw new FatalError(
      `MySQL table ${table}: column ${bt(meta.name)} has type ${meta.columnType}: ${what}. ` +
        `Create a view without this column (or with it converted, e.g. ST_AsText(${bt(meta.name)}) AS ${bt(meta.name)} ` +
        `for a geometry, CAST(… AS CHAR) otherwise) and use the view as source_table.`,
    );
  }
  const pgType = entry.pg(meta.columnType, opts);
  return {
    name: meta.name,
    sourceType: meta.columnType,
    pgType,
    notNull: !meta.nullable,
    cursorable: (entry.cursorable ?? false) && pgType !== 'boolean',
  };
}

/** FLOAT is read as `col * 1e0`: MySQL prints a float with 6 digits, the double widening exactly. */
export function needsDoubleWidening(col: SourceColumn): boolean {
  return baseType(col.sourceType) === 'float';
}

function baseType(sourceType: string): string {
  return (/^[a-z0-9_]+/i.exec(sourceType)?.[0] ?? '').toLowerCase();
}

export function kindOf(col: SourceColumn): Kind {
  const base = baseType(col.sourceType);
  const entry = TYPES[base];
  if (!entry) throw new TypeError(`column ${col.name}: unknown MySQL type ${col.sourceType}`);
  if (col.pgType === 'jsonb') return 'json'; // MariaDB JSON is longtext
  if (entry.kind === 'ascii' && col.pgType === 'boolean') return 'int-bool';
  if (entry.kind === 'bits' && col.pgType === 'boolean') return 'bit-bool';
  return entry.kind;
}

/** Where a value came from, for error messages and zero-date reports. */
export interface ValueContext {
  /** `database.table` */
  readonly table: string;
  readonly column: string;
  readonly onZeroDate?: (table: string, column: string) => void;
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})/;

export function daysIn(year: number, month: number): number {
  return month === 2 ? (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * A MySQL date or datetime (text) → PostgreSQL text, or null for a zero date. Year 0 (which MySQL
 * accepts) is 1 BC in PostgreSQL, the same proleptic Gregorian day.
 */
function dateText(s: string, ctx: ValueContext): string | null {
  const m = DATE_RE.exec(s);
  if (!m) throw notDateError(s, ctx);
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (mo === 0 || d === 0) {
    ctx.onZeroDate?.(ctx.table, ctx.column);
    return null;
  }
  if (mo > 12 || d > daysIn(y, mo)) throw notCalendarDateError(s, ctx);
  return y === 0 ? `0001${s.slice(4)} BC` : s;
}

export function notDateError(s: string, ctx: ValueContext): FatalError {
  return new FatalError(`MySQL table ${ctx.table}: column ${bt(ctx.column)} holds ${JSON.stringify(s)}, not a date`);
}

export function notCalendarDateError(s: string, ctx: ValueContext): FatalError {
  return new FatalError(
    `MySQL table ${ctx.table}: column ${bt(ctx.column)} holds ${s}, which is not a calendar date (stored under ALLOW_INVALID_DATES); ` +
      'PostgreSQL cannot store it: correct it at the source or read the table through a view that maps it',
  );
}

export function textNulError(ctx: ValueContext): FatalError {
  return new FatalError(
    `MySQL table ${ctx.table}: column ${bt(ctx.column)} holds a NUL character (0x00), which PostgreSQL text cannot store; ` +
      `remove it at the source or read the table through a view with REPLACE(${bt(ctx.column)}, CHAR(0), '')`,
  );
}

export function jsonNulError(ctx: ValueContext): FatalError {
  return new FatalError(
    `MySQL table ${ctx.table}: column ${bt(ctx.column)} holds JSON with a \\u0000 escape, which PostgreSQL jsonb cannot store; ` +
      'remove it at the source or read the table through a view that drops it',
  );
}

function textValue(s: string, ctx: ValueContext): string {
  if (s.includes('\u0000')) throw textNulError(ctx);
  return s;
}

/** `\u0000` (not itself escaped) in JSON text: jsonb refuses it. */
const JSON_NUL = /(?:^|[^\\])(?:\\\\)*\\u0000/;

function jsonValue(s: string, ctx: ValueContext): string {
  if (JSON_NUL.test(s)) throw jsonNulError(ctx);
  return s;
}

function bitString(b: Buffer, n: number): string {
  let s = '';
  for (const byte of b) s += byte.toString(2).padStart(8, '0');
  return s.length >= n ? s.slice(s.length - n) : s.padStart(n, '0');
}

/** A decoder for one column: raw text-protocol bytes (null for NULL) → PostgreSQL text input. */
export function valueDecoder(col: SourceColumn, ctx: ValueContext): (raw: Buffer | null) => string | null {
  const kind = kindOf(col);
  switch (kind) {
    case 'ascii':
      return (raw) => (raw === null ? null : raw.toString('latin1'));
    case 'int-bool':
      return (raw) => (raw === null ? null : /^[+-]?0+$/.test(raw.toString('latin1')) ? 'f' : 't');
    case 'bit-bool':
      return (raw) => (raw === null ? null : raw.some((x) => x !== 0) ? 't' : 'f');
    case 'bits': {
      const n = arg(col.sourceType, 1);
      return (raw) => (raw === null ? null : bitString(raw, n));
    }
    case 'text':
      return (raw) => (raw === null ? null : textValue(raw.toString('utf8'), ctx));
    case 'json':
      return (raw) => (raw === null ? null : jsonValue(raw.toString('utf8'), ctx));
    case 'bytes':
      return (raw) => (raw === null ? null : '\\x' + raw.toString('hex'));
    case 'date':
    case 'datetime':
      return (raw) => (raw === null ? null : dateText(raw.toString('latin1'), ctx));
    case 'timestamp':
      // the session's time_zone is +00:00, so the text is UTC
      return (raw) => {
        if (raw === null) return null;
        const v = dateText(raw.toString('latin1'), ctx);
        return v === null ? null : v + '+00';
      };
  }
}

const BOUND_DATETIME = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,6})?)?)?(?:\s*(Z|[+-]\d{2}(?::?\d{2})?))?(\s+BC)?$/i;

/**
 * A cursor bound (text in the column's PostgreSQL type, as rows carry it or as the user wrote it)
 * → the literal MySQL compares the column with. Strictly validated: bounds travel as mysql2
 * placeholders, and a value that is not an integer or a date/time of the expected form is refused.
 * An offset on a timestamp bound is applied (the session is UTC); on a datetime it is ignored, as
 * PostgreSQL ignores it for `timestamp`.
 */
export function cursorBound(col: SourceColumn, value: string): string {
  const kind = kindOf(col);
  const fail = (): never => {
    throw new FatalError(`cursor bound ${JSON.stringify(value)} for MySQL column ${bt(col.name)} (${col.sourceType}) is not a valid ${col.pgType} value`);
  };
  const v = value.trim();
  if (kind === 'ascii') {
    if (!col.cursorable || !/^[+-]?\d+$/.test(v)) fail();
    return v;
  }
  if (kind !== 'date' && kind !== 'datetime' && kind !== 'timestamp') return fail();
  const m = BOUND_DATETIME.exec(v) ?? fail();
  let [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as [number, number, number, number, number, number];
  const frac = m[7] ?? '';
  if (m[9]) {
    if (y > 1) fail(); // MySQL's calendar starts at year 0 = 1 BC
    y = 0;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || h > 23 || mi > 59 || s > 59) fail();
  if (kind === 'timestamp' && m[8] && m[8].toUpperCase() !== 'Z') {
    const sign = m[8][0] === '-' ? -1 : 1;
    const digits = m[8].slice(1).replace(':', '');
    const offsetMin = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || 0);
    const t = new Date(0);
    t.setUTCFullYear(y, mo - 1, d); // not Date.UTC, which reads years 0–99 as 1900–1999
    t.setUTCHours(h, mi, s, 0);
    t.setTime(t.getTime() - sign * offsetMin * 60_000);
    if (t.getUTCFullYear() < 0) fail();
    [y, mo, d, h, mi, s] = [t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate(), t.getUTCHours(), t.getUTCMinutes(), t.getUTCSeconds()];
  }
  const p = (x: number, w = 2): string => String(x).padStart(w, '0');
  const date = `${p(y, 4)}-${p(mo)}-${p(d)}`;
  return kind === 'date' ? date : `${date} ${p(h)}:${p(mi)}:${p(s)}${frac}`;
}
