/**
 * Dead letters as rows of a PostgreSQL table. When the flush's transaction is passed in, the
 * rows commit (or roll back) together with the offsets that move past them: a crash can neither
 * lose a dead letter nor write it twice.
 */
import type { Pool, PoolClient } from 'pg';
import { ConfigError, FatalError } from '../kernel/errors';
import { classifyError } from '../kernel/classify';
import { safeText } from '../kernel/text';
import type { TableRef } from '../kernel/types';
import {
  DEAD_LETTER_BYTEA_COLUMNS,
  DEAD_LETTER_COLUMNS,
  alterToByteaSql,
  createDeadLetterTableSql,
  deadLetterColumnsSql,
  insertDeadLettersSql,
} from '../sink/sql/dead-letter';
import { tableName } from '../pg/ident';
import { createUnderLock } from '../sink/offsets';
import type { DeadLetter, DeadLetterSink } from '../engine/ports';

export interface PgTableSinkOptions {
  /** The destination's pool, or how to get it once the sink has connected. */
  readonly pool: Pool | (() => Pool | undefined);
  readonly table: TableRef;
  /** Manifest path named in configuration errors. */
  readonly configPath?: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export class PgTableDeadLetterSink implements DeadLetterSink {
  private readonly insertSql: string;
  private ready = false;

  constructor(private readonly opts: PgTableSinkOptions) {
    this.insertSql = insertDeadLettersSql(opts.table);
  }

  private pool(): Pool {
    const pool = typeof this.opts.pool === 'function' ? this.opts.pool() : this.opts.pool;
    if (!pool) throw new Error('the dead-letter table was used before the PostgreSQL sink connected');
    return pool;
  }


  async init(): Promise<void> {
    const name = tableName(this.opts.table);
    const path = this.opts.configPath ?? 'errors.deadLetter.table';
    try {
      // Under an advisory lock: replicas starting together would race CREATE TABLE IF NOT EXISTS.
      await createUnderLock(this.pool(), this.opts.table, createDeadLetterTableSql(this.opts.table));
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === '3F000') {
        throw new ConfigError([{ path, message: `schema "${this.opts.table.schema}" does not exist; create it or choose an existing schema for the dead-letter table` }]);
      } else if (code === '42501') {
        throw new ConfigError([{ path, message: `permission denied to create ${name}; grant CREATE on schema "${this.opts.table.schema}" or create the table beforehand` }]);
      } else {
        throw err;
      }
    }
    const res = await this.pool().query<{ attname: string; type: string }>(deadLetterColumnsSql(this.opts.table));
    const have = new Map(res.rows.map((r) => [r.attname, r.type]));
    const missing = DEAD_LETTER_COLUMNS.filter((c) => !have.has(c));
    if (missing.length > 0) {
      throw new ConfigError([{ path, message: `existing table ${name} is not a dead-letter table: missing column(s) ${missing.join(', ')}; choose another table name or drop it` }]);
    }
    // Raw record bytes (a NUL, a Confluent wire-format header, invalid UTF-8) only fit bytea. A
    // table whose key/value were made text by hand is refused at start-up, with the migration,
    // rather than failing on the first such record.
    const wrong = DEAD_LETTER_BYTEA_COLUMNS.filter((c) => have.get(c) !== 'bytea');
    if (wrong.length > 0) {
      throw new ConfigError([{
        path,
        message: `existing dead-letter table ${name} stores ${wrong.map((c) => `${c} as ${have.get(c)}`).join(', ')}, which cannot hold every record's bytes; ` +
          `convert it: ${wrong.map((c) => alterToByteaSql(this.opts.table, c)).join('; ')}`,
      }]);
    }
    this.ready = true;
  }

  async send(items: readonly DeadLetter[], tx?: PoolClient): Promise<void> {
    if (!this.ready) throw new Error('PgTableDeadLetterSink.send called before init()');
    if (items.length === 0) return;
    const params: unknown[][] = [[], [], [], [], [], [], [], []];
    for (const d of items) {
      if (!/^\d+$/.test(d.offset)) throw new TypeError(`dead letter offset must be a decimal string, got ${JSON.stringify(d.offset)}`);
      // Key and value go in as bytea, unchanged; every text column is made safe (no NUL, valid
      // UTF-8), so no record's bytes, and no message quoting them, can make this insert fail.
      params[0]!.push(safeText(d.topic));
      params[1]!.push(d.partition);
      params[2]!.push(d.offset);
      params[3]!.push(d.key);
      params[4]!.push(d.value);
      params[5]!.push(readableText(d.value));
      params[6]!.push(safeText(d.reason));
      params[7]!.push(safeText(d.errorClass));
    }
    try {
      await (tx ?? this.pool()).query(this.insertSql, params);
    } catch (err) {
      // A connection lost or a server going down is an outage (retriable) and passes through as
      // it is. A data-class failure here would be a fault of the sink, not of the records: it
      // must never be taken for poison (that would dead-letter the dead letters), so it stops.
      if (classifyError(err) === 'data') {
        throw new FatalError(`writing ${items.length} dead letter(s) to ${tableName(this.opts.table)} failed: ${(err as Error).message}`, { cause: err });
      }
      throw err;
    }
  }

  async close(): Promise<void> {
    // The pool belongs to the caller (it is shared with apply); nothing to release here.
    this.ready = false;
  }
}

/**
 * The value as text when it is valid UTF-8, for ad-hoc queries: NUL (which PostgreSQL text cannot
 * hold) is written as the six characters `\u0000`. null when the value is not UTF-8 (the raw
 * bytes are always in `value`).
 */
export function readableText(value: Buffer | null): string | null {
  if (value === null) return null;
  try {
    return safeText(utf8.decode(value));
  } catch {
    return null;
  }
}
