/**
 * `nilus-pg deadletters … replay`: the records behind dead letters applied again, once their cause
 * is fixed, through the pipeline's own decode and apply. A replay is a source of records for the
 * same apply: each record is read back from Kafka at the letter's position, taken by the same
 * Intake (decode, route, buffer) and written by the same PgSink in ONE transaction that also
 * settles the letters (../deadletter/store.ts: a table's letters that applied are removed and those
 * rejected again get their new reason; a topic's are marked, ../deadletter/topic-store.ts). A replay run
 * twice therefore applies once, and a crash leaves both the rows and the letters as before.
 *
 * Offsets are not touched (the pipeline has moved past these records). Ordering against newer
 * changes of the same key: with spec.sink.options.stale_guard a replayed event older than the
 * stored row does not overwrite it; without it the replayed event overwrites whatever is stored,
 * so a merge pipeline without the guard is refused unless forced.
 */
import type { PipelineConfig } from '../config/types';
import { parseTableName } from '../config';
import { ConfigError, FatalError } from '../kernel/errors';
import type { RawRecord, TableBatch, TableRef } from '../kernel/types';
import { BufferSet } from '../buffer';
import { DeadLetterStore, type LetterStore, type StoredLetter } from '../deadletter/store';
import { TopicLetterStore } from '../deadletter/topic-store';
import { offsetsTable } from '../sink/offsets';
import { REPLAYED_LETTERS_TABLE } from '../sink/sql/replayed-letters';
import { createKafka } from '../kafka/client';
import { readAt, positionKey, throwawayGroupId } from '../kafka/read-at';
import { createPool, type Pool } from '../pg/pool';
import { PgSink } from '../sink/pg-sink';
import { createIntake } from './intake';
import { lettersOf, settle, type Settled } from './letters';

export interface LetterQuery {
  /** Only the letters whose records land in this target. */
  readonly table?: TableRef;
  /** Only the letters written at or after this time (ISO 8601). */
  readonly since?: string;
}

export const NO_GUARD_REFUSAL =
  'replay refused: this merge pipeline has no stale-event guard (spec.sink.options.stale_guard: false), so a replayed ' +
  'dead letter would overwrite any newer change of the same key applied since. Set stale_guard: true (an older event ' +
  'then never overwrites a newer row), or run again with --force to overwrite';

/** Where a CDC pipeline's dead letters are (its table or its topic), or a ConfigError naming what is missing. */
export function letterStore(cfg: PipelineConfig): LetterStore {
  const dl = cfg.errors.deadLetter;
  if (cfg.mode !== 'cdc' || !cfg.cdc) {
    throw new ConfigError([{ path: 'spec.type', message: 'dead letters are listed and replayed for cdc pipelines; a batch run has no dead letters to replay' }]);
  }
  if (!dl) throw new ConfigError([{ path: 'spec.sink.options.errors.deadletter.table', message: 'this pipeline keeps no dead letters: set errors.deadletter.table (or errors.deadletter.topic)' }]);
  if (dl.kind === 'table') return new DeadLetterStore(dl.table);
  return new TopicLetterStore({
    kafka: createKafka(cfg.cdc.kafka),
    topic: dl.topic,
    marks: { schema: offsetsTable(cfg.sink.options).schema, table: REPLAYED_LETTERS_TABLE },
    groupId: cfg.cdc.groupId,
    pipeline: cfg.name,
  });
}

async function openSink(cfg: PipelineConfig): Promise<PgSink> {
  const sink = new PgSink(cfg.sink.pg, cfg.sink.options);
  try {
    await sink.open();
  } catch (err) {
    await sink.close();
    throw err;
  }
  return sink;
}

async function select(cfg: PipelineConfig, pool: Pool, store: LetterStore, q: LetterQuery): Promise<StoredLetter[]> {
  const all = await store.list(pool, q.since !== undefined ? { since: q.since } : {});
  return lettersOf(all, q.table, cfg.cdc!.topicPrefix, cfg.sink.options.destTable);
}

/** The letters matching `q`, oldest position first. Reads only (no state table is created). */
export async function listLetters(cfg: PipelineConfig, q: LetterQuery): Promise<StoredLetter[]> {
  const store = letterStore(cfg);
  const pool = await createPool(cfg.sink.pg, 1);
  try {
    return await select(cfg, pool, store, q);
  } finally {
    await pool.end();
    await store.close();
  }
}

export interface ReplayOptions extends LetterQuery {
  /** Replay a merge pipeline without the stale-event guard anyway. */
  readonly force?: boolean;
  /** How long reading the records back from Kafka may take (default 60 s). */
  readonly readTimeoutMs?: number;
}

export async function replayLetters(cfg: PipelineConfig, opts: ReplayOptions): Promise<Settled> {
  const store = letterStore(cfg);
  const cdc = cfg.cdc!;
  if (cfg.sink.options.strategy === 'merge' && !cfg.sink.options.staleGuard && !opts.force) {
    throw new ConfigError([{ path: 'spec.sink.options.stale_guard', message: NO_GUARD_REFUSAL }]);
  }
  const dest = parseTableName(cfg.sink.options.destTable);
  if (typeof dest === 'string') throw new FatalError(dest);
  const sink = await openSink(cfg);
  try {
    const letters = await select(cfg, sink.pool!, store, opts);
    if (letters.length === 0) return { replayed: [], failed: [], gone: [] };
    await store.prepare(sink.pool!);
    const kafka = createKafka(cdc.kafka);
    const { found, gone } = await readAt(kafka, letters, {
      groupId: throwawayGroupId(cdc.groupId, 'replay'),
      ...(opts.readTimeoutMs !== undefined ? { timeoutMs: opts.readTimeoutMs } : {}),
    });
    // One record at a time into the buffers and out as its own batch: each letter is applied (and
    // judged) on its own, in position order, instead of being reduced into a later letter of its key.
    const buffers = new BufferSet(
      { maxRows: Number.MAX_SAFE_INTEGER, maxBytes: Number.MAX_SAFE_INTEGER, maxAgeMs: 0 },
      { keepDeleted: cfg.sink.options.deleteMode === 'soft' },
    );
    const { intake } = createIntake(cfg, dest, buffers);
    const rejected = new Map<string, string>();
    const tables: TableBatch[] = [];
    const records = [...new Map(letters.map((l) => [positionKey(l), found.get(positionKey(l))])).values()].filter((r): r is RawRecord => r !== undefined);
    for (const rec of records) {
      const taken = intake.take(rec, Date.now());
      if (taken.kind === 'rejected') rejected.set(positionKey(rec), taken.letter.reason);
      tables.push(...buffers.drainAll());
    }
    let outcome: Settled | undefined;
    await sink.write({ groupId: cdc.groupId, tables, offsets: [] }, {
      onReject: (r) => rejected.set(positionKey(r.letter), r.letter.reason),
      beforeCommit: async (tx) => {
        outcome = settle(letters, gone, rejected);
        await store.settle(tx as Parameters<LetterStore['settle']>[0], outcome.replayed, outcome.failed);
      },
    });
    return outcome!;
  } finally {
    await sink.close();
    await store.close();
  }
}
