/**
 * Every statement nilus-pg sends to a MySQL/MariaDB source: the batch table reader
 * (../mysql-table.ts), verify's digests (src/verify/mysql-digest.ts) and `check`'s probes of a
 * managed source (src/cli/check-mysql-source.ts). Identifiers go through ../mysql-ident.ts; values
 * travel as `?` placeholders. Transaction control (START TRANSACTION, COMMIT) stays with its caller.
 */
import type { TableRef } from '../../kernel/types';
import { bt, qualified } from '../mysql-ident';
import type { CursorRange } from '../table-source';

/* ---- the batch table reader (../mysql-table.ts), whose connection verify and check share ---- */

/** utf8mb4 on the connection; mysql-table.ts's open(). */
export const SET_NAMES = 'SET NAMES utf8mb4';
/** UTC, an empty sql_mode and net_write_timeout ? (seconds) for the session; mysql-table.ts's open(). */
export const READER_SESSION = "SET time_zone = '+00:00', sql_mode = '', net_write_timeout = ?";
/** REPEATABLE READ, without which WITH CONSISTENT SNAPSHOT takes none; mysql-table.ts's open(). */
export const REPEATABLE_READ = 'SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ';
/** The server's version (v), which tells MariaDB; mysql-table.ts's open(). */
export const SERVER_VERSION = 'SELECT VERSION() AS v';

const OF_TABLE = 'TABLE_SCHEMA = ? AND TABLE_NAME = ?';

/** Columns of table ? in database ? (name, types, nullability), in order; mysql-table.ts's describe(). */
export const DESCRIBE_COLUMNS = `SELECT TABLE_NAME AS tbl, COLUMN_NAME AS name, DATA_TYPE AS dataType, COLUMN_TYPE AS columnType, IS_NULLABLE AS nullable
           FROM information_schema.COLUMNS WHERE ${OF_TABLE} ORDER BY TABLE_NAME, ORDINAL_POSITION`;
/** Primary key columns of table ? in database ?, in order; mysql-table.ts's describe(). */
export const PRIMARY_KEY_COLUMNS = `SELECT TABLE_NAME AS tbl, COLUMN_NAME AS name FROM information_schema.KEY_COLUMN_USAGE
          WHERE ${OF_TABLE} AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY TABLE_NAME, ORDINAL_POSITION`;
/** InnoDB's row estimate of table ? in database ?; mysql-table.ts's describe(). */
export const ROWS_ESTIMATE = `SELECT TABLE_NAME AS tbl, TABLE_ROWS AS n FROM information_schema.TABLES WHERE ${OF_TABLE}`;
/** MariaDB: the check clauses of table ? in database ? (json_valid marks JSON); mysql-table.ts's describe(). */
export const CHECK_CLAUSES = 'SELECT TABLE_NAME AS tbl, CHECK_CLAUSE AS clause FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?';

/** ` WHERE col >= ? AND col < ?` for a range, with its bounds as `bound` makes them (none: every non-null cursor); mysql-table.ts. */
export function rangeWhere(range: CursorRange, bound: (value: string) => string): { where: string; values: string[] } {
  const c = bt(range.column);
  const parts: string[] = [];
  const values: string[] = [];
  if (range.from) {
    parts.push(`${c} ${range.from.inclusive ? '>=' : '>'} ?`);
    values.push(bound(range.from.value));
  }
  if (range.to) {
    parts.push(`${c} ${range.to.inclusive ? '<=' : '<'} ?`);
    values.push(bound(range.to.value));
  }
  if (parts.length === 0) parts.push(`${c} IS NOT NULL`);
  return { where: ` WHERE ${parts.join(' AND ')}`, values };
}

/** The cursor column's greatest value within `where`; mysql-table.ts's cursorMax(). */
export const cursorMax = (table: TableRef, column: string, where: string): string => `SELECT MAX(${bt(column)}) FROM ${qualified(table)}${where}`;

/** A table's rows within `where`; a `widen` column read as a double (`* 1e0`); mysql-table.ts's pages(). */
export const selectRows = (table: TableRef, columns: readonly { name: string; widen: boolean }[], where: string): string =>
  `SELECT ${columns.map((c) => (c.widen ? `${bt(c.name)} * 1e0` : bt(c.name))).join(', ')} FROM ${qualified(table)}${where}`;

/* ---- verify's digests (src/verify/mysql-digest.ts), on the reader's connection ---- */

