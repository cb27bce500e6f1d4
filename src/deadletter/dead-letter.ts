/**
 * Dead letters: events that can never apply (undecodable, unconvertible, rejected by a constraint)
 * leave the pipeline with their reason so it can continue. Two sinks: a Kafka topic (Kafka
 * Connect's convention) or a PostgreSQL table (which can join the flush transaction, so dead
 * letters commit atomically with the offsets that skip them).
 */
import type { PoolClient } from 'pg';

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
  /** Connects and creates the topic/table when missing. Call once before send. */
  init(): Promise<void>;
  /**
   * Stores the dead letters. With `tx`, a table sink writes inside that transaction (the caller
   * commits); a topic sink cannot join it and is acknowledged before returning.
   */
  send(items: readonly DeadLetter[], tx?: PoolClient): Promise<void>;
  close(): Promise<void>;
}

export { KafkaTopicDeadLetterSink, DEAD_LETTER_HEADERS, type KafkaTopicSinkOptions } from './topic-sink';
export { PgTableDeadLetterSink, type PgTableSinkOptions } from './table-sink';
export { createDeadLetterSink, type DeadLetterDeps } from './factory';
export { rejectedLetter, describeRejection, rejectionReason, rejectedColumn } from './rejected';
