/**
 * The benchmark workload: a deterministic stream of orders changes (60% creates, 30% updates,
 * 10% deletes, each delete followed by its tombstone as the connector writes it) and the final
 * table state it must leave behind. Ops are generated lazily so a million events never sit in
 * memory at once; only the final state (id → version) does.
 */
import type { CompressionTypes, Producer } from 'kafkajs';
import { EventFactory, orderRow, type Values } from '../test/fixtures/factory';

/** Row values of (id, version): orderRow for the orders topics, wideRow for the wide one. */
export type RowOf = (id: number, version: number) => Values;

export type OpKind = 'c' | 'u' | 'd';
export interface Op {
  readonly kind: OpKind;
  readonly id: number;
  /** Version after the op (c, u) or the deleted version (d). */
  readonly version: number;
}

/** Partition of a key: a multiplicative hash of the id, so one key always lands on one partition. */
export function partitionOf(id: number, partitions: number): number {
  return (Math.imul(id, 0x9e3779b1) >>> 0) % partitions;
}

export class Workload {
  /** id → version of every live row once all ops ran. */
  readonly live = new Map<number, number>();
  /** Ids deleted and not re-created: the final deletes. */
  readonly deleted = new Set<number>();
  readonly counts = { c: 0, u: 0, d: 0 };
  /** Live ids in an array for O(1) random picks (swap-remove on delete). */
  private readonly pool: number[] = [];
  private readonly slot = new Map<number, number>();
  private nextId: number;
  private seed: number;

  constructor(readonly events: number, seed = 42, readonly firstId = 1) {
    this.seed = seed;
    this.nextId = firstId;
  }

  /** Highest id the workload can use: prefill rows live above it. */
  get maxId(): number {
    return this.nextId - 1;
  }

  /** Kafka records the ops become: one per event plus a tombstone per delete. */
  get records(): number {
    return this.counts.c + this.counts.u + 2 * this.counts.d;
  }

  /** Runs every op (nothing is produced) and returns `records`. */
  countRecords(): number {
    for (const _ of this.ops());
    return this.records;
  }

  private rnd(): number {
    // 32-bit LCG: deterministic across runs and machines
    this.seed = (Math.imul(this.seed, 1664525) + 1013904223) >>> 0;
    return this.seed / 4294967296;
  }

  *ops(): Generator<Op> {
    for (let i = 0; i < this.events; i++) {
      const r = this.rnd();
      const pick = this.rnd();
      if (r < 0.6 || this.pool.length === 0) {
        const id = this.nextId++;
        this.slot.set(id, this.pool.length);
        this.pool.push(id);
        this.live.set(id, 0);
        this.counts.c++;
        yield { kind: 'c', id, version: 0 };
      } else if (r < 0.9) {
        const id = this.pool[Math.floor(pick * this.pool.length)]!;
        const version = this.live.get(id)! + 1;
        this.live.set(id, version);
        this.counts.u++;
        yield { kind: 'u', id, version };
      } else {
        const at = Math.floor(pick * this.pool.length);
        const id = this.pool[at]!;
        const last = this.pool.pop()!;
        if (last !== id) {
          this.pool[at] = last;
          this.slot.set(last, at);
        }
        this.slot.delete(id);
        const version = this.live.get(id)!;
        this.live.delete(id);
        this.deleted.add(id);
        this.counts.d++;
        yield { kind: 'd', id, version };
      }
    }
  }
}

export interface KafkaMessage {
  key: string | null;
  value: string | null;
  partition: number;
}

/** The Kafka records of one op, as the connector writes them. */
export function messagesOf(f: EventFactory, op: Op, partitions: number, tsMs: number, row: RowOf = orderRow): KafkaMessage[] {
  const partition = partitionOf(op.id, partitions);
  const out =
    op.kind === 'c' ? f.create(row(op.id, 0), tsMs)
    : op.kind === 'u' ? f.update(row(op.id, op.version - 1), row(op.id, op.version), tsMs)
    : f.delete(row(op.id, op.version), tsMs);
  return out.map((m) => ({ ...m, partition }));
}

/** One record batch per partition must stay under the broker's message.max.bytes (1 MiB). */
const MAX_PARTITION_BATCH = 800 * 1024;

export interface WriterOptions {
  /** Record batch compression (kafkajs CompressionTypes); none by default. */
  readonly compression?: CompressionTypes;
  /** Row values of each op; orderRow by default. */
  readonly row?: RowOf;
  /** One request per partition, all in flight at once (still one per partition: order kept); one request by default. */
  readonly perPartition?: boolean;
}

/**
 * Writes ops to every factory's topic, in op order per partition (requests are sent one at a
 * time: two in flight could reorder a partition on a retry).
 */
export class TopicWriter {
  private pending = new Map<string, { topic: string; messages: KafkaMessage[]; bytes: number }>();
  sent = 0;
  /** Key + value bytes of the records written, per topic (the raw, uncompressed size). */
  readonly rawBytes = new Map<string, number>();

  constructor(private readonly producer: Producer, private readonly factories: readonly EventFactory[], private readonly partitions: number,
    private readonly options: WriterOptions = {}) {}

  async write(op: Op, tsMs = Date.now()): Promise<void> {
    for (const f of this.factories) {
      for (const m of messagesOf(f, op, this.partitions, tsMs, this.options.row)) {
        this.rawBytes.set(f.topic, (this.rawBytes.get(f.topic) ?? 0) + Buffer.byteLength(m.key ?? '') + Buffer.byteLength(m.value ?? ''));
        const k = `${f.topic}\u0000${m.partition}`;
        let p = this.pending.get(k);
        if (!p) this.pending.set(k, (p = { topic: f.topic, messages: [], bytes: 0 }));
        const size = (m.key?.length ?? 0) + (m.value?.length ?? 0) + 80;
        if (p.bytes + size > MAX_PARTITION_BATCH) await this.flush();
        p = this.pending.get(k) ?? { topic: f.topic, messages: [], bytes: 0 };
        this.pending.set(k, p);
        p.messages.push(m);
        p.bytes += size;
      }
    }
  }

  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const byTopic = new Map<string, KafkaMessage[]>();
    for (const p of this.pending.values()) {
      const list = byTopic.get(p.topic) ?? [];
      for (const m of p.messages) list.push(m);
      byTopic.set(p.topic, list);
      this.sent += p.messages.length;
    }
    const pending = [...this.pending.values()];
    this.pending = new Map();
    if (this.options.perPartition) {
      await Promise.all(pending.map((p) => this.producer.sendBatch({
        ...(this.options.compression !== undefined ? { compression: this.options.compression } : {}),
        topicMessages: [{ topic: p.topic, messages: p.messages }],
      })));
      return;
    }
    await this.producer.sendBatch({
      ...(this.options.compression !== undefined ? { compression: this.options.compression } : {}),
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    });
  }
}
