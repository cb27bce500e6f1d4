/**
 * KafkaConnection → a kafkajs client. The only place a kafkajs client is made: the consumer,
 * the dead-letter producer and `nilus-pg check` all take theirs from here.
 */
import { Kafka, logLevel as KafkaLogLevel, type KafkaConfig, type SASLOptions } from 'kafkajs';
import type { Logger } from 'pino';
import type { KafkaConnection } from '../config/types';

export type { Kafka } from 'kafkajs';

export function kafkaConfig(conn: KafkaConnection): KafkaConfig {
  const cfg: KafkaConfig = { clientId: conn.clientId, brokers: [...conn.brokers] };
  if (conn.ssl === true) cfg.ssl = true;
  else if (conn.ssl && typeof conn.ssl === 'object') {
    cfg.ssl = { rejectUnauthorized: conn.ssl.rejectUnauthorized, ...(conn.ssl.ca ? { ca: [conn.ssl.ca] } : {}) };
  }
  if (conn.sasl) {
    // The three mechanisms share one shape; kafkajs types them as a union, one member per mechanism.
    cfg.sasl = { mechanism: conn.sasl.mechanism, username: conn.sasl.username, password: conn.sasl.password } as SASLOptions;
  }
  return cfg;
}

/**
 * How long any request waits for the broker's answer before it fails (kafkajs' `requestTimeout`,
 * enforced): the bound on noticing a broker that went silent (a dropped-packet partition keeps the
 * TCP connection open, so only this deadline ends the wait). A fetch waits at most this plus its
 * `maxWaitTime` (200 ms) and 100 ms; a JoinGroup the rebalance timeout plus 5 s (kafkajs' own).
 */
export const KAFKA_REQUEST_TIMEOUT_MS = 30_000;

export interface KafkaClientOptions {
  /** Where kafkajs logs (JSON through pino, secrets scrubbed); none = silent. */
  readonly log?: Logger;
  readonly connectionTimeoutMs?: number;
  /** kafkajs's own retries per request (default: kafkajs's). */
  readonly retries?: number;
}

export function createKafka(conn: KafkaConnection, opts: KafkaClientOptions = {}): Kafka {
  return new Kafka({
    ...kafkaConfig(conn),
    requestTimeout: KAFKA_REQUEST_TIMEOUT_MS,
    enforceRequestTimeout: true,
    ...(opts.connectionTimeoutMs !== undefined ? { connectionTimeout: opts.connectionTimeoutMs } : {}),
    ...(opts.retries !== undefined ? { retry: { retries: opts.retries } } : {}),
    logLevel: opts.log ? KafkaLogLevel.WARN : KafkaLogLevel.NOTHING,
    ...(opts.log ? { logCreator: kafkaLogCreator(opts.log) } : {}),
  });
}

/** kafkajs logs through our pino logger (JSON, secrets scrubbed), not its own console lines. */
function kafkaLogCreator(log: Logger) {
  const kl = log.child({ component: 'kafkajs' });
  return () =>
    ({ level, log: entry }: { level: number; log: { message: string } & Record<string, unknown> }) => {
      const { message, ...rest } = entry;
      if (level <= KafkaLogLevel.ERROR) kl.error(rest, message);
      else if (level === KafkaLogLevel.WARN) kl.warn(rest, message);
      else kl.debug(rest, message);
    };
}
