/**
 * In-memory stand-ins for the core's ports: a ChangeSource with partitions of records (fetch position
 * moves only on resolve, like Kafka's), an applier with compare-and-set offsets, and a decoder of
 * tiny JSON values. Enough to drive every state of the core in milliseconds.
 */
import { rowOf } from '../../../src/copy-text/line';
import { BufferSet } from '../../../src/buffer';
import { CdcEngine, type EngineDeps } from '../../../src/engine/cdc-engine';
import { DataError, FencedError } from '../../../src/kernel/errors';
import { CoreEmitter } from '../../../src/kernel/events';
import { Flusher } from '../../../src/engine/flusher';
import { Intake } from '../../../src/engine/intake';
import type { ChangeEvent, Flush, FlushedTable, OffsetMark, RawRecord } from '../../../src/kernel/types';
import type { DeadLetter, Sink, WriteOptions } from '../../../src/engine/ports';
import { tpKey, type ChangeSource, type SourceHandler, type TopicPartition } from '../../../src/engine/ports';
import { DecodeAhead } from '../../../src/decode/decode-ahead';
import type { PartitionBounds } from '../../../src/kernel/offset-gap';

export const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Values: `{"id":1,"v":2}` (upsert), `{"id":1,"del":true}` (delete); anything else is undecodable. */
export function decodeTiny(rec: RawRecord): ChangeEvent | null {
  if (rec.value === null) return null;
  const pos = { topic: rec.topic, partition: rec.partition, offset: rec.offset };
  let v: { id: number; v?: number; del?: boolean; moving?: boolean; from?: number };
  try {
    v = JSON.parse(rec.value.toString()) as typeof v;
  } catch {
    throw new DataError('value is not JSON', pos);
  }
  if (typeof v.id !== 'number') throw new DataError('value has no id', pos);
  const row = { id: String(v.id), v: v.v === undefined ? null : String(v.v) };
  return {
    pos,
    table: { schema: 'public', table: 't' },
    op: v.del ? 'd' : 'u',
    key: { id: row.id },
    keyColumns: KEY,
    before: v.del ? row : null,
    after: v.del ? null : row,
    columns: COLUMNS,
    source: {},
    bytes: rec.value.length,
    // A primary-key change: `moving` on the delete of the old key, `from` (the old id) on the new key's event.
    ...(v.moving ? { moving: true } : {}),
    ...(v.from !== undefined ? { movedFrom: { id: String(v.from) } } : {}),
  };
}
const KEY = ['id'];
const COLUMNS = [
  { name: 'id', pgType: 'int', optional: false, connectType: 'int32' },
  { name: 'v', pgType: 'int', optional: true, connectType: 'int32' },
];

export class FakeSource implements ChangeSource {
  handler!: SourceHandler;
  /** `start`: the log-start offset (records below it are deleted, as by retention or deleteRecords). */
  readonly logs = new Map<string, { tp: TopicPartition; records: RawRecord[]; fetchAt: number; start: number }>();
  /** Calls of `bounds` (each a list of partitions). */
  readonly boundsCalls: TopicPartition[][] = [];
  readonly paused = new Set<string>();
  readonly commits: OffsetMark[][] = [];
  assigned: TopicPartition[] = [];
  stopped = false;
  startFailures: Error[] = [];
  /** Partitions the first join hands over while start() is still under way (kafkajs does that). */
  assignOnStart: TopicPartition[] | undefined;
  batchSize = 10;
  private seekGen = new Map<string, number>();

  async start(handler: SourceHandler): Promise<void> {
    const err = this.startFailures.shift();
    if (err) throw err;
    this.handler = handler;
    handler.connected(true);
    if (this.assignOnStart) this.assign(this.assignOnStart);
  }

  /** Appends records; values are strings (or null for a tombstone). */
  produce(tp: TopicPartition, values: (string | null)[]): void {
    const log = this.log(tp);
    for (const v of values) {
      const offset = String(log.records.length);
      log.records.push({ topic: tp.topic, partition: tp.partition, offset, key: null, value: v === null ? null : Buffer.from(v) });
    }
  }

  assign(tps: TopicPartition[]): void {
    this.assigned = tps;
    for (const tp of tps) this.log(tp);
    this.handler.assigned(tps);
  }

