/**
 * What Kafka says of a pipeline, for `nilus-pg status`: each matching topic-partition's log-start
 * and end offsets, and the consumer group's state and members with the partitions assigned to each.
 * Read with the admin client only: it joins nothing, so it answers with the worker running or not.
 */
import { AssignerProtocol } from 'kafkajs';
import type { KafkaConnection } from '../config/types';
import { createKafka } from './client';
import { matchingTopics, type TopicFilter } from './topics';

export interface PartitionEnds {
  readonly topic: string;
  readonly partition: number;
  /** Log-start offset. */
  readonly low: string;
  /** End offset (high watermark): the offset the next record will get. */
  readonly high: string;
}

export interface GroupMember {
  readonly memberId: string;
  readonly clientId: string;
  readonly host: string;
  /** `topic[partition]` assigned to this member, sorted. */
  readonly partitions: readonly string[];
}

export interface KafkaState {
  readonly partitions: readonly PartitionEnds[];
  /** Kafka's group state: Stable, Empty, PreparingRebalance, CompletingRebalance, Dead, Unknown. */
  readonly groupState: string;
  readonly members: readonly GroupMember[];
}

export async function readKafkaState(conn: KafkaConnection, groupId: string, filter: TopicFilter, timeoutMs = 5000): Promise<KafkaState> {
  const admin = createKafka(conn, { connectionTimeoutMs: timeoutMs, retries: 1 }).admin();
  await admin.connect();
  try {
    const topics = matchingTopics(await admin.listTopics(), filter);
    const partitions: PartitionEnds[] = [];
    for (const topic of topics) {
      for (const p of await admin.fetchTopicOffsets(topic)) partitions.push({ topic, partition: p.partition, low: p.low, high: p.high });
    }
    partitions.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
    const { groups } = await admin.describeGroups([groupId]);
    const g = groups[0];
    const members = (g?.members ?? []).map((m) => ({ memberId: m.memberId, clientId: m.clientId, host: m.clientHost, partitions: assigned(m.memberAssignment) }));
    return { partitions, groupState: g?.state ?? 'Unknown', members };
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** The partitions in a member's assignment (the consumer protocol's encoding); none when it is empty or not a consumer's. */
function assigned(buf: Buffer): string[] {
  if (!buf || buf.length === 0) return [];
  const a = AssignerProtocol.MemberAssignment.decode(buf);
  if (!a) return [];
  const out: string[] = [];
  for (const [topic, parts] of Object.entries(a.assignment)) for (const p of parts) out.push(`${topic}[${p}]`);
  return out.sort();
}
