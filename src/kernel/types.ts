/**
 * The contract between the pipeline stages: source → decode → buffer → apply → commit.
 * Everything here is plain data; no stage imports another stage's internals, only these types.
 */

/** Debezium operation: create, read (snapshot), update, delete, truncate. */
export type Op = 'c' | 'r' | 'u' | 'd' | 't';

/**
 * Marker for a column whose value Debezium did not send (unchanged TOASTed value:
 * `__debezium_unavailable_value`, its one-element array form, or its bytes for bytea).
 * It must never be written: the stored value is kept.
 */
export const UNAVAILABLE: unique symbol = Symbol.for('nilus.unavailable');
export type Unavailable = typeof UNAVAILABLE;

/**
 * A decoded column value, already in PostgreSQL's text input form (what COPY … FORMAT text
 * expects before escaping): '12.50', '2024-02-29 10:00:00.123456', '{1,2}', '\\x00ff', 't'.
 * null is SQL NULL. Decoding to text once keeps the hot path allocation-light and exact
 * (no float rounding of numerics, no time-zone shifts).
 */
export type PgValue = string | null | Unavailable;

/** A row: column name → value, in the column order of its `ColumnSpec[]`. */
export type Row = Record<string, PgValue>;

/** Whether any column of `row` is the unchanged-TOAST placeholder. */
export function hasUnavailable(row: Row): boolean {
  for (const col in row) if (row[col] === UNAVAILABLE) return true;
  return false;
}

/**
 * Sets a column of a row built with `{}`. A column named `__proto__` must become an own property:
 * plain assignment would set the object's prototype instead (and lose the value).
 */
export function setColumn(row: Row, name: string, v: PgValue): void {
  if (name === '__proto__') Object.defineProperty(row, name, { value: v, enumerable: true, writable: true, configurable: true });
  else row[name] = v;
}

/** One column as described by the event's Connect schema (or inferred when schemaless). */
export interface ColumnSpec {
  /** Column name exactly as the source spells it (case preserved). */
  readonly name: string;
  /** PostgreSQL type to use when creating the column, e.g. 'numeric(12,2)', 'timestamp', 'text[]'. */
  readonly pgType: string;
  /** Connect schema optional flag: false means NOT NULL at the source. */
  readonly optional: boolean;
  /** Debezium/Connect logical name, e.g. 'io.debezium.time.MicroTimestamp'; undefined for primitives. */
  readonly logical?: string;
  /** Connect primitive type: int8..int64, float32/64, boolean, string, bytes, array, map, struct. */
  readonly connectType: string;
  /** pgType is the source column's own type (column.propagate.source.type): length/precision known. */
  readonly sourceType?: boolean;
}

/** The source table an event belongs to, from the topic name and/or `source` block. */
export interface SourceTable {
  /** Schema (PostgreSQL source) or database (MongoDB/MySQL) name. */
  readonly schema: string;
  readonly table: string;
}

/** Where an event came from: Kafka position plus the source database's position. */
export interface Position {
  readonly topic: string;
  readonly partition: number;
  /** Kafka offset as a decimal string (kafkajs convention). */
  readonly offset: string;
}

export interface SourceInfo {
  /** PostgreSQL LSN of the change, when the source has one. */
  readonly lsn?: bigint;
  /** Source commit time in ms since epoch (`source.ts_ms`), when known. */
  readonly tsMs?: number;
  /** Debezium event time (`ts_ms` of the envelope), when known. */
  readonly eventTsMs?: number;
  /** Whether this is a snapshot record ('true', 'last', 'first', 'false'…), as sent. */
  readonly snapshot?: string;
}

/** One decoded change event. `key` holds the primary-key columns only. */
export interface ChangeEvent {
  readonly pos: Position;
  readonly table: SourceTable;
  readonly op: Op;
  /** Primary-key values (text form) by key column name; null when the event has no key. */
  readonly key: Row | null;
  /** Key column names in order, or empty when the event has no key. */
  readonly keyColumns: readonly string[];
  readonly before: Row | null;
  readonly after: Row | null;
  /**
   * Columns of `after` (or `before` for deletes), in order. The same array instance is shared
   * by every event decoded with the same schema, so identity comparison is a cheap
   * "schema changed?" test.
   */
  readonly columns: readonly ColumnSpec[];
  readonly source: SourceInfo;
  /**
   * Memory accounting: the key's and value's bytes without a JsonConverter schema envelope (a
   * schema is held once per distinct schema, compiled; counting it per event overstated what a
   * buffered event holds ~10×). Still above the decoded event's heap (measured ~2×).
   */
  readonly bytes: number;
  /**
   * A create that a primary-key change produced (Debezium's `__debezium.oldkey` header): the key
   * row the same source row had before. Unchanged-TOAST placeholders in `after` are filled from
   * the row stored (or buffered) under this key.
   */
  readonly movedFrom?: Row;
  /** A delete that a primary-key change produced (`__debezium.newkey` header): the row lives on under a new key. */
  readonly moving?: boolean;
}

/** A raw Kafka record as handed from source to decode. */
export interface RawRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** The record's headers as the client parsed them (not copied); only Debezium's key-change headers are read. */
  readonly headers?: Readonly<Record<string, unknown>>;
  /** Not read by the pipeline; fakes and fixtures may set it. */
  readonly timestampMs?: number;
}

