/**
 * A dead-letter TOPIC read back and settled for `nilus-pg deadletters`. Messages cannot be removed
 * from a topic, nor written in PostgreSQL's transaction, so a replay marks the messages it settled
 * in a table of the target (`<state schema>.nilus_replayed_letters`) in the transaction that
 * applies them: a replay run twice applies once (the mark's primary key fails a second one), and
 * `list` leaves marked messages out. A letter that fails again gets a NEW message with the new
 * reason (same key, value and origin headers), acknowledged before the transaction commits, and
 * the old one is marked `replaced`; should the transaction then fail, the letter is held twice,
 * never lost (the topic sink's own rule).
 */
import type { Pool, PoolClient } from 'pg';
import type { Kafka } from '../kafka/client';
import { readTopic, throwawayGroupId, type TopicMessage } from '../kafka/read-at';
import { FatalError } from '../kernel/errors';
import type { TableRef } from '../kernel/types';
import { createUnderLock } from '../sink/offsets';
import { createReplayedLettersSql } from '../sink/sql/replayed-letters';
import { insertReplayedLettersSql } from '../sink/sql/insert-replayed-letters';
import { selectReplayedLettersSql } from '../sink/sql/select-replayed-letters';
import { DEAD_LETTER_HEADERS, KafkaTopicDeadLetterSink } from './topic-sink';
import type { LetterFilter, LetterStore, StoredLetter } from './store';

/** A dead-letter topic message as a letter: its origin and reason from Kafka Connect's headers. Pure. */
export function topicLetter(m: TopicMessage): StoredLetter {
  const h = m.headers;
  const partition = Number(h[DEAD_LETTER_HEADERS.partition]);
  const offset = h[DEAD_LETTER_HEADERS.offset];
  return {
    id: `${m.partition}:${m.offset}`,
    topic: h[DEAD_LETTER_HEADERS.topic] ?? '',
    partition: Number.isInteger(partition) ? partition : -1,
    offset: offset !== undefined && /^\d+$/.test(offset) ? offset : '-1',
    reason: h[DEAD_LETTER_HEADERS.reason] ?? '(no reason header)',
    errorClass: h[DEAD_LETTER_HEADERS.errorClass] ?? '',
    createdAt: new Date(m.timestampMs).toISOString(),
    valueBytes: m.value ? m.value.length : null,
  };
}

export interface TopicStoreOptions {
  readonly kafka: Kafka;
  readonly topic: string;
  /** The marks table (state schema). */
  readonly marks: TableRef;
  /** Consumer group id prefix for the throwaway reads. */
  readonly groupId: string;
  readonly pipeline?: string;
}

export class TopicLetterStore implements LetterStore {
  private readonly messages = new Map<string, TopicMessage>();
  private producer: KafkaTopicDeadLetterSink | undefined;

  constructor(private readonly opts: TopicStoreOptions) {}

  get name(): string {
    return `topic ${this.opts.topic}`;
  }

  async list(db: Pool, filter: LetterFilter = {}): Promise<StoredLetter[]> {
    const marked = await this.marked(db);
    const all = await readTopic(this.opts.kafka, this.opts.topic, { groupId: throwawayGroupId(this.opts.groupId, 'deadletters') });
    const since = filter.since !== undefined ? Date.parse(filter.since) : undefined;
    const out: StoredLetter[] = [];
    for (const m of all) {
      const l = topicLetter(m);
      if (marked.has(l.id) || (since !== undefined && m.timestampMs < since)) continue;
      this.messages.set(l.id, m);
      out.push(l);
    }
    return out.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset))));
  }

  async prepare(db: Pool): Promise<void> {
    await createUnderLock(db, this.opts.marks, createReplayedLettersSql(this.opts.marks));
    if (!this.producer) {
      const p = new KafkaTopicDeadLetterSink({ kafka: this.opts.kafka, topic: this.opts.topic, createTopic: false, ...(this.opts.pipeline ? { pipeline: this.opts.pipeline } : {}) });
      await p.init();
      this.producer = p;
    }
  }

  async settle(tx: PoolClient, replayed: readonly StoredLetter[], failed: readonly { readonly letter: StoredLetter; readonly reason: string }[]): Promise<void> {
    if (failed.length > 0) {
      if (!this.producer) throw new Error('TopicLetterStore.settle called before prepare()');
      await this.producer.send(failed.map((f) => {
        const m = this.messages.get(f.letter.id);
        if (!m) throw new Error(`dead letter ${f.letter.id} was not listed by this store`);
        return { topic: f.letter.topic, partition: f.letter.partition, offset: f.letter.offset, key: m.key, value: m.value, reason: f.reason, errorClass: f.letter.errorClass };
      }));
    }
    const marks = [...replayed.map((l) => [l, 'replayed'] as const), ...failed.map((f) => [f.letter, 'replaced'] as const)];
    if (marks.length === 0) return;
    const at = marks.map(([l]) => this.messages.get(l.id)!);
    try {
      await tx.query(insertReplayedLettersSql(this.opts.marks), [this.opts.topic, at.map((m) => m.partition), at.map((m) => m.offset), marks.map(([, o]) => o)]);
    } catch (err) {
      if ((err as { code?: string }).code !== '23505') throw err;
      throw new FatalError(`dead letter(s) of ${this.name} were settled meanwhile (another replay?): this replay was rolled back, nothing of it applied; run it again`, { cause: err });
    }
  }

  async close(): Promise<void> {
    const p = this.producer;
    this.producer = undefined;
    if (p) await p.close();
  }

  private async marked(db: Pool): Promise<Set<string>> {
    try {
      const r = await db.query<{ p: number; o: string }>(selectReplayedLettersSql(this.opts.marks), [this.opts.topic]);
      return new Set(r.rows.map((x) => `${x.p}:${x.o}`));
    } catch (err) {
      if ((err as { code?: string }).code === '42P01') return new Set(); // no replay yet
      throw err;
    }
  }
}
