/**
 * Applies one flush: rows, dead letters and offsets in one PostgreSQL transaction, retried with
 * backoff while the failure is transient (for as long as errors.retry allows; by default without
 * end). A row PostgreSQL rejects with a data error is, under `errors.tolerance: all`, bisected out
 * and dead-lettered while the rest applies; under `none` it is found the same way and the flush
 * rolls back with an error that names the record.
 */
import type { PoolClient } from 'pg';
import type { ErrorHandling } from '../config/types';
import type { ApplyOptions, RejectedRow } from '../sink/pg-applier';
import { describeRejection, rejectedLetter, type DeadLetter, type DeadLetterSink } from '../deadletter/dead-letter';
import { classifyError } from '../kernel/classify';
import type { CoreEmitter } from '../kernel/events';
import { FatalError, FencedError } from '../kernel/errors';
import { reportedRetry } from '../kernel/retry';
import type { Flush, OffsetMark } from '../kernel/types';

/** What the core needs of the apply stage (PgApplier; a fake in unit tests). */
export interface ApplierPort {
  apply(flush: Flush, opts?: ApplyOptions): Promise<void>;
  storedOffsets(groupId: string, topics?: readonly string[]): Promise<OffsetMark[]>;
}

export interface FlusherDeps {
  readonly applier: ApplierPort;
  readonly errors: ErrorHandling;
  readonly emitter: CoreEmitter;
  readonly warn: (msg: string, fields: object) => void;
  readonly deadLetter?: DeadLetterSink;
}

export class Flusher {
  constructor(private readonly deps: FlusherDeps) {}

  /** Resolves once committed. Throws FencedError (offsets moved under us) or a fatal error. */
  async apply(flush: Flush, decodeDead: readonly DeadLetter[]): Promise<void> {
    try {
      await this.attempt(flush, decodeDead, undefined);
    } catch (err) {
      if (err instanceof FencedError || classifyError(err) !== 'data') throw err;
      if (this.deps.errors.tolerance === 'all') {
        this.deps.warn('a row was rejected; isolating it', { err: String(err) });
        await this.attempt(flush, decodeDead, 'dead-letter');
      } else {
        // Find the record to name; the first rejection rolls the flush back.
        await this.attempt(flush, decodeDead, 'stop');
        throw new FatalError(`${(err as Error).message}; it could not be traced to one row. ${APPLY_STOPPED}`, { cause: err });
      }
    }
  }

  /**
   * Retries for as long as errors.retry allows (`maxAttempts` may be Infinity); each failed attempt
   * is a `retry` event (metric, log line) and marks the system it needs as down (readiness).
   */
  withRetry<T>(operation: string, fn: () => Promise<T>, o: { signal?: AbortSignal; system?: 'postgresql' | 'kafka' } = {}): Promise<T> {
    return reportedRetry(this.deps.emitter, this.deps.errors.retry, operation, fn, o);
  }

  /** The group's stored next-offsets, retried like a flush. */
  storedOffsets(groupId: string, topics: readonly string[]): Promise<OffsetMark[]> {
    return this.withRetry('read stored offsets', () => this.deps.applier.storedOffsets(groupId, topics));
  }

  private attempt(flush: Flush, decodeDead: readonly DeadLetter[], isolate: 'dead-letter' | 'stop' | undefined): Promise<void> {
    return this.withRetry('apply', () => {
      const dead: DeadLetter[] = [...decodeDead];
      const opts: ApplyOptions = {
        beforeCommit: (client) => this.sendDead(dead, client),
        ...(isolate === 'dead-letter' ? { onReject: (r: RejectedRow) => void dead.push(rejectedLetter(r)) } : {}),
        ...(isolate === 'stop'
          ? {
              onReject: (r: RejectedRow) => {
                throw new FatalError(describeRejection(r), { cause: r.error });
              },
            }
          : {}),
      };
      return this.deps.applier.apply(flush, opts);
    });
  }

  /** Dead letters commit with the flush: a table sink inside its transaction, a topic sink acknowledged before COMMIT. */
  private async sendDead(dead: readonly DeadLetter[], client: PoolClient): Promise<void> {
    if (dead.length === 0) return;
    for (const d of dead) this.deps.emitter.emit('deadLettered', { topic: d.topic, partition: d.partition, offset: d.offset, reason: d.reason });
    if (this.deps.deadLetter) return this.deps.deadLetter.send(dead, client);
    // errors.tolerance 'all' without a destination: skipped, but never silently.
    for (const d of dead) this.deps.warn('skipped a record that cannot apply (no dead-letter destination configured)', { topic: d.topic, partition: d.partition, offset: d.offset, reason: d.reason });
  }
}

const APPLY_STOPPED =
  'The pipeline stopped; the flush holding this record was rolled back, so the stored offsets still point ' +
  'before it and a restart reads it again. To skip such records into a dead-letter topic or table instead, ' +
  'set errors.tolerance: all and errors.deadletter.topic or errors.deadletter.table';

export const STOPPED =
  'The pipeline stopped before this record; everything before it was applied and committed. ' +
  'To skip such records into a dead-letter topic or table instead, set errors.tolerance: all ' +
  'and errors.deadletter.topic or errors.deadletter.table';
