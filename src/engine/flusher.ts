/**
 * Applies one flush through the sink: rows, dead letters and offsets in one transaction, retried
 * with backoff while the failure is transient (for as long as errors.retry allows; by default
 * without end), then reported as a `flushed` event. A row the sink's database rejects with a data
 * error is, under `errors.tolerance: all`, isolated and dead-lettered while the rest applies; under
 * `none` it is found the same way and the flush rolls back with an error that names the record.
 */
import { classifyError } from '../kernel/classify';
import type { CoreEmitter } from '../kernel/events';
import { FatalError, FencedError } from '../kernel/errors';
import { reportedRetry, type RetryPolicy } from '../kernel/retry';
import type { Flush, FlushedTable, OffsetMark } from '../kernel/types';
import type { DeadLetter, DeadLetterSink, Rejection, Sink, SinkTransaction, WriteOptions } from './ports';

export interface FlusherDeps {
  readonly sink: Sink;
  readonly tolerance: 'none' | 'all';
  readonly retry: RetryPolicy;
  readonly emitter: CoreEmitter;
  readonly warn: (msg: string, fields: object) => void;
  readonly deadLetter?: DeadLetterSink;
  readonly now?: () => number;
}

/** At most this many source timestamps per flush go to observers (latency is sampled). */
const TS_SAMPLE = 256;

export class Flusher {
  private readonly now: () => number;

  constructor(private readonly deps: FlusherDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Resolves once committed. Throws FencedError (offsets moved under us) or a fatal error. */
  async apply(flush: Flush, decodeDead: readonly DeadLetter[]): Promise<void> {
    try {
      await this.attempt(flush, decodeDead, undefined);
    } catch (err) {
      if (err instanceof FencedError || classifyError(err) !== 'data') throw err;
      if (this.deps.tolerance === 'all') {
        this.deps.warn('a row was rejected; isolating it', { err: String(err) });
        await this.attempt(flush, decodeDead, 'dead-letter');
      } else {
        // Find the record to name; the first rejection rolls the flush back.
        await this.attempt(flush, decodeDead, 'stop');
        throw new FatalError(`${(err as Error).message}; it could not be traced to one row. ${APPLY_STOPPED}`, { cause: err });
      }
    }
  }

  /** The group's stored next-offsets, retried like a flush. */
  storedOffsets(groupId: string, topics: readonly string[]): Promise<OffsetMark[]> {
    return reportedRetry(this.deps.emitter, this.deps.retry, 'read stored offsets', () => this.deps.sink.storedOffsets(groupId, topics));
  }

  private attempt(flush: Flush, decodeDead: readonly DeadLetter[], isolate: 'dead-letter' | 'stop' | undefined): Promise<void> {
    return reportedRetry(this.deps.emitter, this.deps.retry, 'apply', async () => {
      const dead: DeadLetter[] = [...decodeDead];
      const opts: WriteOptions = {
        beforeCommit: (tx) => this.sendDead(dead, tx),
        ...(isolate === 'dead-letter' ? { onReject: (r: Rejection) => void dead.push(r.letter) } : {}),
        ...(isolate === 'stop'
          ? {
              onReject: (r: Rejection) => {
                throw new FatalError(r.description, { cause: r.error });
              },
            }
          : {}),
      };
      const started = process.hrtime.bigint();
      const tables = await this.deps.sink.write(flush, opts);
      this.emitFlushed(flush, tables, started);
    });
  }

  /** Dead letters commit with the flush: a table sink inside its transaction, a topic sink acknowledged before COMMIT. */
  private async sendDead(dead: readonly DeadLetter[], tx: SinkTransaction): Promise<void> {
    if (dead.length === 0) return;
    for (const d of dead) this.deps.emitter.emit('deadLettered', { topic: d.topic, partition: d.partition, offset: d.offset, reason: d.reason });
    if (this.deps.deadLetter) return this.deps.deadLetter.send(dead, tx);
    // errors.tolerance 'all' without a destination: skipped, but never silently.
    for (const d of dead) this.deps.warn('skipped a record that cannot apply (no dead-letter destination configured)', { topic: d.topic, partition: d.partition, offset: d.offset, reason: d.reason });
  }

  private emitFlushed(flush: Flush, tables: readonly FlushedTable[], started: bigint): void {
    let events = 0;
    for (const b of flush.tables) events += b.strategy === 'append' ? b.events.length : b.upserts.length + b.deletes.length;
    // Latency is sampled evenly over the whole flush: the first events alone are its oldest and
    // would make the histogram read high.
    const stride = Math.max(1, Math.ceil(events / TS_SAMPLE));
    const sourceTsMs: number[] = [];
    let i = 0;
    const take = (ts: number | undefined): void => {
      if (i++ % stride === 0 && ts !== undefined) sourceTsMs.push(ts);
    };
    for (const b of flush.tables) {
      for (const s of b.upsertSource) take(s.tsMs);
      for (const s of b.deleteSource) take(s.tsMs);
      for (const e of b.events) take(e.source.tsMs);
    }
    this.deps.emitter.emit('flushed', {
      durationSeconds: Number(process.hrtime.bigint() - started) / 1e9,
      events,
      tables: [...tables],
      sourceTsMs,
      commitTsMs: this.now(),
    });
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
