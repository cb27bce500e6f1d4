/** Addresses of the local stack (scripts/stack.sh) and facts about the machine it runs on. */
import { cpus, loadavg, totalmem } from 'node:os';
import { Kafka, logLevel } from 'kafkajs';
import { Client } from 'pg';
import { stackEnv } from '../test/helpers/stack';

const env = stackEnv();
export const TARGET_URL = env.NILUS_TEST_PG_URL;
export const JDBC_URL = env.NILUS_TEST_JDBC_PG_URL;
export const CONNECT_URL = env.NILUS_TEST_CONNECT_URL;
export const BROKERS = env.NILUS_TEST_KAFKA_BROKERS.split(',');

export function kafka(clientId = 'nilus-bench'): Kafka {
  return new Kafka({ clientId, brokers: BROKERS, logLevel: logLevel.NOTHING });
}

/** Runs `fn` with a fresh connection that always sees timestamps in UTC. */
export async function withPg<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  // A server restart (another job on the machine, a crash) terminates the session: let the
  // pending query fail the run instead of an unhandled 'error' event killing the whole bench.
  let lost: Error | undefined;
  client.on('error', (err) => (lost = err));
  await client.connect();
  try {
    await client.query("SET TimeZone = 'UTC'");
    const out = await fn(client);
    if (lost) throw lost;
    return out;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export const quoteIdent = (s: string): string => `"${s.replace(/"/g, '""')}"`;

export interface MachineFacts {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  postgres: string;
  kafka: string;
  debezium: string;
  /** 1-minute load average when the bench started: other work on the machine skews every figure. */
  loadAvg1m: number;
}

export async function machineFacts(): Promise<MachineFacts> {
  const postgres = await withPg(TARGET_URL, async (c) => (await c.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version);
  let kafkaVersion = 'unknown';
  let debezium = 'unknown';
  try {
    kafkaVersion = ((await (await fetch(`${CONNECT_URL}/`)).json()) as { version: string }).version;
    const plugins = (await (await fetch(`${CONNECT_URL}/connector-plugins`)).json()) as { class: string; version: string }[];
    debezium = plugins.find((p) => p.class.startsWith('io.debezium.connector.jdbc'))?.version ?? 'JDBC sink not installed';
  } catch (err) {
    kafkaVersion = debezium = `Kafka Connect unreachable (${String(err)})`;
  }
  return {
    cores: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    postgres,
    kafka: kafkaVersion,
    debezium,
    loadAvg1m: Math.round(loadavg()[0]! * 100) / 100,
  };
}
