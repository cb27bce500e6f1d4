/**
 * The table source: what a batch pipeline reads from. One interface, two implementations
 * (PostgreSQL in ./pg-table.ts, MySQL/MariaDB in ./mysql-table.ts); nothing outside src/tables/
 * knows which client library is behind it.
 *
 * Values come out as PostgreSQL text input (`PgValue`: a string PostgreSQL parses for the column's
 * `pgType`, or null), so batch rows flow through apply exactly like decoded change events; or, for
 * the batch run's straight path, as pages of COPY text holding those same values.
 */
import type { Row, TableRef } from '../kernel/types';
import type { CopyTextPage } from '../copy-text/page';

export interface SourceColumn {
  /** Name as the source spells it (case kept). */
  readonly name: string;
  /** The type as the source database names it, for messages (e.g. `bigint unsigned`, `datetime(3)`). */
  readonly sourceType: string;
  /** The PostgreSQL type the column lands as when the target is created (docs/types.md). */
  readonly pgType: string;
  readonly notNull: boolean;
  /** Whether the column can serve as incremental_key (an integer, date or timestamp type). */
  readonly cursorable: boolean;
}

export interface SourceTableInfo {
  readonly columns: readonly SourceColumn[];
  /** The table's primary key columns, in key order (empty when it has none). */
  readonly primaryKey: readonly string[];
  /** The catalog's row estimate (for progress/ETA only; may be undefined or stale). */
  readonly estimatedRows?: number;
}

/**
 * Which rows of the table a run reads, by the cursor column. Every bound is text in the column's
 * own type, passed to the source as a query parameter (never spliced into SQL).
 */
export interface CursorRange {
  readonly column: string;
  /** Lower bound; `inclusive` decides `>=` (true) or `>` (false). */
  readonly from?: { readonly value: string; readonly inclusive: boolean };
  /** Upper bound; `inclusive` decides `<=` (true) or `<` (false). */
  readonly to?: { readonly value: string; readonly inclusive: boolean };
}

export interface ReadRequest {
  readonly table: TableRef;
  /** Columns to read, in this order (rows carry exactly these keys). */
  readonly columns: readonly SourceColumn[];
  readonly range?: CursorRange;
  /** Rows per yielded page. */
  readonly pageRows: number;
  /** Aborting ends the read: the iterator throws the signal's reason and the query is cancelled. */
  readonly signal?: AbortSignal;
}

/**
 * One consistent read of the source: describe, bound and read all see the same snapshot
 * (PostgreSQL REPEATABLE READ READ ONLY, MySQL START TRANSACTION WITH CONSISTENT SNAPSHOT).
 */
export interface TableReader {
  /** undefined when the table does not exist or the user cannot see it. */
  describe(table: TableRef): Promise<SourceTableInfo | undefined>;
  /** The largest cursor value within `range` (as text in the column's type), null when no row is in it. */
  cursorMax(table: TableRef, range: CursorRange): Promise<string | null>;
  /** Rows in pages of at most `pageRows`, pulled: the next page is read only when asked for. */
  pages(req: ReadRequest): AsyncIterable<Row[]>;
  /**
   * The same rows as COPY text of `req.columns` (the text `pages()` values would encode to), in
   * pages of whole lines, pulled like pages(): what a batch run streams into COPY as it is.
   */
  copyText(req: ReadRequest): AsyncIterable<CopyTextPage>;
  /** Ends the snapshot and gives the connection back. Safe to call twice. */
  close(): Promise<void>;
}

export interface TableSource {
  readonly kind: 'postgresql' | 'mysql';
  /** A human name for logs: `mysql://host:port/db` (no credentials). */
  readonly display: string;
  /** Connects and opens a snapshot. Connection failures are thrown as they come (classified by the caller). */
  open(): Promise<TableReader>;
  /** Closes every connection. */
  close(): Promise<void>;
}
