/**
 * Where a partition can resume, given the next offset stored in PostgreSQL and the partition's
 * offsets in Kafka (`low`: the log-start offset, the first one retention kept; `high`: the high
 * watermark, one past the last). Pure: the engine asks the source for the bounds and acts on the
 * answer (src/engine/committer.ts).
 *
 *  - `ok`: low <= stored <= high, nothing lost;
 *  - `deleted`: stored < low: retention (or deleteRecords) removed [stored, low) before it was
 *    applied;
 *  - `recreated`: stored > high: the offsets come from an earlier life of the topic (deleted and
 *    re-created under the pipeline); what the old topic held past `stored` is unknown.
 */
import { FatalError } from './errors';

export interface PartitionBounds {
  readonly topic: string;
  readonly partition: number;
  /** Log-start offset, decimal string. */
  readonly low: string;
  /** High watermark, decimal string. */
  readonly high: string;
}

export interface OffsetGap {
  readonly kind: 'deleted' | 'recreated';
  readonly topic: string;
  readonly partition: number;
  readonly stored: bigint;
  readonly low: bigint;
  readonly high: bigint;
  /** Offsets lost: low − stored when deleted; 0 when recreated (what the old topic held is unknown). */
  readonly skipped: bigint;
}

/** What to do when the stored offset is gone: stop the pipeline (default) or go on from the log start. */
export type OffsetGapPolicy = 'stop' | 'skip';

/** undefined: the stored offset can be resumed from. */
export function offsetGap(topic: string, partition: number, stored: bigint, bounds: { low: string; high: string }): OffsetGap | undefined {
  const low = BigInt(bounds.low);
  const high = BigInt(bounds.high);
  if (stored < low) return { kind: 'deleted', topic, partition, stored, low, high, skipped: low - stored };
  // Offsets of the old life that the new one has not reached: nothing of the new topic is skipped by
  // going on from its start, but what the old one held past `stored` never arrives.
  if (stored > high) return { kind: 'recreated', topic, partition, stored, low, high, skipped: 0n };
  return undefined;
}

/** The operator's message: what is missing and what to do. `skip`: the warning logged when it is accepted. */
export function describeOffsetGap(g: OffsetGap, policy: OffsetGapPolicy): string {
  const where = `topic ${g.topic}, partition ${g.partition}`;
  const what =
    g.kind === 'deleted'
      ? `${where}: the offset stored in PostgreSQL is ${g.stored} but the partition's log starts at ${g.low}: ` +
        `Kafka's retention deleted the events [${g.stored}, ${g.low}) (${g.skipped} offsets) before they were applied`
      : `${where}: the offset stored in PostgreSQL is ${g.stored} but the partition's high watermark is ${g.high}: ` +
        `the topic was deleted and re-created (or its log truncated) since those offsets were stored, and what it held past ${g.stored} is gone`;
  if (policy === 'skip') {
    return `${what}; spec.sink.options.on_offset_gap is skip: going on from offset ${g.low}, those events are lost to the target`;
  }
  return (
    `${what}. The pipeline stopped; nothing past the gap was applied. ` +
    `Restore the missing events from the source (resync the table, e.g. a new snapshot of the connector) ` +
    `and reset the offsets, or set spec.sink.options.on_offset_gap: skip to accept the loss and go on from offset ${g.low}`
  );
}

/** on_offset_gap: stop met a gap: the pipeline stops with the operator's message. */
export class OffsetGapError extends FatalError {
  constructor(readonly gap: OffsetGap) {
    super(describeOffsetGap(gap, 'stop'));
  }
}
