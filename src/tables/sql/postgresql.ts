/**
 * Every statement nilus-pg sends to a PostgreSQL database other than through the sink: the batch
 * table reader (../pg-table.ts), verify's digests of a source or target (src/verify/pg-digest.ts),
 * `check`'s probes (src/cli/check.ts) and a managed Debezium source's slot, publication and
 * prerequisites (src/managed/pg-source.ts). Identifiers go through src/pg/ident.ts. Statements
 * sent by the sink are src/sink/sql/'s; transaction control (BEGIN, COMMIT) stays with its caller.
 */
import type { TableRef } from '../../kernel/types';
import { ident, literal, tableName } from '../../pg/ident';
import type { CursorRange } from '../table-source';

/* ---- the batch table reader (../pg-table.ts) ---- */

/** The reader's session: standard strings (literal() is the whole escaping), UTC and ISO text; pg-table.ts's open(). */
export const READER_SESSION = "SET standard_conforming_strings = on; SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'";

/**
 * Columns (in order, with format_type), primary key and the planner's row estimate of a table or
 * view the user may SELECT from; $1 schema, $2 name. pg-table.ts's and pg-digest.ts's describe().
 */
export const DESCRIBE_TABLE = `
SELECT c.relkind AS kind,
       GREATEST(c.reltuples, 0)::float8 AS estimate,
       (SELECT json_agg(json_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod),
                                          'base', t.typname, 'category', t.typcategory, 'notNull', a.attnotnull)
                        ORDER BY a.attnum)
          FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
         WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns,
       (SELECT json_agg(a.attname ORDER BY k.ord)
          FROM pg_constraint p
          CROSS JOIN LATERAL unnest(p.conkey) WITH ORDINALITY AS k(attnum, ord)
          JOIN pg_attribute a ON a.attrelid = p.conrelid AND a.attnum = k.attnum
         WHERE p.conrelid = c.oid AND p.contype = 'p') AS pk
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
   AND has_table_privilege(c.oid, 'SELECT')`;

/** ` WHERE col >= CAST('v' AS type) AND col < …`, bounds as literals (COPY takes no parameters; none: every non-null cursor); pg-table.ts. */
export function rangeWhere(range: CursorRange, type: string | undefined): string {
  const col = ident(range.column);
  const cast = (v: string): string => (type ? `CAST(${literal(v)} AS ${type})` : literal(v));
  const parts: string[] = [];
  if (range.from) parts.push(`${col} ${range.from.inclusive ? '>=' : '>'} ${cast(range.from.value)}`);
  if (range.to) parts.push(`${col} ${range.to.inclusive ? '<=' : '<'} ${cast(range.to.value)}`);
  if (parts.length === 0) parts.push(`${col} IS NOT NULL`);
  return ` WHERE ${parts.join(' AND ')}`;
}

/** The cursor column's greatest value as text, within `where`; pg-table.ts's cursorMax(). */
export const cursorMax = (table: TableRef, column: string, where: string): string =>
  `SELECT max(${ident(column)})::text AS max FROM ${tableName(table)}${where}`;

/** The columns of a table's rows within `where`, as COPY text; pg-table.ts's pages(). */
export const copyRows = (table: TableRef, columns: readonly string[], where: string): string =>
  `COPY (SELECT ${columns.map(ident).join(', ')} FROM ${tableName(table)}${where}) TO STDOUT`;

/* ---- verify's digests (src/verify/pg-digest.ts), on a source or a target ---- */

/** Fixed text of every type (UTC, ISO, shortest floats, hex bytea) for the digests; pg-digest.ts's open(). */
export const DIGEST_SESSION = "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; SET extra_float_digits = 1; SET bytea_output = 'hex'";

/** Whether each column's type is built in (pg_catalog), which the 'debezium' canonical form needs; pg-digest.ts's describe(). */
export const BUILTIN_TYPES = `
SELECT a.attname AS name, t.typnamespace = 'pg_catalog'::regnamespace AS builtin
  FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
  JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped`;

/** Ordinary and partitioned tables (not partitions) outside the system schemas; pg-digest.ts's tables(). */
export const DIGEST_TABLES = `
SELECT n.nspname AS schema, c.relname AS "table"
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
   AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
 ORDER BY 1, 2`;

/** A set of hash buckets at a depth (verify/digest.ts's BucketSet). */
interface Buckets {
  readonly bits: number;
  readonly buckets: readonly number[];
}

/** The 32-bit key hash of a row, from its key text. */
const h32 = (keyText: string): string => `('x' || substr(md5(${keyText}), 1, 8))::bit(32)::bigint`;
/** The 60-bit row hash, summed per bucket. */
const r60 = (rowText: string): string => `('x' || substr(md5(${rowText}), 1, 15))::bit(60)::bigint`;

/** Rows of the bucket sets; the bucket numbers are integers written into the statement (COPY takes no parameters). */
function inBuckets(h: string, sets: readonly Buckets[]): string {
  return '(' + sets.map((s) => `${h} >> ${32 - s.bits} = ANY('{${s.buckets.map((b) => Math.trunc(b)).join(',')}}'::bigint[])`).join(' OR ') + ')';
}

