/**
 * The MySQL/MariaDB table source: one connection per reader (./mysql-connection.ts), one `START
 * TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY` for describe, cursorMax and pages. Rows are read
 * with the text protocol, and each row packet's bytes are written straight into a page of COPY
 * text (./mysql-copy.ts, by ./mysql-types.ts's mapping), so nothing passes through a JS number,
 * Date or per-value string. The connection is paused between pages (TCP backpressure), so memory stays flat.
 */
import { connectMysql, run, type Connection } from './mysql-connection';
import type { MysqlConnection } from '../config/types';
import type { Row, TableRef } from '../kernel/types';
import { cursorBound, mapColumn, needsDoubleWidening, valueDecoder, type MysqlColumnMeta } from './mysql-types';
import { rowPacketEncoder } from './mysql-copy';
import { CopyPump } from './mysql-pages';
import { rowPages, type CopyTextPage } from '../copy-text/page';
import type { CursorRange, ReadRequest, SourceColumn, SourceTableInfo, TableReader, TableSource } from './table-source';
import { CHECK_CLAUSES, cursorMax, DESCRIBE_COLUMNS, PRIMARY_KEY_COLUMNS, rangeWhere, READER_SESSION, REPEATABLE_READ, ROWS_ESTIMATE, selectRows, SERVER_VERSION, SET_NAMES } from './sql/mysql';

export interface MysqlSourceOptions {
  readonly tinyint1AsBoolean: boolean;
  /** Called once per zero date/datetime read (it lands as NULL), with `database.table` and the column. */
  readonly onZeroDate?: (table: string, column: string) => void;
}

/**
 * The server blocks writing rows while a page is being written to PostgreSQL; it would drop the
 * connection after net_write_timeout (default 60 s) of that. Pages can take longer on a slow sink.
 */
const NET_WRITE_TIMEOUT_S = 3600;

export class MysqlTableSource implements TableSource {
  readonly kind = 'mysql' as const;
  readonly display: string;
  private readonly readers = new Set<MysqlTableReader>();

  constructor(
    private readonly conn: MysqlConnection,
    private readonly opts: MysqlSourceOptions,
  ) {
    this.display = `mysql://${conn.host}:${conn.port}/${conn.database}`;
  }

  async open(): Promise<TableReader> {
    const c = await this.connect();
    try {
      // sql_mode '' : NO_BACKSLASH_ESCAPES would break mysql2's escaping of placeholders, and
      // PAD_CHAR_TO_FULL_LENGTH would pad char(n) values; nothing else in it affects reads.
      await run(c, SET_NAMES);
      await run(c, READER_SESSION, [NET_WRITE_TIMEOUT_S]);
      // WITH CONSISTENT SNAPSHOT is only a snapshot under REPEATABLE READ (the server's default may differ).
      await run(c, REPEATABLE_READ);
      await run(c, 'START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
      const [v] = await run<{ v: string }>(c, SERVER_VERSION);
      const reader = new MysqlTableReader(c, this.opts, /mariadb/i.test(String(v?.v)), (r) => this.readers.delete(r));
      this.readers.add(reader);
      return reader;
    } catch (e) {
      c.destroy();
      throw e;
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.readers].map((r) => r.close()));
  }

  private connect(): Promise<Connection> {
    return connectMysql(this.conn);
  }
}

interface ColumnRow {
  tbl: string;
  name: string;
  dataType: string;
  columnType: string;
  nullable: string;
}

/**
 * The connection a MySQL reader runs on (its TLS, session settings and snapshot), for statements
 * of verify and check that must see the same snapshot (src/verify/mysql-digest.ts); undefined for other readers.
 */
export function readerConnection(reader: TableReader): Connection | undefined {
  return reader instanceof MysqlTableReader ? reader.connection : undefined;
}

class MysqlTableReader implements TableReader {
  /** Set once the connection was cut (abort, a read left early, a failure): the snapshot is gone. */
  private broken: Error | undefined;
  private closed = false;
  /** copyText() reads still running: the connection cannot run COMMIT behind them; a cut ends them. */
  private readonly streams = new Set<CopyPump>();
  /** Columns by table (`schema\u0000table`), from describe(): cursor bounds are converted by the column's type. */
  private readonly described = new Map<string, SourceColumn[]>();

  constructor(
    private readonly c: Connection,
    private readonly opts: MysqlSourceOptions,
    private readonly mariadb: boolean,
    private readonly onClosed: (r: MysqlTableReader) => void,
  ) {}

  get connection(): Connection {
    return this.c;
  }

  async describe(table: TableRef): Promise<SourceTableInfo | undefined> {
    this.usable();
    const args = [table.schema, table.table];
    const cols = onlyTable(table, await run<ColumnRow>(this.c, DESCRIBE_COLUMNS, args));
    if (cols.length === 0) return undefined;
    const pk = onlyTable(table, await run<{ tbl: string; name: string }>(this.c, PRIMARY_KEY_COLUMNS, args));
    const [est] = onlyTable(table, await run<{ tbl: string; n: string | null }>(this.c, ROWS_ESTIMATE, args));
    const jsonChecked = this.mariadb ? await this.mariadbJsonColumns(table) : new Set<string>();
    const name = `${table.schema}.${table.table}`;
    const columns = cols.map((r) => {
      const meta: MysqlColumnMeta = { name: String(r.name), dataType: String(r.dataType), columnType: String(r.columnType), nullable: r.nullable === 'YES', jsonCheck: jsonChecked.has(String(r.name)) };
      return mapColumn(name, meta, this.opts);
    });
    this.described.set(`${table.schema}\u0000${table.table}`, columns);
    // TABLE_ROWS is InnoDB's estimate (MySQL 8 caches it for information_schema_stats_expiry); null for views.
    const n = est?.n === null || est?.n === undefined ? NaN : Number(est.n);
    return { columns, primaryKey: pk.map((r) => String(r.name)), ...(n > 0 ? { estimatedRows: n } : {}) };
  }

