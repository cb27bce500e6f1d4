/**
 * Assembles a CDC pipeline: the engine handed its ports — the Kafka source (with decode-ahead
 * threads for merge), the decoder, the PostgreSQL sink and the dead-letter sink — plus the router
 * and the buffers. The sinks connect inside the engine's `starting` state, so an unreachable
 * database at start-up is retried like any outage, and a stop during start-up ends cleanly.
 */
import type { Pool } from '../pg/pool';
import type { PipelineConfig } from '../config/types';
import type { CoreEmitter } from '../kernel/events';
import { FatalError } from '../kernel/errors';
import type { TableRef } from '../kernel/types';
import { BufferSet } from '../buffer';
import { createDeadLetterSink } from '../deadletter/factory';
import { CdcEngine } from '../engine/cdc-engine';
import { Flusher } from '../engine/flusher';
import { sourcesOfTopics } from '../decode/source';
import { createKafka } from '../kafka/client';
import { KafkaSource } from '../kafka/kafka-source';
import { DecodeAhead } from '../decode/decode-ahead';
import { DecodePool } from '../decode/pool';
import type { ChangeSource } from '../engine/ports';
import type { Logger } from '../observe/logger';
import { PgSink } from '../sink/pg-sink';
import { availableCores } from './cores';
import { createIntake, decoderOptionsOf } from './intake';

export interface CdcService {
  readonly core: CdcEngine;
  /** The PostgreSQL sink (closed by the caller once the engine is done). */
  readonly sink: PgSink;
  /** Decode threads started (0: decoding on the main thread only). */
  readonly decodeThreads: number;
}

/**
 * Fetch sizes from the memory budget. Fetch limits count compressed bytes and a response is
 * decompressed whole, outside the budget: at 40:1 (gzip'd JSON) a 4 MiB fetch held ~160 MiB, so a
 * fetch stays a small share (bench: 512 KiB at the default 64 MiB budget kept the merge figure).
 * Per partition an eighth of it (64 KiB at the default): a gzip fetch of 128 KiB per partition
 * (~20 MiB decompressed over 4 partitions) is decompressed whole before its first batch is taken,
 * lives long enough to be promoted, and held merge-gzip at 238–248 MiB; 64 KiB: 218 (bench,
 * 2026-12-07). A partition's first record batch comes whole whatever the limit.
 */
export function fetchSizes(budgetBytes: number): { maxBytes: number; perPartition: number } {
  const maxBytes = Math.max(256 * 1024, Math.min(8 * 1024 * 1024, Math.floor(budgetBytes / 128)));
  return { maxBytes, perPartition: Math.max(64 * 1024, Math.min(1024 * 1024, Math.floor(maxBytes / 8))) };
}

/**
 * Decode threads for a merge pipeline: as set, else one per two cores beyond the first two, at
 * most 4 (2–3 cores: none; 4–5: one; 10 and more: four), the cores being those the process may
 * use (a cgroup CPU quota counts: ./cores.ts). Half the cores are left to the main
 * thread and to what usually shares the machine (Node's GC and zlib threads, PostgreSQL or Kafka
 * beside it): on 2 cores shared with both, a thread brought −8…+12% events/s for ~20% more CPU and
 * 30–60 MiB more memory (docs/benchmark.md "Decode threads").
 */
export function decodeThreadsFor(set: number | undefined, cores: number = availableCores()): number {
  return set ?? Math.max(0, Math.min(4, Math.floor(cores / 2) - 1));
}

/**
 * Fetched records waiting for a decode thread (DecodeAhead's maxQueuedBytes), beside the budget
 * like the fetch response itself: budget / 64, at least one fetch response (1 MiB at the default).
 * A record is a view of its whole fetch response, so a response waiting there past two young
 * collections is promoted and freed only by a full one: with budget / 16 (4 MiB) the worker's
 * ArrayBuffers swung between 11 and 65 MiB (bench, merge-threads, 2026-12-07).
 */
export function decodeQueueBytes(budgetBytes: number, fetchMaxBytes: number): number {
  return Math.max(fetchMaxBytes, Math.floor(budgetBytes / 64));
}

/** A decode thread's old generation limit: 64 MiB or the budget, whichever is larger (src/decode/pool.ts). */
export function decodeThreadHeapMb(budgetBytes: number): number {
  return Math.max(64, Math.floor(budgetBytes / (1024 * 1024)));
}

/**
 * `beforeSink` runs first in start-up, inside the same retries (a managed source's connector is
 * created there, so Kafka Connect being down at start-up is retried like PostgreSQL being down).
 */