/** Destination table, always `<schema>.<table>`, names as they must appear in PostgreSQL. */
export interface TableRef {
  readonly schema: string;
  readonly table: string;
}

export type Strategy = 'replace' | 'append' | 'merge';

/**
 * What the buffer hands to apply for one destination table in one flush.
 * For merge: `upserts` and `deletes` are already reduced (one entry per key, last state wins),
 * `truncate` means a truncate happened and must run before the rows that followed it.
 * For append: `events` holds every event in offset order.
 */
export interface TableBatch {
  readonly target: TableRef;
  readonly strategy: Strategy;
  readonly keyColumns: readonly string[];
  /**
   * Batch replace: the primary key to give the target when this batch creates it (the source
   * table's, or the manifest's primary_key), so a later merge into the copy has its key.
   */
  readonly createKey?: readonly string[];
  /** Columns seen in this batch (union, in first-seen order). */
  readonly columns: readonly ColumnSpec[];
  /** True when an op 't' was seen; rows below are only those after the last truncate. */
  readonly truncate: boolean;
  /** merge: a row from the COPY-ready decode path may be held as its COPY line (copy-text/line.ts). */
  readonly upserts: readonly HeldRow[];
  /** Source position of each upsert (same index), for the stale-event guard and latency. */
  readonly upsertSource: readonly SourceInfo[];
  /** Key rows (key columns only) of the keys to delete. */
  readonly deletes: readonly Row[];
  readonly deleteSource: readonly SourceInfo[];
  /**
   * merge with delete_mode soft: for a delete (same index) of a key created or updated earlier in
   * the same batch, that row (the last image buffered), so a row that never reached the target is
   * still kept, marked. Absent in hard mode.
   */
  readonly deleteRows?: readonly (HeldRow | undefined)[];
  /** Kafka position of the event behind each upsert / delete (same index), for dead-lettering. */
  readonly upsertPos?: readonly Position[];
  readonly deletePos?: readonly Position[];
  /**
   * The event columns behind each upsert (same index). A batch's `columns` is the union over its
   * events, where a later schema wins; a piece of the batch re-applied on its own (isolating a
   * rejected row) takes the union of its own rows' columns, so a row of an older schema is not
   * judged by a newer one.
   */
  readonly upsertColumns?: readonly (readonly ColumnSpec[])[];
  /**
   * merge: for an upsert (same index) that still holds unchanged-TOAST placeholders after the
   * buffer reduced it and that a primary-key change produced, the key row it moved from; apply
   * fills the placeholders from the target's row under that key before deleting it. Absent when
   * no upsert of the batch needs it.
   */
  readonly upsertFrom?: readonly (Row | undefined)[];
  /** merge: the op ('c' | 'r' | 'u') of the event behind each upsert (same index), for metadata_columns. */
  readonly upsertOp?: readonly Op[];
  /** merge with `truncate`: the last truncate's source and Kafka position (soft deletes, metadata_columns). */
  readonly truncateSource?: SourceInfo;
  readonly truncatePos?: Position;
  /** append only: every event, in offset order. */
  readonly events: readonly ChangeEvent[];
}

/** The offsets a flush makes durable: next offset to read per topic-partition. */
export interface OffsetMark {
  readonly topic: string;
  readonly partition: number;
  /** Next offset to consume (last applied + 1), decimal string. */
  readonly next: string;
  /**
   * The stored next offset this flush continues from (compare-and-set fencing): the write only
   * succeeds while the stored row still says `from`, so a consumer that lost the partition in a
   * rebalance cannot apply the same events a second time. null = no row stored yet;
   * undefined = no fencing (unconditional upsert).
   */
  readonly from?: string | null;
  /**
   * The newest source commit time (source.ts_ms) among the records up to `next`, stored beside the
   * offset for `nilus-pg status` and the lag metrics; undefined when none had one (the stored
   * value is kept).
   */
  readonly sourceTsMs?: number;
}

/** One flush: every table batch plus the offsets, applied in one PostgreSQL transaction. */
export interface Flush {
  readonly groupId: string;
  readonly tables: readonly TableBatch[];
  readonly offsets: readonly OffsetMark[];
}

/**
 * A row held as its COPY text line (FORMAT text, src/copy-text/): what the COPY-ready decode path
 * hands the merge buffer for a row with every column known. src/copy-text/line.ts reads it back.
 */
export class CopyLine {
  /** `line` holds the values of `names`, in that order. */
  constructor(readonly line: string, readonly names: readonly string[]) {}
}

/** A row as the merge buffer holds it. */
export type HeldRow = Row | CopyLine;

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

/** What one flush wrote to one table (the `flushed` event and metrics). */
export interface FlushedTable {
  readonly table: string;
  readonly upserts: number;
  readonly deletes: number;
  readonly appends: number;
  readonly truncates: number;
  /**
   * Rows inserted with unchanged-TOAST values that neither the buffer nor the target's row under
   * the old key could supply (those columns got their default), and a few of their keys.
   */
  readonly unresolved?: number;
  readonly unresolvedKeys?: readonly string[];
  readonly schemaChanges?: Readonly<Record<string, number>>; // type changes applied (widen, variant), by kind
  /** The newest source commit time (source.ts_ms) among the changes applied, when any had one. */
  readonly sourceTsMs?: number;
}