  async cursorMax(table: TableRef, range: CursorRange): Promise<string | null> {
    this.usable();
    const col = this.column(table, range.column);
    const { where, values } = this.where(table, range);
    const rows = await this.guard(run<(Buffer | null)[]>(this.c, cursorMax(table, range.column, where), values, { rowsAsArray: true, typeCast: false }));
    // the same decoding as rows (timestamps with +00); a zero date as max is no cursor
    return valueDecoder(col, { table: `${table.schema}.${table.table}`, column: col.name })(rows[0]?.[0] ?? null);
  }

  async *pages(req: ReadRequest): AsyncGenerator<Row[]> {
    yield* rowPages(this.copyText(req), req.columns.map((c) => c.name));
  }

  async *copyText(req: ReadRequest): AsyncGenerator<CopyTextPage> {
    this.usable();
    req.signal?.throwIfAborted();
    const name = `${req.table.schema}.${req.table.table}`;
    const encode = rowPacketEncoder(name, req.columns, this.opts.onZeroDate);
    const columns = req.columns.map((c) => ({ name: c.name, widen: needsDoubleWidening(c) }));
    const { where, values } = req.range ? this.where(req.table, req.range) : { where: '', values: [] };
    const query = this.c.query({ sql: selectRows(req.table, columns, where), values, rowsAsArray: true, typeCast: false });
    const pump = new CopyPump(this.c, query, encode, req.pageRows, Math.min(req.pageRows * 256, 8 << 20));
    const onAbort = (): void => {
      pump.destroy(req.signal?.reason instanceof Error ? req.signal.reason : new Error('the read was aborted'));
      this.cut(new Error('the read was aborted'));
    };
    req.signal?.addEventListener('abort', onAbort, { once: true });
    let finished = false;
    this.streams.add(pump);
    try {
      // The connection is paused while a page is held: the next is read only when asked for.
      for (let page = await pump.next(); page !== undefined; page = await pump.next()) {
        yield page;
        req.signal?.throwIfAborted();
      }
      finished = true;
      this.streams.delete(pump);
    } finally {
      req.signal?.removeEventListener('abort', onAbort);
      if (!finished) {
        this.streams.delete(pump);
        // Ending the query alone would make mysql2 read (and drop) the rest of the result before
        // the next statement; cutting the connection stops the server now. The snapshot goes with it.
        pump.destroy();
        this.cut(new Error('a read of this snapshot ended before its last row'));
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.onClosed(this);
    if (this.streams.size > 0) this.cut(new Error('the snapshot was closed during a read'));
    if (this.broken) return;
    try {
      await run(this.c, 'COMMIT');
    } catch {
      // a read-only snapshot has nothing to lose: a connection that cannot commit is just dropped
      this.c.destroy();
      return;
    }
    await new Promise<void>((resolve) => this.c.end(() => resolve()));
  }

  private usable(): void {
    if (this.closed) throw new Error('this MySQL snapshot is closed');
    if (this.broken) throw new Error(`this MySQL snapshot is no longer usable: ${this.broken.message}`);
  }

  /**
   * Drops the connection now. mysql2's destroy() only half-closes the socket, which a server blocked
   * writing a result never notices; destroying the socket makes its next write fail, ending the query.
   */
  private cut(reason: Error): void {
    this.broken ??= reason;
    for (const s of this.streams) if (!s.destroyed) s.destroy(reason);
    this.c.destroy();
    (this.c as unknown as { stream?: { destroy(): void } }).stream?.destroy();
  }

  /** A failed statement may have left the connection broken; later calls say so instead of hanging. */
  private async guard<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (e) {
      if ((e as { fatal?: boolean }).fatal) this.cut(e as Error);
      throw e;
    }
  }

  private column(table: TableRef, name: string): SourceColumn {
    const col = this.described.get(`${table.schema}\u0000${table.table}`)?.find((c) => c.name === name);
    if (!col) throw new Error(`cursor column ${name} of ${table.schema}.${table.table} is unknown: describe() the table first`);
    return col;
  }

  /** ` WHERE col >= ? AND col < ?` with the bounds as placeholders, converted by the column's type. */
  private where(table: TableRef, range: CursorRange): { where: string; values: string[] } {
    const col = this.column(table, range.column);
    return rangeWhere(range, (v) => cursorBound(col, v));
  }

  /** MariaDB's JSON is longtext with a `json_valid(col)` check; those columns map as json. */
  private async mariadbJsonColumns(table: TableRef): Promise<Set<string>> {
    const rows = await run<{ tbl: string; clause: string }>(this.c, CHECK_CLAUSES, [table.schema, table.table]).catch(() => []); // before 10.2.22 there is no such view: such columns stay text
    const out = new Set<string>();
    for (const r of onlyTable(table, rows)) {
      const m = /^json_valid\(`((?:[^`]|``)+)`\)$/i.exec(String(r.clause).trim());
      if (m) out.add(m[1]!.replace(/``/g, '`'));
    }
    return out;
  }
}

/**
 * information_schema may compare names without case (lower_case_table_names, collations): keep the
 * rows of the exactly named table when there are some, else those of the one table that matched.
 */
function onlyTable<T extends { tbl: string }>(table: TableRef, rows: T[]): T[] {
  const exact = rows.filter((r) => String(r.tbl) === table.table);
  if (exact.length > 0) return exact;
  const names = new Set(rows.map((r) => String(r.tbl)));
  return names.size === 1 ? rows : [];
}
