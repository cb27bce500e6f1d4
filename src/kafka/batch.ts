/**
 * kafkajs' shapes to the engine's: a fetched batch to a SourceBatch, partitions grouped by topic.
 */
import type { EachBatchPayload } from 'kafkajs';
import type { RawRecord } from '../kernel/types';
import type { SourceBatch, TopicPartition } from '../engine/ports';

export function byTopic(tps: readonly TopicPartition[]): { topic: string; partitions: number[] }[] {
  const m = new Map<string, number[]>();
  for (const tp of tps) {
    const ps = m.get(tp.topic);
    if (ps) ps.push(tp.partition);
    else m.set(tp.topic, [tp.partition]);
  }
  return [...m].map(([topic, partitions]) => ({ topic, partitions }));
}

export function toSourceBatch(p: EachBatchPayload): SourceBatch {
  const { batch } = p;
  const { topic, partition } = batch;
  const records: RawRecord[] = batch.messages.map((m) => ({ topic, partition, offset: m.offset, key: m.key, value: m.value, headers: m.headers }));
  // Not in kafkajs' typings, but set on every Batch (consumer/batch.js): where this fetch started.
  const { fetchedOffset } = batch as unknown as { fetchedOffset?: unknown };
  return {
    topic,
    partition,
    records,
    highWatermark: batch.highWatermark,
    ...(typeof fetchedOffset === 'string' ? { fetchedOffset } : {}),
    isStale: () => p.isStale() || !p.isRunning(),
    resolve: (o) => p.resolveOffset(o),
  };
}
