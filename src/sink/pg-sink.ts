/**
 * The PostgreSQL sink, one object for CDC and batch alike: connect (the pool, made once, its
 * clients watched; the offsets table), write a flush with its offsets in one transaction, read the
 * stored offsets, close. It implements the engine's Sink port; `open()` is called inside the
 * start-up retries until PostgreSQL answers, by the CDC engine and by a batch run.
 */
import type { Pool } from 'pg';
import type { Flush, FlushedTable, OffsetMark } from '../kernel/types';
import { FatalError } from '../kernel/errors';
import type { Sink, WriteOptions } from '../engine/ports';
import type { PgConnection, SinkOptions } from '../config/types';
import { createPool } from '../pg/pool';
import { PgApplier } from './pg-applier';

export interface PgSinkDeps {
  /** Each pool made is handed here once (e.g. to watch its clients). */
  readonly watch?: (pool: Pool) => void;
  readonly log?: (msg: string, fields?: object) => void;
  /** Warnings (a target column widened, a variant column added); default: `log`. */
  readonly warn?: (msg: string, fields?: object) => void;
}

export class PgSink implements Sink {
  private made: { pool: Pool; applier: PgApplier } | undefined;
  private closed = false;

  constructor(
    private readonly conn: PgConnection,
    private readonly options: SinkOptions,
    private readonly deps: PgSinkDeps = {},
  ) {}

  /** The pool, once open() made it. */
  get pool(): Pool | undefined {
    return this.made?.pool;
  }

  /** The writer over the pool, for batch runs (every page in one transaction). Throws before open(). */
  get applier(): PgApplier {
    return this.opened().applier;
  }

  async open(): Promise<void> {
    if (this.closed) throw new FatalError('the PostgreSQL sink was closed');
    if (!this.made) {
      const { statementTimeoutMs, lockTimeoutMs } = this.options;
      const pool = await createPool(this.conn, 4, { statementTimeoutMs, lockTimeoutMs });
      this.deps.watch?.(pool);
      this.made = { pool, applier: new PgApplier(pool, this.options, { ...(this.deps.log ? { log: this.deps.log } : {}), ...(this.deps.warn ? { warn: this.deps.warn } : {}) }) };
    }
    await this.made.applier.init();
  }

  write(flush: Flush, opts?: WriteOptions): Promise<FlushedTable[]> {
    return this.opened().applier.apply(flush, opts);
  }

  storedOffsets(groupId: string, topics?: readonly string[]): Promise<OffsetMark[]> {
    return this.opened().applier.storedOffsets(groupId, topics);
  }

  /** Ends the pool (once). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.made?.pool.end();
  }

  private opened(): { pool: Pool; applier: PgApplier } {
    if (!this.made) throw new FatalError('PostgreSQL used before start-up finished');
    return this.made;
  }
}
