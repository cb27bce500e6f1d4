/**
 * The workload of the Kafka fault tests, against a PrivateKafka: the orders churn produced in
 * slices while the workers apply it (an idempotent producer on the internal listeners, so a
 * broker fault never doubles or reorders what is in Kafka), merge and append pipelines whose
 * source is the cluster's proxied listeners, and the exactness checks (merge by content, append
 * by Kafka position: every record with a value exactly once, none missing).
 */
import type { Pool } from 'pg';
import { cdcManifest, startInProcess } from '../../../helpers/pipeline';
import { EventFactory, ordersTable } from '../../../fixtures/factory';
import { churn, expectedOrders, ORDERS_TEXT, ordersRows, sleep } from '../../ops/support';
import type { PrivateKafka } from './private-kafka';

export type Message = { key: string | null; value: string | null; partition: number };

export interface Workload {
  readonly topic: string;
  readonly messages: Message[];
  readonly state: Map<number, number>;
  /** `${partition}:${offset}` of every record with a value, as Kafka numbers them. */
  readonly positions: string[];
}

export function ordersWorkload(prefix: string, events: number, keys: number, partitions: number): Workload {
  const f = new EventFactory(ordersTable(prefix));
  const { state, messages } = churn(f, events, keys, partitions);
  // One producer sending in order, idempotent: partition p's k-th message gets offset k.
  const next = new Map<number, number>();
  const positions: string[] = [];
  for (const m of messages) {
    const o = next.get(m.partition) ?? 0;
    next.set(m.partition, o + 1);
    if (m.value !== null) positions.push(`${m.partition}:${o}`);
  }
  return { topic: f.topic, messages, state, positions: positions.sort() };
}

/**
 * Produces the workload in `slices` requests, `gapMs` apart; resolves when all are acknowledged.
 * A send that fails (a broker stopped under it, before its partitions have a new leader) is sent
 * again by the same idempotent producer, up to a minute: kafkajs rolls a failed batch's sequence
 * back, and the broker drops a resent batch it already wrote (same producer id and sequence), so
 * Kafka holds each message once (the tests check the high watermarks).
 */
export async function produceSlowly(k: PrivateKafka, w: Workload, slices: number, gapMs: number): Promise<void> {
  const producer = k.client('nilus-fault-producer').producer({ idempotent: true, maxInFlightRequests: 1, retry: { retries: 5, maxRetryTime: 2_000 } });
  await producer.connect();
  try {
    const per = Math.ceil(w.messages.length / slices);
    for (let i = 0; i < slices; i++) {
      const slice = w.messages.slice(i * per, (i + 1) * per);
      // One send per partition: a resend then repeats one batch whose sequence kafkajs rolled back.
      for (const p of new Set(slice.map((m) => m.partition))) {
        const batch = slice.filter((m) => m.partition === p);
        await sendWithRetry(() => producer.send({ topic: w.topic, acks: -1, messages: batch }));
      }
      await sleep(gapMs);
    }
  } finally {
    await producer.disconnect();
  }
}

async function sendWithRetry(send: () => Promise<unknown>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await send();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(500);
    }
  }
}

/** A merge or append pipeline reading the private cluster through its proxies. */
export async function startPipeline(
  k: PrivateKafka,
  o: { prefix: string; name: string; groupId: string; dest: string; strategy: 'merge' | 'append'; options?: Record<string, unknown>; cdc?: Record<string, unknown> },
) {
  const m = JSON.parse(cdcManifest({ ...o, include: 'public.orders' }));
  m.spec.source.address = `kafka://${k.externalBrokers.join(',')}`;
  return startInProcess(JSON.stringify(m));
}

/** Per-partition high watermarks, read on the internal listeners. */
export async function highWatermarksOf(k: PrivateKafka, topic: string): Promise<Record<number, number>> {
  const admin = k.client('nilus-fault-offsets').admin();
  await admin.connect();
  try {
    const out: Record<number, number> = {};
    for (const p of await admin.fetchTopicOffsets(topic)) out[p.partition] = Number(p.high);
    return out;
  } finally {
    await admin.disconnect();
  }
}

/** Messages the workload sends to each partition: what the high watermarks must be (nothing doubled in Kafka). */
export function producedPerPartition(w: Workload): Record<number, number> {
  const out: Record<number, number> = {};
  for (const m of w.messages) out[m.partition] = (out[m.partition] ?? 0) + 1;
  return out;
}

/** The merge target equals the workload's final state. */
export async function mergeRows(pool: Pool, schema: string, table: string): Promise<unknown[][]> {
  return ordersRows((await pool.query(ORDERS_TEXT(schema, table))).rows);
}

export function expectedMerge(w: Workload): string[][] {
  return expectedOrders(w.state);
}

/** The append target by Kafka position: rows per position (duplicates) and the sorted distinct positions. */
export async function appendPositions(pool: Pool, schema: string, table: string): Promise<{ rows: number; duplicates: number; positions: string[] }> {
  const r = await pool.query<{ p: string; n: number }>(
    `SELECT _nilus_partition || ':' || _nilus_offset AS p, count(*)::int AS n FROM "${schema}"."${table}" GROUP BY 1`,
  );
  const rows = r.rows.reduce((s, x) => s + x.n, 0);
  return { rows, duplicates: r.rows.filter((x) => x.n > 1).length, positions: r.rows.map((x) => x.p).sort() };
}

/** Sum of the stored next offsets of a group (0 before the table exists). */
export async function storedTotal(pool: Pool, schema: string, groupId: string): Promise<number> {
  try {
    const r = await pool.query<{ n: string }>(`SELECT coalesce(sum(next_offset), 0)::bigint AS n FROM "${schema}".nilus_offsets WHERE group_id = $1`, [groupId]);
    return Number(r.rows[0]?.n ?? 0);
  } catch (err) {
    if (/does not exist/.test(String(err))) return 0;
    throw err;
  }
}
