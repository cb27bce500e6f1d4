/**
 * The PostgreSQL table source: one REPEATABLE READ READ ONLY snapshot per run, rows read with
 * `COPY (SELECT …) TO STDOUT` (text format, parsed by ./copy-text.ts) and handed out in pages.
 * The COPY stream is paused between pages, so memory stays bounded whatever the table's size.
 */
import type { PoolClient } from '../pg/pool';
import { copyTo } from '../pg/copy';
import type { Pool } from '../pg/pool';
import type { PgConnection } from '../config/types';
import type { Row, TableRef } from '../kernel/types';
import { createPool } from '../pg/pool';
import { ident, literal, tableName } from '../pg/ident';
import { CopyTextParser } from '../copy-text/parse';
import type { CursorRange, ReadRequest, SourceColumn, SourceTableInfo, TableReader, TableSource } from './table-source';

/**
 * Columns (in order, with format_type), primary key and the planner's row estimate of a table or
 * view the user may SELECT from; $1 schema, $2 name. Also read by ./pg-digest.ts.
 */
export const DESCRIBE_SQL = `
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
      await client.query("SET standard_conforming_strings = on; SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'");
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
    const res = await this.client.query<{ kind: string; estimate: number; columns: RawColumn[] | null; pk: string[] | null }>(DESCRIBE_SQL, [table.schema, table.table]);
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
    const res = await this.client.query<{ max: string | null }>(`SELECT max(${ident(range.column)})::text AS max FROM ${tableName(table)}${this.where(table, range)}`);
    return res.rows[0]?.max ?? null;
  }

  async *pages(req: ReadRequest): AsyncGenerator<Row[]> {
    const names = req.columns.map((c) => c.name);
    const sql = `COPY (SELECT ${names.map(ident).join(', ')} FROM ${tableName(req.table)}${req.range ? this.where(req.table, req.range) : ''}) TO STDOUT`;
    const parser = new CopyTextParser(names);
    const stream = this.client.query(copyTo(sql));
    stream.setEncoding('utf8');
    const onAbort = (): void => void stream.destroy(req.signal?.reason instanceof Error ? req.signal.reason : new Error('the read was aborted'));
    req.signal?.addEventListener('abort', onAbort, { once: true });
    let complete = false;
    try {
      req.signal?.throwIfAborted();
      let pending: Row[] = [];
      // for await pulls one chunk at a time: while a page is being written the stream stays paused.
      for await (const chunk of stream as AsyncIterable<string>) {
        for (const r of parser.push(chunk)) pending.push(r);
        while (pending.length >= req.pageRows) {
          yield pending.slice(0, req.pageRows);
          pending = pending.slice(req.pageRows);
        }
      }
      parser.end();
      complete = true;
      if (pending.length > 0) yield pending;
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

  /** ` WHERE col >= 'v'::type AND col < 'w'::type` for the range's bounds (none: every non-null cursor). */
  private where(table: TableRef, range: CursorRange): string {
    const col = ident(range.column);
    const type = this.types.get(`${tableName(table)}.${range.column}`);
    const cast = (v: string): string => (type ? `CAST(${literal(v)} AS ${type})` : literal(v));
    const parts: string[] = [];
    if (range.from) parts.push(`${col} ${range.from.inclusive ? '>=' : '>'} ${cast(range.from.value)}`);
    if (range.to) parts.push(`${col} ${range.to.inclusive ? '<=' : '<'} ${cast(range.to.value)}`);
    if (parts.length === 0) parts.push(`${col} IS NOT NULL`);
    return ` WHERE ${parts.join(' AND ')}`;
  }
}