export function createCdc(cfg: PipelineConfig, dest: TableRef, emitter: CoreEmitter, log: Logger, watch: (pool: Pool) => void, beforeSink?: () => Promise<void>): CdcService {
  const cdc = cfg.cdc;
  if (!cdc) throw new FatalError('a cdc pipeline needs spec.source.cdc');
  const { strategy } = cfg.sink.options;
  if (strategy === 'replace') throw new FatalError('replace is not a cdc strategy'); // refused by config already
  const kafka = createKafka(cdc.kafka, { log });
  const sizes = fetchSizes(cfg.buffer.memoryBudgetBytes);
  const kafkaSource = new KafkaSource(kafka, {
    groupId: cdc.groupId,
    filter: { prefix: cdc.topicPrefix, include: cdc.include, exclude: cdc.exclude },
    fromBeginning: cdc.fromBeginning,
    topicRefreshMs: cdc.topicRefreshMs,
    sessionTimeoutMs: cdc.sessionTimeoutMs,
    heartbeatIntervalMs: cdc.heartbeatIntervalMs,
    fetchMaxBytes: sizes.maxBytes,
    fetchMaxBytesPerPartition: sizes.perPartition,
    log: (level, msg, fields) => log[level](fields ?? {}, msg),
  }, createKafka(cdc.kafka, { log, retries: 0 }));
  const decoderOptions = decoderOptionsOf(cfg);
  const buffers = new BufferSet(cfg.buffer, { keepDeleted: cfg.sink.options.deleteMode === 'soft' });
  // merge: rows the COPY-ready path encodes are held as their COPY lines (one parse per record).
  const declaredKey = cfg.sink.options.primaryKey && cfg.sink.options.primaryKey.length > 0 ? cfg.sink.options.primaryKey : undefined;
  // merge: fetched batches are decoded on threads while the main thread takes and applies.
  const threads = strategy === 'merge' ? decodeThreadsFor(cfg.sink.options.decodeThreads) : 0;
  let pool: DecodePool | undefined;
  let source: ChangeSource = kafkaSource;
  if (threads > 0) {
    const p = new DecodePool({
      decoder: decoderOptions,
      ...(declaredKey ? { keyColumns: declaredKey } : {}),
      threads,
      maxOldGenerationMb: decodeThreadHeapMb(cfg.buffer.memoryBudgetBytes),
      onError: (err) => log.warn({ err: String(err) }, 'a decode thread failed; decoding on the main thread from now on'),
    });
    pool = p;
    log.info({ threads }, 'fetched batches are decoded on worker threads (decode_threads)');
    source = new DecodeAhead(kafkaSource, {
      prepare: (b) => p.decode(b.topic, b.partition, b.records),
      maxQueuedBytes: decodeQueueBytes(cfg.buffer.memoryBudgetBytes, sizes.maxBytes),
    });
  }
  const { intake, router } = createIntake(cfg, dest, buffers);

  // Connected during start-up (inside the engine's retries), so an unreachable database is an outage.
  const sink = new PgSink(cfg.sink.pg, cfg.sink.options, { watch, log: (msg, fields) => log.info(fields ?? {}, msg), warn: (msg, fields) => log.warn(fields ?? {}, msg) });
  const deadLetter = createDeadLetterSink(cfg.errors.deadLetter, { pool: () => sink.pool, kafka, pipeline: cfg.name });
  const flusher = new Flusher({
    sink,
    tolerance: cfg.errors.tolerance,
    retry: cfg.errors.retry,
    emitter,
    warn: (msg, fields) => log.warn(fields, msg),
    ...(deadLetter ? { deadLetter } : {}),
  });
  const core = new CdcEngine({
    groupId: cdc.groupId,
    source,
    sink,
    ...(deadLetter ? { deadLetter } : {}),
    retry: cfg.errors.retry,
    intake,
    buffers,
    flusher,
    emitter,
    log,
    tolerance: cfg.errors.tolerance,
    memoryBudgetBytes: cfg.buffer.memoryBudgetBytes,
    maxAgeMs: cfg.buffer.maxAgeMs,
    flushWhenCaughtUp: cfg.buffer.flushWhenCaughtUp,
    onOffsetGap: cfg.sink.options.onOffsetGap,
    // Two source tables that would land in one target stop the pipeline before either is written.
    onTopics: (topics) => router.check(sourcesOfTopics(topics, cdc.topicPrefix)),
    ...(beforeSink ? { prepare: beforeSink } : {}),
  });
  void core.done.finally(() => Promise.all([deadLetter?.close(), pool?.close()])).catch(() => undefined);
  return { core, sink, decodeThreads: threads };
}