/**
 * The rows a digest reads: the table, or only its live rows when `live` names the soft-delete
 * mark column (a target with delete_mode soft: verify compares what should land).
 */
const rowsOf = (table: TableRef, live?: string): string =>
  live === undefined ? tableName(table) : `(SELECT * FROM ${tableName(table)} WHERE ${ident(live)} IS NULL) AS live`;

/** A query's rows as COPY text. */
const copyOut = (select: string): string => `COPY (${select}) TO STDOUT`;

/** Rows, hash sum per bucket at depth `bits` (within $1, the buckets of `within`, if given); pg-digest.ts's digest(). */
export const bucketDigest = (table: TableRef, keyText: string, rowText: string, bits: number, within?: Buckets, live?: string): string =>
  `SELECT h >> ${32 - bits} AS b, count(*)::int AS n, sum(r)::text AS s
                   FROM (SELECT ${h32(keyText)} AS h, ${r60(rowText)} AS r FROM ${rowsOf(table, live)}) q
                  ${within ? `WHERE h >> ${32 - within.bits} = ANY($1::bigint[])` : ''} GROUP BY 1`;

/** Key hash and the given expressions of the rows in the bucket sets, by hash, as COPY; pg-digest.ts's rows(). */
export const bucketRows = (table: TableRef, keyText: string, exprs: readonly string[], within: readonly Buckets[], live?: string): string =>
  copyOut(`SELECT ${h32(keyText)}, ${exprs.join(', ')} FROM ${rowsOf(table, live)} WHERE ${inBuckets(h32(keyText), within)} ORDER BY 1`);

/** Key hash and the given expressions of the rows (in one bucket set, if given), as COPY; pg-digest.ts's jsonRows(). */
export const hashedRows = (table: TableRef, keyText: string, exprs: readonly string[], within?: Buckets, live?: string): string =>
  copyOut(`SELECT ${h32(keyText)}, ${exprs.join(', ')} FROM ${rowsOf(table, live)}${within ? ` WHERE ${inBuckets(h32(keyText), [within])}` : ''}`);

/** How many rows meet each condition, as text columns c0, c1, …; pg-digest.ts's knownLosses(). */
export const countWhere = (table: TableRef, conditions: readonly string[]): string =>
  `SELECT ${conditions.map((w, i) => `count(*) FILTER (WHERE ${w})::text AS c${i}`).join(', ')} FROM ${tableName(table)}`;

/** The keys (as an array k) of up to `limit` rows meeting a condition; pg-digest.ts's knownLosses(). */
export const keysWhere = (table: TableRef, keys: readonly string[], condition: string, limit: number): string =>
  `SELECT ARRAY[${keys.join(', ')}] AS k FROM ${tableName(table)} WHERE ${condition} LIMIT ${Math.max(0, Math.trunc(limit))}`;

/* ---- `check`'s probes of the target (src/cli/check.ts), read-only ---- */

/** Whether this connection uses TLS; check.ts's checkSink(). */
export const CHECK_TLS = 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()';
/** Whether the user may connect to the database; check.ts's checkSink(). */
export const CHECK_CONNECT = "SELECT has_database_privilege(current_database(), 'CONNECT')";
/** Whether the user may create schemas (CREATE on the database), for auto_create; check.ts's checkTarget(). */
export const CHECK_DATABASE_CREATE = "SELECT has_database_privilege(current_database(), 'CREATE')";
/** How many schemas are named $1 (0 or 1); check.ts's checkTarget(). */
export const CHECK_SCHEMA_EXISTS = 'SELECT count(*)::int FROM pg_namespace WHERE nspname = $1';
/** Whether the user has USAGE on schema $1; check.ts's checkTarget(). */
export const CHECK_SCHEMA_USAGE = "SELECT has_schema_privilege($1, 'USAGE')";
/** Whether the user has CREATE on schema $1; check.ts's checkTarget(). */
export const CHECK_SCHEMA_CREATE = "SELECT has_schema_privilege($1, 'CREATE')";
/** Whether table $1 (a quoted `schema.table`) exists; check.ts's checkTarget(). */
export const CHECK_TABLE_EXISTS = 'SELECT to_regclass($1) IS NOT NULL';
/** Whether the user has privilege $2 on table $1; check.ts's checkTarget(). */
export const CHECK_TABLE_PRIVILEGE = 'SELECT has_table_privilege($1, $2)';

/** The fix `check` suggests for a table updates and deletes would arrive from without a key (shown, not sent); check-source.ts. */
export const replicaIdentityFull = (table: TableRef): string => `ALTER TABLE ${tableName(table)} REPLICA IDENTITY FULL;`;

/* ---- a managed Debezium source (src/managed/pg-source.ts) ---- */

