/**
 * What the CDC engine needs from outside, and nothing else: a change source (the Kafka adapter,
 * src/kafka/kafka-source.ts, or an in-memory fake in test/unit/engine), a sink that writes a flush
 * in one transaction with its offsets (src/sink/pg-sink.ts), a decoder (src/decode/decoder.ts) and
 * a dead-letter sink (src/deadletter/). Adapters import this file; the engine imports no adapter.
 *
 * The engine never blocks a batch on PostgreSQL: `batch` takes what it can and returns; when memory
 * is short it pauses partitions, and the source keeps the group session alive while paused.
 */
import type { ChangeEvent, CopyReadyEvent, Flush, FlushedTable, OffsetMark, RawRecord } from '../kernel/types';
import type { PartitionBounds } from '../kernel/offset-gap';

// ---- the change source ----------------------------------------------------------------------

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

export interface SourceBatch {
  readonly topic: string;
  readonly partition: number;
  /** In offset order. */
  readonly records: readonly RawRecord[];
  readonly highWatermark: string;
  /**
   * The offset this fetch started at (the client's fetch position), when the source knows it.
   * Elsewhere than the offset the engine expects next, the client moved by itself: past control
   * records, back to its committed offset, or after an out-of-range reset (see KafkaSource); the
   * engine then checks the partition's bounds.
   */
  readonly fetchedOffset?: string;
  /**
   * What was decoded ahead of the core (DecodeAhead with decode threads), by record index:
   * the event the intake takes as it is; undefined where the intake decodes the record itself.
   */
  readonly prepared?: readonly (CopyReadyEvent | undefined)[];
  /** True once a seek or rebalance made this batch obsolete: stop taking it. */
  isStale(): boolean;
  /**
   * Everything up to `offset` was taken: the next fetch of this partition starts after it. What
   * is not resolved is fetched again once the partition is resumed.
   */
  resolve(offset: string): void;
}

export interface SourceHandler {
  /** One fetched batch. Must return promptly (it holds up the fetch loop and heartbeats). */
  batch(b: SourceBatch): Promise<void>;
  /** Every (re)join, with the partitions now assigned to this member. */
  assigned(partitions: readonly TopicPartition[]): void;
  /** A rebalance started: what is held will be fenced if a partition moves. */
  revoking(): void;
  /** No topic matches yet (true), or some do (false). */
  idle(idle: boolean): void;
  /** Connection to the brokers up or down (readiness). */
  connected(up: boolean): void;
  /** The topics read, at start and whenever the set grows. */
  topics(topics: readonly string[]): void;
  /** The consumer cannot go on (an error a restart cannot fix). */
  crashed(err: Error): void;
}

export interface ChangeSource {
  /** Connects, subscribes and runs; resolves once the consumer runs (or waits idle for topics). */
  start(handler: SourceHandler): Promise<void>;
  /** The next fetch of this partition starts at `offset`. No-op for a partition not assigned. */
  seek(tp: TopicPartition, offset: string): void;
  /** Stop / restart fetching these partitions; the group session stays alive meanwhile. */
  pause(tps: readonly TopicPartition[]): void;
  resume(tps: readonly TopicPartition[]): void;
  /**
   * Each partition's log-start offset and high watermark, now (one round trip; not retried: the
   * engine retries it). Every partition asked for is in the answer.
   */
  bounds(tps: readonly TopicPartition[]): Promise<readonly PartitionBounds[]>;
  /** Tells the brokers these offsets (for lag tools; PostgreSQL holds the truth). */
  commit(marks: readonly OffsetMark[]): Promise<void>;
  /** Leaves the group and disconnects. */
  stop(): Promise<void>;
}

export const tpKey = (topic: string, partition: number): string => `${partition}:${topic}`;

// ---- decode ---------------------------------------------------------------------------------

/** One raw record into a change event (null: a tombstone). Throws DataError for a record that can never apply. */
export interface ChangeDecoder {
  decode(rec: RawRecord): ChangeEvent | null;
  /**
   * merge only, used instead of `decode` when given: hands a record the merge buffer can hold as
   * its COPY line over as a CopyReadyEvent and anything else as `decode` would, parsing it once.
   * `keyColumns`: the declared primary key (default: the Kafka key's columns).
   */
  decodeForMerge?(rec: RawRecord, keyColumns?: readonly string[]): ChangeEvent | CopyReadyEvent | null;
}

// ---- the sink -------------------------------------------------------------------------------

/**
 * The sink's open transaction, opaque to the engine: it hands it to the dead-letter sink so that
 * dead letters commit with the flush (the PostgreSQL sink passes its transaction's client).
 */
export type SinkTransaction = object;

/** A row the sink's database rejected (a data error), found by isolating it inside the flush. */
export interface Rejection {
  /** The row as a dead letter (its origin and reason). */
  readonly letter: DeadLetter;
  /** The message that names the row, the table, the column and the fix (errors.tolerance none). */
  readonly description: string;
  readonly error: Error;
}

export interface WriteOptions {
  /** Runs inside the flush transaction, after the rows and before the offsets. */
  readonly beforeCommit?: (tx: SinkTransaction) => Promise<void>;
  /** Isolate and hand over rows rejected with a data error instead of failing the flush. */
  readonly onReject?: (r: Rejection) => void;
}

/** Connect, write a flush with its offsets in one transaction, read stored offsets, close. */
export interface Sink {
  /** Connects and prepares what the sink keeps (the offsets table). Idempotent; retried at start-up. */
  open(): Promise<void>;
  /**
   * One transaction: the rows of every table, `beforeCommit`, the offsets compare-and-set against
   * the offsets the flush continues from, COMMIT. Throws FencedError when they moved. Resolves with
   * what was written per table.
   */
  write(flush: Flush, opts?: WriteOptions): Promise<readonly FlushedTable[]>;
  /** The group's stored next-offsets (all topics, or only `topics`). */
  storedOffsets(groupId: string, topics?: readonly string[]): Promise<OffsetMark[]>;
  close(): Promise<void>;
}

// ---- dead letters ---------------------------------------------------------------------------

/** A record that can never apply, with its reason. */
export interface DeadLetter {
  readonly topic: string;
  readonly partition: number;
  /** Kafka offset, decimal string. */
  readonly offset: string;
  /** Raw record key/value, unchanged. */
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** Human-readable: what was wrong and, when known, the field. */
  readonly reason: string;
  /** 'data' for events that can never apply; or the error's class name. */
  readonly errorClass: string;
}

export interface DeadLetterSink {
  /** Connects and creates the topic/table when missing. Idempotent; retried at start-up. */
  init(): Promise<void>;
  /**
   * Stores the dead letters. With `tx`, a table sink writes inside that transaction (the caller
   * commits); a topic sink cannot join it and is acknowledged before returning.
   */
  send(items: readonly DeadLetter[], tx?: SinkTransaction): Promise<void>;
  close(): Promise<void>;
}