  /** One fetch round: a batch for every assigned, unpaused partition with records past its position. */
  async fetchOnce(): Promise<number> {
    let delivered = 0;
    for (const tp of this.assigned) {
      const log = this.log(tp);
      const k = tpKey(tp.topic, tp.partition);
      if (this.paused.has(k)) continue;
      // An offset Kafka no longer holds: reset to the log start by itself, as kafkajs does (fromBeginning).
      if (log.fetchAt < log.start) log.fetchAt = log.start;
      if (log.fetchAt >= log.records.length) continue;
      const records = log.records.slice(log.fetchAt, log.fetchAt + this.batchSize);
      const gen = this.seekGen.get(k) ?? 0;
      await this.handler.batch({
        topic: tp.topic,
        partition: tp.partition,
        records,
        highWatermark: String(log.records.length),
        fetchedOffset: String(log.fetchAt),
        isStale: () => (this.seekGen.get(k) ?? 0) !== gen,
        resolve: (o) => {
          if ((this.seekGen.get(k) ?? 0) === gen) log.fetchAt = Number(o) + 1;
        },
      });
      delivered += records.length;
    }
    return delivered;
  }

  /** Fetch rounds (a few ms apart, like a fetch loop), `rounds` of them. */
  async pump(rounds = 50): Promise<void> {
    for (let i = 0; i < rounds; i++) {
      await this.fetchOnce();
      await tick(2);
    }
  }

  /** Fetch rounds until `cond` holds (the core's timers flush on age meanwhile). */
  async pumpUntil(what: string, cond: () => boolean, ms = 3000): Promise<void> {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await this.fetchOnce();
      await tick(2);
    }
  }

  seek(tp: TopicPartition, offset: string): void {
    const k = tpKey(tp.topic, tp.partition);
    this.log(tp).fetchAt = Number(offset);
    this.seekGen.set(k, (this.seekGen.get(k) ?? 0) + 1);
  }

  pause(tps: readonly TopicPartition[]): void {
    for (const tp of tps) this.paused.add(tpKey(tp.topic, tp.partition));
  }

  resume(tps: readonly TopicPartition[]): void {
    for (const tp of tps) this.paused.delete(tpKey(tp.topic, tp.partition));
  }

  async commit(marks: readonly OffsetMark[]): Promise<void> {
    this.commits.push([...marks]);
  }

  async bounds(tps: readonly TopicPartition[]): Promise<readonly PartitionBounds[]> {
    this.boundsCalls.push([...tps]);
    return tps.map((tp) => {
      const log = this.log(tp);
      return { topic: tp.topic, partition: tp.partition, low: String(log.start), high: String(log.records.length) };
    });
  }

  /** Deletes the records before `offset` (Kafka's deleteRecords, or retention): the log now starts there. */
  deleteBefore(tp: TopicPartition, offset: number): void {
    this.log(tp).start = offset;
  }

  /** The topic deleted and re-created: an empty log from offset 0. */
  recreate(tp: TopicPartition): void {
    const log = this.log(tp);
    log.records.length = 0;
    log.start = 0;
    log.fetchAt = 0;
  }

  async stop(): Promise<void> {
    this.stopped = true;
  }

  /** The offsets Kafka would hold: the last commit per partition. */
  committed(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const c of this.commits) for (const m of c) out[tpKey(m.topic, m.partition)] = m.next;
    return out;
  }

  private log(tp: TopicPartition) {
    const k = tpKey(tp.topic, tp.partition);
    let log = this.logs.get(k);
    if (!log) this.logs.set(k, (log = { tp, records: [], fetchAt: 0, start: 0 }));
    return log;
  }
}

/** A PostgreSQL stand-in: rows by id, offsets with compare-and-set, injectable failures and stalls. */
export class FakeApplier implements Sink {
  readonly rows = new Map<string, string | null>();
  readonly stored = new Map<string, string>();
  readonly flushes: Flush[] = [];
  readonly dead: DeadLetter[] = [];
  failures: Error[] = [];
  private stall: Promise<void> | undefined;
  private release: (() => void) | undefined;
  attempts = 0;

  /** Every apply waits until `unblock()`. */
  block(): void {
    this.stall = new Promise((r) => (this.release = r));
  }

  unblock(): void {
    this.release?.();
    this.stall = undefined;
  }

  async open(): Promise<void> {}

  async close(): Promise<void> {}

  async write(flush: Flush, opts: WriteOptions = {}): Promise<FlushedTable[]> {
    this.attempts++;
    if (this.stall) await this.stall;
    const err = this.failures.shift();
    if (err) throw err;
    for (const m of flush.offsets) {
      const have = this.stored.get(tpKey(m.topic, m.partition)) ?? null;
      if (m.from !== undefined && m.from !== have) throw new FencedError([{ topic: m.topic, partition: m.partition }]);
    }
    const staged = new Map(this.rows);
    for (const t of flush.tables) {
      if (t.truncate) staged.clear();
      for (const d of t.deletes) staged.delete(String(d.id));
      for (const held of t.upserts) {
        const u = rowOf(held);
        staged.set(String(u.id), u.v as string | null);
      }
    }
    await opts.beforeCommit?.({ dead: this.dead });
    this.rows.clear();
    for (const [k, v] of staged) this.rows.set(k, v);
    for (const m of flush.offsets) this.stored.set(tpKey(m.topic, m.partition), m.next);
    this.flushes.push(flush);
    return [];
  }

