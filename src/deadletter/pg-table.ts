/**
 * Dead letters as rows of a PostgreSQL table. When the flush's transaction is passed in, the
 * rows commit (or roll back) together with the offsets that move past them: a crash can neither
 * lose a dead letter nor write it twice.
 */
import type { Pool, PoolClient } from 'pg';
import { ConfigError } from '../core/errors';
import type { TableRef } from '../core/types';
import {
  DEAD_LETTER_COLUMNS,
  createDeadLetterTableSql,
  deadLetterColumnsSql,
  insertDeadLettersSql,
} from '../apply/sql/dead-letter';
import { tableName } from '../apply/sql/ident';
import type { DeadLetter, DeadLetterSink } from './index';

export interface PgTableSinkOptions {
  readonly pool: Pool;
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

  async init(): Promise<void> {
    const name = tableName(this.opts.table);
    const path = this.opts.configPath ?? 'errors.deadLetter.table';
    try {
      await this.opts.pool.query(createDeadLetterTableSql(this.opts.table));
    } catch (err) {
      const code = (err as { code?: string }).code;
      // Two replicas starting together both run CREATE TABLE IF NOT EXISTS; the loser of that race
      // gets a unique violation on the catalog (23505) or duplicate_table (42P07). The table exists.
      if (code === '23505' || code === '42P07') {
        /* created by a sibling replica */
      } else if (code === '3F000') {
        throw new ConfigError([{ path, message: `schema "${this.opts.table.schema}" does not exist; create it or choose an existing schema for the dead-letter table` }]);
      } else if (code === '42501') {
        throw new ConfigError([{ path, message: `permission denied to create ${name}; grant CREATE on schema "${this.opts.table.schema}" or create the table beforehand` }]);
      } else {
        throw err;
      }
    }
    const res = await this.opts.pool.query<{ attname: string }>(deadLetterColumnsSql(this.opts.table));
    const have = new Set(res.rows.map((r) => r.attname));
    const missing = DEAD_LETTER_COLUMNS.filter((c) => !have.has(c));
    if (missing.length > 0) {
      throw new ConfigError([{ path, message: `existing table ${name} is not a dead-letter table: missing column(s) ${missing.join(', ')}; choose another table name or drop it` }]);
    }
    this.ready = true;
  }

  async send(items: readonly DeadLetter[], tx?: PoolClient): Promise<void> {
    if (!this.ready) throw new Error('PgTableDeadLetterSink.send called before init()');
    if (items.length === 0) return;
    const params: unknown[][] = [[], [], [], [], [], [], [], []];
    for (const d of items) {
      if (!/^\d+$/.test(d.offset)) throw new TypeError(`dead letter offset must be a decimal string, got ${JSON.stringify(d.offset)}`);
      params[0]!.push(d.topic);
      params[1]!.push(d.partition);
      params[2]!.push(d.offset);
      params[3]!.push(d.key);
      params[4]!.push(d.value);
      params[5]!.push(readableText(d.value));
      params[6]!.push(d.reason);
      params[7]!.push(d.errorClass);
    }
    await (tx ?? this.opts.pool).query(this.insertSql, params);
  }

  async close(): Promise<void> {
    // The pool belongs to the caller (it is shared with apply); nothing to release here.
    this.ready = false;
  }
}

/** The value as text when it is valid UTF-8 without NUL (PostgreSQL text cannot hold NUL). */
export function readableText(value: Buffer | null): string | null {
  if (value === null) return null;
  if (value.includes(0)) return null;
  try {
    return utf8.decode(value);
  } catch {
    return null;
  }
}
