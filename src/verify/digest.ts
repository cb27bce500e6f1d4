/**
 * The digest side of a table, for `nilus-pg verify`: everything verify needs from a database,
 * computed inside that database so rows do not travel. PostgreSQL in ./pg-digest.ts,
 * MySQL/MariaDB in ./mysql-digest.ts; the comparison itself is pure and lives in src/verify/.
 *
 * Rows are split into buckets by the key, not by key ranges: bucket = the first `bits` bits of
 * md5(canonical text of the key). MySQL and PostgreSQL order keys differently (collations that
 * ignore case or trailing spaces, tinyint(1) read as boolean, binary vs text), so a key range
 * bounded on one side need not select the same rows on the other; a bucket of the canonical key
 * text does by construction, whatever the key's type. A bucket splits into 16 sub-buckets (4 more
 * bits), which is what bisection walks down.
 *
 * Canonical text: each column is rendered inside its database so that equal values give identical
 * text on both sides (docs/types.md, "How verify compares values"); a row's text joins its columns
 * as `<length>:<text>` (`N` for NULL) separated by `|`, so no two rows share a text by accident.
 */
import type { TableRef } from '../kernel/types';

/** Which buckets: those of depth `bits` (0–32) whose number is in `buckets`. */
export interface BucketSet {
  readonly bits: number;
  readonly buckets: readonly number[];
}

export interface BucketDigest {
  readonly bucket: number;
  readonly rows: number;
  /** Sum of the first 60 bits of md5(row text) over the bucket's rows, as exact decimal text. */
  readonly sum: string;
}

/** How a column takes part in the in-database digest. */
export type CompareMode =
  /** The canonical text itself. */
  | 'exact'
  /**
   * JSON from MySQL/MariaDB, which has no SQL form equal to PostgreSQL's jsonb text: the SQL digest
   * holds its shape only (type, and array length); the documents themselves are streamed to the
   * worker (jsonRows), digested there after parsing (src/verify/json.ts) and compared in full in
   * the rows fetched for buckets that differ.
   */
  | 'json';

export interface DigestColumn {
  readonly name: string;
  /** The type as this database names it, for messages. */
  readonly type: string;
  /** False when this side cannot render the column exactly in SQL (MySQL JSON): compared as 'json'. */
  readonly sqlExact: boolean;
  /** PostgreSQL only: pg_type.typname (`int4`, `_text`, `varbit`), and whether the type is built in (pg_catalog). */
  readonly base?: string;
  readonly builtin?: boolean;
}

/**
 * A PostgreSQL source column of a CDC pipeline, as the 'debezium' canonical form needs it on both
 * sides (./pg-digest.ts, cdcCanonical): the target column is rendered by the source column's type.
 */
export interface CdcColumnType {
  /** The source type as format_type prints it (`character(5)`, `numeric(12,2)`, `integer[]`). */
  readonly type: string;
  /** pg_type.typname of the source type. */
  readonly base: string;
  /** A pg_catalog type: the target column can be cast to it. Enums and other user types compare as text. */
  readonly builtin: boolean;
}

/** What the 'debezium' canonical form needs besides the columns: the source types and connector modes. */
export interface CdcCanon {
  /** 'source': render the value as the connector delivers it (its documented losses applied); 'target': as stored. */
  readonly side: 'source' | 'target';
  /** Source column name → its type; key and plan columns. */
  readonly types: Readonly<Record<string, CdcColumnType>>;
  /** The connector's interval.handling.mode is 'string' (ISO 8601, exact) rather than 'numeric' (microseconds). */
  readonly intervalString: boolean;
  /** The connector's binary.handling.mode: with base64/hex, bytea lands as text holding the encoding. */
  readonly binaryMode: 'bytes' | 'base64' | 'hex';
}

