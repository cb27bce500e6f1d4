/**
 * The dead-letter table read back and settled, for `nilus-pg deadletters`: what it holds (list),
 * and, inside the transaction of a replay, the letters that applied removed and those that failed
 * again given their new reason. Both check the rows they touch: a letter another replay already
 * removed makes the transaction fail (rolled back) rather than apply twice.
 */
import type { Pool, PoolClient } from 'pg';
import { FatalError } from '../kernel/errors';
import { safeText } from '../kernel/text';
import type { TableRef } from '../kernel/types';
import { tableName } from '../pg/ident';
import { deleteDeadLettersSql } from '../sink/sql/delete-dead-letters';
import { selectDeadLettersSql } from '../sink/sql/select-dead-letters';
import { updateDeadLetterReasonsSql } from '../sink/sql/update-dead-letter-reasons';

/** One row of the dead-letter table, without its bytes. */
export interface StoredLetter {
  /** The table's id, decimal string. */
  readonly id: string;
  readonly topic: string;
  readonly partition: number;
  /** Kafka offset, decimal string. */
  readonly offset: string;
  readonly reason: string;
  readonly errorClass: string;
  /** When it was dead-lettered, ISO 8601 UTC. */
  readonly createdAt: string;
  /** Size of the stored value (the decoded row as JSON for a rejected row; the raw record for poison). */
  readonly valueBytes: number | null;
}

export interface LetterFilter {
  /** Only letters written at or after this time (ISO 8601). */
  readonly since?: string;
  /** Only letters of these topics. */
  readonly topics?: readonly string[];
}

interface Row {
  id: string;
  topic: string;
  partition: number;
  kafka_offset: string;
  reason: string;
  error_class: string;
  created_at: string;
  value_bytes: number | null;
}

/** Where a pipeline's dead letters are read back from and settled: its table (below) or its topic (./topic-store.ts). */
export interface LetterStore {
  /** What it is, for messages: the table or topic name. */
  readonly name: string;
  /** Every letter matching `filter`, by position; none that a replay settled. */
  list(db: Pool, filter?: LetterFilter): Promise<StoredLetter[]>;
  /** Before a replay's transaction: whatever settling needs (idempotent). */
  prepare(db: Pool): Promise<void>;
  /**
   * Inside the replay's transaction: the letters that applied are settled (gone from the list),
   * those that failed again keep their letter with the new reason. Throws when another replay
   * settled one of them first (the transaction then rolls back).
   */
  settle(tx: PoolClient, replayed: readonly StoredLetter[], failed: readonly { readonly letter: StoredLetter; readonly reason: string }[]): Promise<void>;
  close(): Promise<void>;
}

export class DeadLetterStore implements LetterStore {
  constructor(readonly table: TableRef) {}

  get name(): string {
    return tableName(this.table);
  }

  /** Every letter matching `filter`, by position. A table that does not exist is an error naming it. */
  async list(db: Pool, filter: LetterFilter = {}): Promise<StoredLetter[]> {
    let res;
    try {
      res = await db.query<Row>(selectDeadLettersSql(this.table), [filter.since ?? null, filter.topics ? [...filter.topics] : null]);
    } catch (err) {
      if ((err as { code?: string }).code === '42P01') {
        throw new FatalError(`the dead-letter table ${this.name} does not exist (errors.deadletter.table): nothing was dead-lettered yet, or the manifest names another table`);
      }
      throw err;
    }
    return res.rows.map((r) => ({
      id: r.id, topic: r.topic, partition: r.partition, offset: r.kafka_offset, reason: r.reason,
      errorClass: r.error_class, createdAt: r.created_at, valueBytes: r.value_bytes,
    }));
  }

  async prepare(): Promise<void> {
    // the table is the pipeline's own: nothing to make
  }

  async settle(tx: PoolClient, replayed: readonly StoredLetter[], failed: readonly { readonly letter: StoredLetter; readonly reason: string }[]): Promise<void> {
    await this.remove(tx, replayed.map((l) => l.id));
    await this.rereason(tx, new Map(failed.map((f) => [f.letter.id, f.reason])));
  }

  async close(): Promise<void> {
    // holds no connection
  }

  /** Removes letters that applied, in the replay's transaction; throws when any was gone already. */
  async remove(tx: PoolClient, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const res = await tx.query<{ id: string }>(deleteDeadLettersSql(this.table), [[...ids]]);
    this.expectAll('remove', ids, res.rows);
  }

  /** Gives letters that failed again their new reason, in the replay's transaction. */
  async rereason(tx: PoolClient, updates: ReadonlyMap<string, string>): Promise<void> {
    if (updates.size === 0) return;
    const ids = [...updates.keys()];
    const res = await tx.query<{ id: string }>(updateDeadLetterReasonsSql(this.table), [ids, ids.map((id) => safeText(updates.get(id)!))]);
    this.expectAll('update', ids, res.rows);
  }

  private expectAll(what: string, ids: readonly string[], got: readonly { id: string }[]): void {
    if (got.length === ids.length) return;
    const have = new Set(got.map((r) => r.id));
    const gone = ids.filter((id) => !have.has(id));
    throw new ConcurrentReplayError(
      `could not ${what} dead letter(s) ${gone.slice(0, 5).join(', ')} of ${this.name}: they were removed meanwhile (another replay?); ` +
        'this replay was rolled back, nothing of it applied; run it again',
    );
  }
}

/** A letter this replay meant to settle was settled by another: the replay rolls back. */
export class ConcurrentReplayError extends FatalError {}
