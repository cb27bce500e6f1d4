/** Manifests and connections files of managed CDC pipelines (the address names a source database), shared by the managed and verify tests. */
import { targetPgUrl } from './pg';
import { testKafka } from './kafka';
import { connectUrl, kafkaBrokers, sourcePgUrl } from './stack';

/** A managed cdc manifest capturing `<srcSchema>.orders` (or `include`) into `dest`. */
export function managedManifest(o: { name: string; srcSchema: string; dest: string; include?: string; cdc?: Record<string, unknown>; options?: Record<string, unknown> }): string {
  return JSON.stringify({
    name: o.name,
    version: 'v1alpha',
    type: 'nilus',
    spec: {
      type: 'cdc',
      source: {
        address: sourcePgUrl(),
        options: { kafka: `kafka://${kafkaBrokers().join(',')}`, connect_url: connectUrl() },
        cdc: { 'collection.include.list': o.include ?? `${o.srcSchema}.orders`, 'topic.prefix': o.name, 'topic.refresh.ms': 1000, ...o.cdc },
      },
      sink: { address: targetPgUrl(), options: { dest_table: o.dest, incremental_strategy: 'merge', http_port: 0, 'batch.max_age_ms': 200, log_level: 'warn', ...o.options } },
    },
  });
}

/**
 * A connections file (YAML) with one MySQL/MariaDB source `entry` that names the stack's Kafka
 * and Kafka Connect (`kafka-stack`), so a manifest addressing `dataos://<entry>` is managed.
 */
export function mysqlSourceConnections(
  entry: string,
  db: { type: 'mysql' | 'mariadb'; host: string; port: number | string; database: string; username: string; password: string },
): string {
  return `connections:
  ${entry}:
    type: ${db.type}
    host: ${db.host}
    port: ${db.port}
    database: ${db.database}
    username: ${db.username}
    password: ${JSON.stringify(db.password)}
    kafka: dataos://kafka-stack
  kafka-stack:
    type: kafka
    brokers: ${kafkaBrokers().join(',')}
    connect_url: ${connectUrl()}
`;
}

/** Deletes a managed MySQL/MariaDB pipeline's topics: `<prefix>.*` and its schema history topic. */
export async function deleteManagedTopics(prefix: string, name: string): Promise<void> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}.`) || t === `__nilus-schema-history-${name}`);
    if (topics.length) await admin.deleteTopics({ topics }).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}
