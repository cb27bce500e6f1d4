/**
 * Reads single records back from Kafka by position (topic, partition, offset), for a replay of
 * dead letters: the record as the pipeline first fetched it, key, value and headers. A throwaway
 * consumer group (no offsets committed, deleted afterwards) is seeked to the lowest offset wanted
 * per partition and reads until it has passed the highest. Positions below the partition's
 * log-start offset (removed by retention) or at/after its end are reported as gone, not waited for.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { FatalError } from '../kernel/errors';
import type { Position, RawRecord } from '../kernel/types';
import { registerCompressionCodecs } from './codecs';

export interface ReadAtResult {
  /** By `positionKey`. */
  readonly found: ReadonlyMap<string, RawRecord>;
  /** Positions Kafka no longer (or never) held. */
  readonly gone: readonly Position[];
}

export const positionKey = (p: Position): string => `${p.topic}\u0000${p.partition}\u0000${p.offset}`;

/**
 * A throwaway consumer group's id: `<base>.<purpose>.<pid>.<random>`. The random part keeps two
 * reads apart even when one process starts them in the same millisecond (two replays at once):
 * sharing a group would split the partitions between them, and one would delete the group under
 * the other.
 */
export function throwawayGroupId(base: string, purpose: string): string {
  return `${base}.${purpose}.${process.pid}.${randomUUID()}`;
}

/** The wanted offsets per topic-partition, lowest and highest. Pure. */
export function spans(wanted: readonly Position[]): Map<string, { topic: string; partition: number; from: bigint; to: bigint }> {
  const out = new Map<string, { topic: string; partition: number; from: bigint; to: bigint }>();
  for (const p of wanted) {
    const k = `${p.topic}\u0000${p.partition}`;
    const o = BigInt(p.offset);
    const s = out.get(k);
    if (!s) out.set(k, { topic: p.topic, partition: p.partition, from: o, to: o });
    else {
      if (o < s.from) s.from = o;
      if (o > s.to) s.to = o;
    }
  }
  return out;
}

export async function readAt(kafka: Kafka, wanted: readonly Position[], opts: { groupId: string; timeoutMs?: number }): Promise<ReadAtResult> {
  registerCompressionCodecs();
  const found = new Map<string, RawRecord>();
  const gone: Position[] = [];
  if (wanted.length === 0) return { found, gone };
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = [...new Set(wanted.map((p) => p.topic))];
    const bounds = new Map<string, { low: bigint; high: bigint }>();
    const existing = new Set(await admin.listTopics());
    for (const t of topics) {
      if (!existing.has(t)) continue;
      for (const o of await admin.fetchTopicOffsets(t)) bounds.set(`${t}\u0000${o.partition}`, { low: BigInt(o.low), high: BigInt(o.high) });
    }
    const live: Position[] = [];
    for (const p of wanted) {
      const b = bounds.get(`${p.topic}\u0000${p.partition}`);
      const o = BigInt(p.offset);
      if (!b || o < b.low || o >= b.high) gone.push(p);
      else live.push(p);
    }
    if (live.length > 0) await consume(kafka, live, found, opts);
    for (const p of live) if (!found.has(positionKey(p))) gone.push(p); // compacted away
  } finally {
    await admin.disconnect();
  }
  return { found, gone };
}

type Span = { topic: string; partition: number; from: bigint; to: bigint };
type Seen = { topic: string; partition: number; offset: string; key: Buffer | null; value: Buffer | null; headers?: Readonly<Record<string, unknown>>; timestamp: string };

async function consume(kafka: Kafka, live: readonly Position[], found: Map<string, RawRecord>, opts: { groupId: string; timeoutMs?: number }): Promise<void> {
  const want = new Set(live.map(positionKey));
  await readSpans(kafka, spans(live), opts, (m) => {
    const pos = { topic: m.topic, partition: m.partition, offset: m.offset };
    if (want.has(positionKey(pos))) found.set(positionKey(pos), { ...pos, key: m.key, value: m.value, ...(m.headers ? { headers: m.headers } : {}) });
  });
}

/** A whole topic as it stands now (every partition from its log-start to its end offset). */
export async function readTopic(kafka: Kafka, topic: string, opts: { groupId: string; timeoutMs?: number }): Promise<TopicMessage[]> {
  registerCompressionCodecs();
  const admin = kafka.admin();
  await admin.connect();
  const todo = new Map<string, Span>();
  try {
    if (!(await admin.listTopics()).includes(topic)) throw new FatalError(`the dead-letter topic ${topic} does not exist: nothing was dead-lettered yet, or the manifest names another topic`);
    for (const o of await admin.fetchTopicOffsets(topic)) {
      const low = BigInt(o.low);
      const high = BigInt(o.high);
      if (high > low) todo.set(`${topic}\u0000${o.partition}`, { topic, partition: o.partition, from: low, to: high - 1n });
    }
  } finally {
    await admin.disconnect();
  }
  const out: TopicMessage[] = [];
  if (todo.size === 0) return out;
  await readSpans(kafka, todo, opts, (m) => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(m.headers ?? {})) if (Buffer.isBuffer(v) || typeof v === 'string') headers[k] = v.toString();
    out.push({ partition: m.partition, offset: m.offset, key: m.key, value: m.value, headers, timestampMs: Number(m.timestamp) });
  });
  return out.sort((a, b) => a.partition - b.partition || (BigInt(a.offset) < BigInt(b.offset) ? -1 : 1));
}

/** One message of a topic read whole: headers as text. */
export interface TopicMessage {
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly timestampMs: number;
}

/** Reads each span (inclusive) once with a throwaway group, handing every message on to `seen`. */
async function readSpans(kafka: Kafka, todo: Map<string, Span>, opts: { groupId: string; timeoutMs?: number }, seen: (m: Seen) => void): Promise<void> {
  const topics = [...new Set([...todo.values()].map((s) => s.topic))];
  const consumer = kafka.consumer({ groupId: opts.groupId, allowAutoTopicCreation: false });
  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));
  const timeoutMs = opts.timeoutMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  await consumer.connect();
  try {
    for (const t of topics) await consumer.subscribe({ topic: t, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const k = `${batch.topic}\u0000${batch.partition}`;
        const span = todo.get(k);
        if (!span) return;
        for (const m of batch.messages) {
          const o = BigInt(m.offset);
          if (o > span.to) break;
          if (o >= span.from) seen({ topic: batch.topic, partition: batch.partition, offset: m.offset, key: m.key ?? null, value: m.value ?? null, ...(m.headers ? { headers: m.headers } : {}), timestamp: m.timestamp });
          if (o === span.to) break;
        }
        if (BigInt(batch.lastOffset()) >= span.to) {
          todo.delete(k);
          if (todo.size === 0) finish();
        }
      },
    });
    for (const s of todo.values()) consumer.seek({ topic: s.topic, partition: s.partition, offset: s.from.toString() });
    const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)));
    if ((await Promise.race([done, timedOut])) === 'timeout') {
      const left = [...todo.values()].map((s) => `${s.topic}[${s.partition}] ${s.from}..${s.to}`).join(', ');
      throw new FatalError(`reading records back from Kafka did not finish within ${timeoutMs / 1000} s (still to read: ${left}); check that the brokers are reachable`);
    }
  } finally {
    if (timer) clearTimeout(timer);
    await consumer.disconnect();
  }
  // The throwaway group committed nothing; remove it so it does not linger in group listings.
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteGroups([opts.groupId]);
  } finally {
    await admin.disconnect();
  }
}