  async storedOffsets(_group: string, topics?: readonly string[]): Promise<OffsetMark[]> {
    const out: OffsetMark[] = [];
    for (const [k, next] of this.stored) {
      const [p, ...rest] = k.split(':');
      const topic = rest.join(':');
      if (!topics || topics.includes(topic)) out.push({ topic, partition: Number(p), next });
    }
    return out;
  }

  storedOf(tp: TopicPartition): string | undefined {
    return this.stored.get(tpKey(tp.topic, tp.partition));
  }
}

/**
 * `prefetch`: the core reads through a DecodeAhead over the fake source (as with decode
 * threads), its preparation finishing after 0–2 ms in no fixed order across batches; the fake
 * source's fetch position then moves on arrival, and the prefetch layer seeks back.
 */
export const harnessDefaults = { prefetch: false };

export interface Harness {
  core: CdcEngine;
  source: FakeSource;
  applier: FakeApplier;
  emitter: CoreEmitter;
  logs: { level: string; msg: string; fields: object }[];
  retries: number;
}

export function harness(o: Partial<Pick<EngineDeps, 'tolerance' | 'memoryBudgetBytes' | 'prepare' | 'onOffsetGap' | 'flushWhenCaughtUp'>> & { maxRows?: number; maxAgeMs?: number; maxAttempts?: number; prefetch?: boolean } = {}): Harness {
  const source = new FakeSource();
  let n = 0;
  let core: ChangeSource = source;
  if (o.prefetch ?? harnessDefaults.prefetch) {
    const prefetch = new DecodeAhead(source, { prepare: async () => void (await tick(n++ % 3)), maxQueuedBytes: 64 });
    core = prefetch;
    // A fetch round ends once the core has what it would take of it, as without the prefetch layer.
    const fetchOnce = source.fetchOnce.bind(source);
    source.fetchOnce = async () => {
      const got = await fetchOnce();
      for (const end = Date.now() + 1000; !prefetch.settled && Date.now() < end; ) await tick(1);
      return got;
    };
  }
  const applier = new FakeApplier();
  const emitter = new CoreEmitter();
  const logs: Harness['logs'] = [];
  const log = (level: string) => (fields: object, msg: string) => void logs.push({ level, msg, fields });
  const buffers = new BufferSet({ maxRows: o.maxRows ?? 5, maxBytes: 1 << 30, maxAgeMs: o.maxAgeMs ?? 10 });
  const intake = new Intake({ decoder: { decode: decodeTiny }, router: { route: () => ({ schema: 'public', table: 't' }) }, keys: (ev) => ev.keyColumns, strategy: 'merge', buffers });
  const h: Harness = { core: undefined as unknown as CdcEngine, source, applier, emitter, logs, retries: 0 };
  emitter.on('retry', () => h.retries++);
  emitter.on('error', () => undefined); // observed through core.done
  const retry = { maxAttempts: o.maxAttempts ?? Infinity, initialMs: 1, maxMs: 2 };
  const deadLetter = { init: async () => undefined, close: async () => undefined, send: async (items: readonly DeadLetter[]) => void applier.dead.push(...items) };
  const flusher = new Flusher({
    sink: applier,
    tolerance: o.tolerance ?? 'none',
    retry,
    emitter,
    warn: (msg, fields) => logs.push({ level: 'warn', msg, fields }),
    deadLetter,
  });
  h.core = new CdcEngine({
    groupId: 'g',
    source: core,
    sink: applier,
    deadLetter,
    retry,
    intake,
    buffers,
    flusher,
    emitter,
    log: { info: log('info'), warn: log('warn'), debug: log('debug') },
    tolerance: o.tolerance ?? 'none',
    memoryBudgetBytes: o.memoryBudgetBytes ?? 1 << 30,
    maxAgeMs: o.maxAgeMs ?? 10,
    ...(o.flushWhenCaughtUp !== undefined ? { flushWhenCaughtUp: o.flushWhenCaughtUp } : {}),
    ...(o.prepare ? { prepare: o.prepare } : {}),
    ...(o.onOffsetGap ? { onOffsetGap: o.onOffsetGap } : {}),
  });
  return h;
}

export const up = (id: number, v: number): string => JSON.stringify({ id, v });
export const del = (id: number): string => JSON.stringify({ id, del: true });
export const P0: TopicPartition = { topic: 'pfx.public.t', partition: 0 };
export const P1: TopicPartition = { topic: 'pfx.public.t', partition: 1 };

/** A connection loss as pg reports it: retriable. */
export function connectionLost(): Error {
  return Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' });
}
