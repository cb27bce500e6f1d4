/**
 * The PostgreSQL table source: one REPEATABLE READ READ ONLY snapshot per run, rows read with
 * `COPY (SELECT …) TO STDOUT` (text format) and handed out in pages of that text (or of rows parsed from it).
 * The COPY stream is paused between pages, so memory stays bounded whatever the table's size.
 */
import type { PoolClient } from '../pg/pool';
import { copyTo } from '../pg/copy';
import type { Pool } from '../pg/pool';
import type { PgConnection } from '../config/types';
import type { Row, TableRef } from '../kernel/types';
import { createPool } from '../pg/pool';
import { tableName } from '../pg/ident';
import { copyRows, cursorMax, DESCRIBE_TABLE, rangeWhere, READER_SESSION } from './sql/postgresql';
import { LineChunks } from '../copy-text/lines';
import { rowPages, type CopyTextPage } from '../copy-text/page';
import type { CursorRange, ReadRequest, SourceColumn, SourceTableInfo, TableReader, TableSource } from './table-source';

interface RawColumn {
  name: string;
  type: string;
  base: string;
  category: string;
  notNull: boolean;
}

/** Integer, date and timestamp types order rows the way a cursor needs. */
const CURSOR_TYPES = new Set(['int2', 'int4', 'int8', 'date', 'timestamp', 'timestamptz']);

export class PgTableSource implements TableSource {
  readonly kind = 'postgresql' as const;
  readonly display: string;
  private pool?: Pool;

  constructor(private readonly conn: PgConnection) {
    this.display = `postgresql://${conn.host}:${conn.port}/${conn.database}`;
  }

  async open(): Promise<TableReader> {
    this.pool ??= await createPool(this.conn, 1);
    const client = await this.pool.connect();
    try {
      // Bounds are written as literals (COPY takes no parameters): standard strings make
      // literal() the whole escaping; UTC makes timestamptz text stable across runs.
      await client.query(READER_SESSION);
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    } catch (e) {
      client.release(true);
      throw e;
    }
    return new PgTableReader(client);
  }

  async close(): Promise<void> {
    const p = this.pool;
    this.pool = undefined;
    await p?.end();
  }
}

class PgTableReader implements TableReader {
  private closed = false;
  /** A COPY cut short (abort, error, consumer stopped): the connection is mid-protocol. */
  private cutShort = false;
  private readonly types = new Map<string, string>();

  constructor(private readonly client: PoolClient) {}

  async describe(table: TableRef): Promise<SourceTableInfo | undefined> {
    const res = await this.client.query<{ kind: string; estimate: number; columns: RawColumn[] | null; pk: string[] | null }>(DESCRIBE_TABLE, [table.schema, table.table]);
    const r = res.rows[0];
    if (!r || !r.columns) return undefined;
    const columns: SourceColumn[] = r.columns.map((c) => {
      this.types.set(`${tableName(table)}.${c.name}`, c.type);
      return { name: c.name, sourceType: c.type, pgType: c.type, notNull: c.notNull, cursorable: CURSOR_TYPES.has(c.base) };
    });
    // A never-analyzed table reports -1 (shown as 0 here): no estimate rather than a wrong one.
    return { columns, primaryKey: r.pk ?? [], ...(r.estimate > 0 ? { estimatedRows: Math.round(r.estimate) } : {}) };
  }

  async cursorMax(table: TableRef, range: CursorRange): Promise<string | null> {
    const res = await this.client.query<{ max: string | null }>(cursorMax(table, range.column, this.where(table, range)));
    return res.rows[0]?.max ?? null;
  }

  async *pages(req: ReadRequest): AsyncGenerator<Row[]> {
    yield* rowPages(this.copyText(req), req.columns.map((c) => c.name));
  }

  /**
   * PostgreSQL's own COPY text, passed on as it comes (cut at line ends): the target's COPY reads
   * every escape `COPY … TO` writes, so no value is parsed or encoded again.
   */
  async *copyText(req: ReadRequest): AsyncGenerator<CopyTextPage> {
    const names = req.columns.map((c) => c.name);
    const sql = copyRows(req.table, names, req.range ? this.where(req.table, req.range) : '');
    const stream = this.client.query(copyTo(sql));
    const onAbort = (): void => void stream.destroy(req.signal?.reason instanceof Error ? req.signal.reason : new Error('the read was aborted'));
    req.signal?.addEventListener('abort', onAbort, { once: true });
    let complete = false;
    try {
      req.signal?.throwIfAborted();
      const lines = new LineChunks(req.pageRows);
      // for await pulls one chunk at a time: while a page is being written the stream stays paused.
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        for (let page = lines.push(chunk); page !== undefined; page = lines.next()) yield page;
      }
      const last = lines.end();
      complete = true;
      if (last) yield last;
    } finally {
      req.signal?.removeEventListener('abort', onAbort);
      if (!complete) this.cutShort = true;
      if (!stream.destroyed && !stream.readableEnded) stream.destroy();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // A COPY cut short leaves the connection mid-protocol (the server still sending rows): a
    // COMMIT would queue behind them forever, so the connection is closed instead (which ends the
    // read-only transaction as well). Either way the connection is not reused.
    if (!this.cutShort) await this.client.query('COMMIT').catch(() => undefined);
    this.client.release(true);
  }

  /** ` WHERE col >= 'v'::type AND col < 'w'::type` for the range's bounds, cast to the column's type. */
  private where(table: TableRef, range: CursorRange): string {
    return rangeWhere(range, this.types.get(`${tableName(table)}.${range.column}`));
  }
}