/** wal_level, the user's role, slots and WAL senders used, publication $1, CREATE on the database, the version; readPrereqs(). */
export const SOURCE_PREREQS = `
    SELECT current_setting('wal_level') AS wal_level, current_user AS "user",
           r.rolsuper AS superuser, r.rolreplication AS replication,
           current_setting('max_replication_slots')::int AS max_slots,
           (SELECT count(*)::int FROM pg_replication_slots) AS slots_used,
           current_setting('max_wal_senders')::int AS max_wal_senders,
           (SELECT count(*)::int FROM pg_stat_replication) AS wal_senders_used,
           EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1) AS publication_exists,
           has_database_privilege(current_database(), 'CREATE') AS create_on_db,
           current_setting('server_version_num')::int AS server_version
      FROM pg_roles r WHERE r.rolname = current_user`;

/** Replication slot $1's state and plugin (no row: none); readPrereqs(). */
export const SLOT_STATE = 'SELECT active, plugin FROM pg_replication_slots WHERE slot_name = $1';

/**
 * Replication slot $1 for `nilus-pg status` and the retained-WAL gauge: whether a walsender holds
 * it and the WAL it keeps the server from recycling (current WAL position minus restart_lsn, in
 * bytes; NULL on a standby, where there is no current WAL position, or for a slot not yet used).
 */
export const SLOT_RETAINED_WAL = `SELECT active, restart_lsn::text AS restart_lsn,
  CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::text END AS retained_bytes
FROM pg_replication_slots WHERE slot_name = $1`;

/** Ordinary and partitioned tables outside the system schemas, with key, replica identity, ownership, SELECT; listTables(). */
export const CAPTURE_TABLES = `
    SELECT n.nspname AS schema, t.relname AS "table",
           EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = t.oid AND k.contype = 'p') AS has_pk,
           t.relreplident AS replident,
           pg_has_role(t.relowner, 'USAGE') AS owned,
           has_table_privilege(t.oid, 'SELECT') AS selectable
      FROM pg_class t JOIN pg_namespace n ON n.oid = t.relnamespace
     WHERE t.relkind IN ('r', 'p') AND NOT t.relispartition
       AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
     ORDER BY 1, 2`;

/**
 * Partitioned tables (relkind 'p', the root of their tree) with their leaf partitions, which is where
 * pgoutput reports their changes; managed/partitions.ts routes those back to the root's topic.
 */
export const PARTITIONED_TABLES = `
    SELECT n.nspname AS schema, t.relname AS "table",
           COALESCE((SELECT json_agg(json_build_object('schema', ln.nspname, 'table', l.relname) ORDER BY ln.nspname, l.relname)
                       FROM pg_partition_tree(t.oid) p JOIN pg_class l ON l.oid = p.relid JOIN pg_namespace ln ON ln.oid = l.relnamespace
                      WHERE p.isleaf), '[]') AS partitions
      FROM pg_class t JOIN pg_namespace n ON n.oid = t.relnamespace
     WHERE t.relkind = 'p' AND NOT t.relispartition
       AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
     ORDER BY 1, 2`;

/** Whether replication slot $1 is held by a walsender (no row: none); dropSlotAndPublication(). */
export const SLOT_ACTIVE = 'SELECT active FROM pg_replication_slots WHERE slot_name = $1';
/** Drops replication slot $1; dropSlotAndPublication(). */
export const DROP_SLOT = 'SELECT pg_drop_replication_slot($1)';
/** A row when publication $1 exists; dropSlotAndPublication(). */
export const PUBLICATION_EXISTS = 'SELECT 1 FROM pg_publication WHERE pubname = $1';
/** Drops a publication; dropSlotAndPublication(). */
export const dropPublication = (name: string): string => `DROP PUBLICATION ${ident(name)}`;

/* ---- a managed source's signal table, for `nilus-pg resync` (src/managed/resync.ts) ---- */

/** Debezium's signalling table (id, type, data: its required shape), made when missing. */
export const createSignalTable = (t: TableRef): string =>
  `CREATE TABLE IF NOT EXISTS ${tableName(t)} (id varchar(64) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2048))`;
/** A row when publication $1 publishes table $2.$3. */
export const PUBLICATION_HAS_TABLE = 'SELECT 1 FROM pg_publication_tables WHERE pubname = $1 AND schemaname = $2 AND tablename = $3';
/** Adds a table to a publication (a filtered publication lists its tables). */
export const addToPublication = (publication: string, t: TableRef): string => `ALTER PUBLICATION ${ident(publication)} ADD TABLE ${tableName(t)}`;
/** One signal: $1 id, $2 type, $3 data (JSON text). */
export const insertSignal = (t: TableRef): string => `INSERT INTO ${tableName(t)} (id, type, data) VALUES ($1, $2, $3)`;
/** Snapshot windows Debezium closed (one row per chunk of an incremental snapshot), `n`. */
export const SIGNAL_WINDOWS_CLOSED = (t: TableRef): string => `SELECT count(*)::int AS n FROM ${tableName(t)} WHERE type = 'snapshot-window-close'`;
/** The rows of a table, `n` (bigint as text); the chunks a resync will take. */
export const countRows = (t: TableRef): string => `SELECT count(*)::text AS n FROM ${tableName(t)}`;
