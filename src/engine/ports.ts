/**
 * The source stage's contract with the core. The Kafka adapter (kafka-source.ts) implements it
 * with kafkajs; test/unit/core uses an in-memory fake. Nothing outside src/source/ sees kafkajs.
 *
 * The core never blocks a batch on PostgreSQL: `batch` takes what it can and returns; when memory
 * is short it pauses partitions, and the adapter keeps the group session alive while paused.
 */
import type { OffsetMark, RawRecord } from '../kernel/types';
import type { CopyReadyEvent } from '../copy-text/line';

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
   * What was decoded ahead of the core (PrefetchSource with decode threads), by record index:
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

export interface Source {
  /** Connects, subscribes and runs; resolves once the consumer runs (or waits idle for topics). */
  start(handler: SourceHandler): Promise<void>;
  /** The next fetch of this partition starts at `offset`. No-op for a partition not assigned. */
  seek(tp: TopicPartition, offset: string): void;
  /** Stop / restart fetching these partitions; the group session stays alive meanwhile. */
  pause(tps: readonly TopicPartition[]): void;
  resume(tps: readonly TopicPartition[]): void;
  /** Tells the brokers these offsets (for lag tools; PostgreSQL holds the truth). */
  commit(marks: readonly OffsetMark[]): Promise<void>;
  /** Leaves the group and disconnects. */
  stop(): Promise<void>;
}

export const tpKey = (topic: string, partition: number): string => `${partition}:${topic}`;