/** A set of hash buckets at a depth (verify/digest.ts's BucketSet). */
interface Buckets {
  readonly bits: number;
}

/** The 32-bit key hash of a row, from its key text. */
const h32 = (keyText: string): string => `CAST(CONV(SUBSTRING(MD5(${keyText}), 1, 8), 16, 10) AS UNSIGNED)`;
/** The 60-bit row hash, summed per bucket. */
const r60 = (rowText: string): string => `CAST(CONV(SUBSTRING(MD5(${rowText}), 1, 15), 16, 10) AS UNSIGNED)`;

/** Rows, hash sum per bucket at depth `bits` (within the buckets ?, at within's depth, if given); mysql-digest.ts's digest(). */
export const bucketDigest = (table: TableRef, keyText: string, rowText: string, bits: number, within?: Buckets): string =>
  `SELECT (h >> ${32 - bits}) AS b, COUNT(*) AS n, CAST(SUM(r) AS CHAR) AS s
                   FROM (SELECT ${h32(keyText)} AS h, ${r60(rowText)} AS r FROM ${qualified(table)}) q
                  ${within ? `WHERE (h >> ${32 - within.bits}) IN (?)` : ''} GROUP BY 1`;

/** Key hash and the given expressions of the rows in the bucket sets (one ? each), by hash; mysql-digest.ts's rows(). */
export function bucketRows(table: TableRef, keyText: string, exprs: readonly string[], within: readonly Buckets[]): string {
  const h = h32(keyText);
  const where = within.map((s) => `(${h} >> ${32 - s.bits}) IN (?)`).join(' OR ');
  return `SELECT ${h}, ${exprs.join(', ')} FROM ${qualified(table)} WHERE ${where} ORDER BY 1`;
}

/** Key hash and the given expressions of the rows (in the buckets ?, if given); mysql-digest.ts's jsonRows(). */
export function hashedRows(table: TableRef, keyText: string, exprs: readonly string[], within?: Buckets): string {
  const h = h32(keyText);
  const where = within ? ` WHERE (${h} >> ${32 - within.bits}) IN (?)` : '';
  return `SELECT ${h}, ${exprs.join(', ')} FROM ${qualified(table)}${where}`;
}

/** Base tables outside the system databases; mysql-digest.ts's tables(). */
export const DIGEST_TABLES = `SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES
      WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys') ORDER BY 1, 2`;

/* ---- `check`'s probes of a managed source (src/cli/check-mysql-source.ts) ---- */

/** Version, binlog settings, server id and the account as the server knows it; readMysqlPrereqs(). */
export const SERVER_SETTINGS = 'SELECT VERSION() AS version, @@log_bin AS log_bin, @@binlog_format AS binlog_format, @@binlog_row_image AS binlog_row_image, @@server_id AS server_id, CURRENT_USER() AS account';
/** The account's grants, one line each; readMysqlPrereqs(). */
export const SHOW_GRANTS = 'SHOW GRANTS';
/** Blob columns (table t, column c) of database ?; blobLine(). */
export const BLOB_COLUMNS = `
    SELECT TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.COLUMNS
     WHERE TABLE_SCHEMA = ? AND DATA_TYPE IN ('tinyblob', 'blob', 'mediumblob', 'longblob') ORDER BY TABLE_NAME, ORDINAL_POSITION`;
/** Base tables (t) of database ?, with whether each has a primary key (pk); tableLines(). */
export const CAPTURE_TABLES = `
    SELECT t.TABLE_NAME AS t,
           EXISTS (SELECT 1 FROM information_schema.COLUMNS k
                    WHERE k.TABLE_SCHEMA = t.TABLE_SCHEMA AND k.TABLE_NAME = t.TABLE_NAME AND k.COLUMN_KEY = 'PRI') AS pk
      FROM information_schema.TABLES t WHERE t.TABLE_SCHEMA = ? AND t.TABLE_TYPE = 'BASE TABLE' ORDER BY 1`;
/** No rows, but fails without SELECT on the table; tableLines(). */
export const probeSelect = (table: TableRef): string => `SELECT 1 FROM ${qualified(table)} LIMIT 0`;

/** The server's current binlog file and position (MySQL 8.2+, MariaDB 10.5.2+); `nilus-pg status`. */
export const BINARY_LOG_STATUS = 'SHOW BINARY LOG STATUS';

/** The same for servers without it (MySQL before 8.2, older MariaDB); removed in MySQL 8.4. */
export const MASTER_STATUS = 'SHOW MASTER STATUS';
