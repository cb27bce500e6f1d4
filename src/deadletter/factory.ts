/** Builds the configured dead-letter sink, or none when the manifest configures none. */
import type { Kafka } from '../kafka/client';
import type { Pool } from 'pg';
import type { ErrorHandling } from '../config/types';
import { ConfigError } from '../kernel/errors';
import type { DeadLetterSink } from '../engine/ports';
import { KafkaTopicDeadLetterSink } from './topic-sink';
import { PgTableDeadLetterSink } from './table-sink';

export interface DeadLetterDeps {
  /** The sink's pool, or how to get it once connected (a table sink writes to the destination database). */
  readonly pool?: Pool | (() => Pool | undefined);
  /** The source's Kafka client (a topic sink writes to the source cluster). */
  readonly kafka?: Kafka;
  readonly pipeline?: string;
}

export function createDeadLetterSink(cfg: ErrorHandling['deadLetter'], deps: DeadLetterDeps): DeadLetterSink | undefined {
  if (cfg === undefined) return undefined;
  if (cfg.kind === 'table') {
    if (!deps.pool) throw new ConfigError([{ path: 'errors.deadLetter.table', message: 'a dead-letter table needs the PostgreSQL sink connection' }]);
    return new PgTableDeadLetterSink({ pool: deps.pool, table: cfg.table });
  }
  if (!deps.kafka) {
    throw new ConfigError([{ path: 'errors.deadLetter.topic', message: 'a dead-letter topic needs a Kafka connection; batch pipelines can use a dead-letter table instead' }]);
  }
  return new KafkaTopicDeadLetterSink({ kafka: deps.kafka, topic: cfg.topic, ...(deps.pipeline ? { pipeline: deps.pipeline } : {}) });
}