/** Rows of the source whose value in `column` the connector cannot carry exactly (docs/types.md). */
export interface KnownLoss {
  readonly column: string;
  /** What is lost, e.g. `months as 30.4375 days`. */
  readonly what: string;
  readonly rows: number;
  /** Up to a few keys of such rows, as text. */
  readonly samples: readonly string[];
}

export interface DigestTableInfo {
  readonly columns: readonly DigestColumn[];
  readonly primaryKey: readonly string[];
  readonly estimatedRows?: number;
}

/** What both sides digest: the same key and columns, in the same order, with the same modes. */
export interface DigestPlan {
  readonly table: TableRef;
  /**
   * The canonical form both sides agree on: 'postgresql' when both are PostgreSQL (`col::text`),
   * 'mysql' when the source is MySQL/MariaDB (each type rendered as docs/types.md says).
   */
  readonly canon: 'postgresql' | 'mysql' | 'debezium';
  readonly key: readonly string[];
  readonly columns: readonly { readonly name: string; readonly mode: CompareMode }[];
  /**
   * canon 'debezium' (a CDC pipeline from PostgreSQL, both sides PostgreSQL): each value rendered by
   * its source column's type, the source side as Debezium delivers it (docs/types.md, "How verify
   * compares values").
   */
  readonly cdc?: CdcCanon;
  /**
   * A PostgreSQL target with delete_mode soft: the mark column; only rows where it is NULL (the
   * live rows, what should land) are read.
   */
  readonly live?: string;
}

export interface DigestRow {
  /** Canonical text of each key column, in key order (`NULL` for a NULL in a declared primary_key). */
  readonly key: readonly string[];
  /** Canonical text of each plan column (for 'json' columns: the document's text as stored), null for NULL. */
  readonly values: readonly (string | null)[];
}

export interface HashedRow extends DigestRow {
  /** The key text's 32-bit hash (md5's first 8 hex digits): a row's bucket at depth `bits` is its first `bits` bits. */
  readonly hash: number;
}

export interface JsonRow {
  /** The key text's 32-bit hash, whose first `bits` bits are the row's bucket at depth `bits`. */
  readonly hash: number;
  readonly key: readonly string[];
  /** The 'json' columns' documents, in plan order. */
  readonly docs: readonly (string | null)[];
}

/** One consistent snapshot of one database. */
export interface DigestReader {
  /** undefined when the table does not exist or cannot be read. */
  describe(table: TableRef): Promise<DigestTableInfo | undefined>;
  /**
   * Per-bucket row count and digest at depth `bits`, over the rows of `within` (every row when
   * absent). Buckets without rows are not listed.
   */
  digest(plan: DigestPlan, bits: number, within?: BucketSet): Promise<BucketDigest[]>;
  /**
   * Every row of the buckets in `within` (disjoint sets, any depths), streamed in the order of the
   * key's 32-bit hash, so the worker merges both sides holding one hash's rows at a time.
   */
  rows(plan: DigestPlan, within: readonly BucketSet[]): AsyncIterable<HashedRow>;
  /**
   * Streams the 'json' columns' documents as stored, with the key and its 32-bit bucket hash, for
   * the rows of `within` (every row when absent): the worker digests them after parsing. Only
   * called when the plan has 'json' columns.
   */
  jsonRows(plan: DigestPlan, within?: BucketSet): AsyncIterable<JsonRow>;
  /** The database's ordinary tables outside the system schemas (a CDC pipeline's candidates). */
  tables(): Promise<TableRef[]>;
  /**
   * canon 'debezium' source side only: per column of a type Debezium cannot carry exactly, the rows
   * holding such a value, counted in the database (one aggregate query). Empty when none can occur.
   */
  knownLosses?(plan: DigestPlan, samples: number): Promise<KnownLoss[]>;
  close(): Promise<void>;
}

export interface DigestSource {
  /** e.g. `mysql://host:port/db` (no credentials). */
  readonly display: string;
  open(): Promise<DigestReader>;
}
