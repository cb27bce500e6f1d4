/**
 * Assembles a CDC pipeline's stages around the core: the Kafka source, the decoder, the router,
 * the buffers, the applier and the dead-letter sink. PostgreSQL (pool, offsets table, dead-letter
 * sink) is prepared inside the core's `starting` state, so an unreachable database at start-up is
 * retried like any outage, and a stop during start-up ends cleanly.
 */
import type { Pool } from 'pg';
import type { PipelineConfig } from '../config/types';
import { requirePrimaryKey } from '../config';
import type { CoreEmitter } from '../kernel/events';
import { FatalError } from '../kernel/errors';
import type { RawRecord, TableRef } from '../kernel/types';
import { BufferSet } from '../buffer';
import { Decoder } from '../decode/decoder';
import { createDeadLetterSink, type DeadLetterSink } from '../deadletter/dead-letter';
import { CdcCore } from '../engine/cdc-engine';
import { Flusher, type ApplierPort } from '../engine/flusher';
import { Intake } from '../engine/intake';
import { routerFor, sourcesOfTopics } from '../engine/route';
import { createKafka } from '../kafka/client';
import { KafkaSource } from '../kafka/kafka-source';
import { PrefetchSource } from '../decode/decode-ahead';
import { DecodePool } from '../decode/pool';
import type { Source } from '../engine/ports';
import type { Logger } from '../observe/logger';
import { SinkConnection } from '../sink/pg-sink';
import { availableCores } from './cores';

export interface CdcService {
  readonly core: CdcCore;
  /** The pool, once start-up made it (for cleanup). */
  pool(): Pool | undefined;
}

/**
 * Fetch sizes from the memory budget. Fetch limits count compressed bytes and a response is
 * decompressed whole, outside the budget: at 40:1 (gzip'd JSON) a 4 MiB fetch held ~160 MiB, so a
 * fetch stays a small share (bench: 512 KiB at the default 64 MiB budget kept the merge figure).
 */
export function fetchSizes(budgetBytes: number): { maxBytes: number; perPartition: number } {
  const maxBytes = Math.max(256 * 1024, Math.min(8 * 1024 * 1024, Math.floor(budgetBytes / 128)));
  return { maxBytes, perPartition: Math.max(128 * 1024, Math.min(1024 * 1024, Math.floor(maxBytes / 4))) };
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
  const decoderOptions = {
    topicPrefix: cdc.topicPrefix,
    mongoMode: cfg.sink.options.mongoMode,
    ...(cdc.binaryHandlingMode === 'hex' ? { binaryStringMode: 'hex' as const } : {}),
  };
  const decoder = new Decoder(decoderOptions);
  const router = routerFor(cfg, dest);
  const buffers = new BufferSet(cfg.buffer);
  // merge: rows the COPY-ready path encodes are held as their COPY lines (one parse per record).
  const declaredKey = cfg.sink.options.primaryKey && cfg.sink.options.primaryKey.length > 0 ? cfg.sink.options.primaryKey : undefined;
  // merge: fetched batches are decoded on threads while the main thread takes and applies.
  const threads = strategy === 'merge' ? decodeThreadsFor(cfg.sink.options.decodeThreads) : 0;
  let pool: DecodePool | undefined;
  let source: Source = kafkaSource;
  if (threads > 0) {
    const p = new DecodePool({
      decoder: decoderOptions,
      ...(declaredKey ? { keyColumns: declaredKey } : {}),
      threads,
      onError: (err) => log.warn({ err: String(err) }, 'a decode thread failed; decoding on the main thread from now on'),
    });
    pool = p;
    log.info({ threads }, 'fetched batches are decoded on worker threads (decode_threads)');
    source = new PrefetchSource(kafkaSource, {
      prepare: (b) => p.decode(b.topic, b.partition, b.records),
      // Fetched records waiting for a thread, beside the budget (like the fetch response itself).
      maxQueuedBytes: Math.max(sizes.maxBytes, Math.floor(cfg.buffer.memoryBudgetBytes / 16)),
    });
  }
  const intake = new Intake({
    decode: (rec) => decoder.decode(rec),
    ...(strategy === 'merge' ? { decodeForMerge: (rec: RawRecord) => decoder.decodeForMerge(rec, declaredKey) } : {}),
    route: (src) => router.route(src),
    keys: (ev, target) => requirePrimaryKey(cfg, ev.keyColumns, ev.table, { pos: ev.pos, target }),
    strategy,
    ...(cfg.sink.options.primaryKey ? { primaryKey: cfg.sink.options.primaryKey } : {}),
    buffers,
  });

  // Made during start-up (inside the core's retries); the ports below reach them once made.
  const sink = new SinkConnection(cfg, emitter, log, watch);
  let deadLetter: DeadLetterSink | undefined;
  const ready = <T>(x: T | undefined): T => {
    if (x === undefined) throw new FatalError('PostgreSQL used before start-up finished');
    return x;
  };
  const applierPort: ApplierPort = {
    apply: (flush, opts) => ready(sink.applier).apply(flush, opts),
    storedOffsets: (groupId, topics) => ready(sink.applier).storedOffsets(groupId, topics),
  };
  const deadLetterPort: DeadLetterSink | undefined = cfg.errors.deadLetter
    ? {
        init: async () => undefined,
        send: (items, tx) => ready(deadLetter).send(items, tx),
        close: async () => deadLetter?.close(),
      }
    : undefined;

  const flusher = new Flusher({
    applier: applierPort,
    errors: cfg.errors,
    emitter,
    warn: (msg, fields) => log.warn(fields, msg),
    ...(deadLetterPort ? { deadLetter: deadLetterPort } : {}),
  });
  const core = new CdcCore({
    groupId: cdc.groupId,
    source,
    intake,
    buffers,
    flusher,
    emitter,
    log,
    tolerance: cfg.errors.tolerance,
    memoryBudgetBytes: cfg.buffer.memoryBudgetBytes,
    maxAgeMs: cfg.buffer.maxAgeMs,
    // Two source tables that would land in one target stop the pipeline before either is written.
    onTopics: (topics) => router.check(sourcesOfTopics(topics, cdc.topicPrefix)),
    prepare: async () => {
      await beforeSink?.();
      const { pool } = await sink.open();
      if (cfg.errors.deadLetter && !deadLetter) {
        const sink = createDeadLetterSink(cfg.errors.deadLetter, { pool, kafka, pipeline: cfg.name });
        await sink?.init();
        deadLetter = sink;
      }
    },
  });
  void core.done.finally(() => Promise.all([deadLetter?.close(), pool?.close()])).catch(() => undefined);
  return { core, pool: () => sink.pool };
}
