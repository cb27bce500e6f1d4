/**
 * Debezium connector configs for MySQL/MariaDB and MongoDB sources, built like the PostgreSQL one
 * (src/connector/pg-config.ts): sink defaults, then the connection, then spec.source.cdc.
 *
 * NOT WIRED IN YET: a cdc manifest whose address is a MySQL/MariaDB or MongoDB database is still
 * refused by the config (src/config/load.ts). Before enabling them: the local stack needs the
 * Debezium MySQL/MariaDB plugin in Kafka Connect (and the decoder's handling of MySQL source
 * blocks proven on real events); MongoDB cannot run on these machines, so its mapping is only
 * unit-tested.
 */
import { createHash } from 'node:crypto';
import type { MysqlConnection } from '../config/types';
import { CONSUMER_KEYS, connectorNameFor } from './pg-config';

const JSON_CONVERTERS: Readonly<Record<string, string>> = {
  'key.converter': 'org.apache.kafka.connect.json.JsonConverter',
  'key.converter.schemas.enable': 'true',
  'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
  'value.converter.schemas.enable': 'true',
};

type CdcKeys = Readonly<Record<string, string | number | boolean | undefined>>;

function passThrough(config: Record<string, string>, cdc: CdcKeys, renamed: Readonly<Record<string, string>>): void {
  for (const [k, v] of Object.entries(cdc)) {
    if (v === undefined || CONSUMER_KEYS.has(k)) continue;
    config[renamed[k] ?? k] = String(v);
  }
}

/**
 * A replication client id for the binlog connection, stable per pipeline name, away from the small
 * numbers servers are usually given (1, 2, …). Two pipelines on one server need different ids.
 */
export function serverIdFor(pipeline: string): number {
  const h = parseInt(createHash('sha256').update(pipeline).digest('hex').slice(0, 8), 16);
  return 1_000_000 + (h % 1_000_000_000);
}

/** The schema history topic: no dot, so it can never look like `<prefix>.<schema>.<table>`. */
export function schemaHistoryTopicFor(pipeline: string): string {
  return `__nilus-schema-history-${pipeline}`;
}

export interface MysqlConnectorInput {
  readonly pipeline: string;
  readonly flavor: 'mysql' | 'mariadb';
  readonly db: MysqlConnection;
  /** The password as the Connect worker should read it (a config-provider reference); default the password. */
  readonly connectPassword?: string;
  /** Brokers for the connector's schema history topic (the pipeline's Kafka). */
  readonly brokers: readonly string[];
  readonly cdc: CdcKeys;
}

export function mysqlConnectorConfig(input: MysqlConnectorInput): { name: string; config: Record<string, string>; plainPassword: boolean } {
  const { db } = input;
  const config: Record<string, string> = {
    'connector.class': input.flavor === 'mariadb' ? 'io.debezium.connector.mariadb.MariaDbConnector' : 'io.debezium.connector.mysql.MySqlConnector',
    'tasks.max': '1',
    // Truncates are captured only when not skipped; the modes are the exact ones (as for PostgreSQL).
    'skipped.operations': 'none',
    'decimal.handling.mode': 'precise',
    'time.precision.mode': 'adaptive_time_microseconds',
    'binary.handling.mode': 'bytes',
    // DDL events go to the topic named exactly <prefix>, which nilus-pg does not read: not written at all.
    'include.schema.changes': 'false',
    ...JSON_CONVERTERS,
    'database.hostname': db.host,
    'database.port': String(db.port),
    'database.user': db.username,
    'database.password': input.connectPassword ?? db.password,
    'database.server.id': String(serverIdFor(input.pipeline)),
    'database.include.list': db.database,
    // ssl-ca (a PEM file) has no direct equivalent: Debezium wants a Java truststore
    // (database.ssl.truststore and .password), which spec.source.cdc can pass.
    'database.ssl.mode': db.sslMode,
    'schema.history.internal.kafka.bootstrap.servers': input.brokers.join(','),
    'schema.history.internal.kafka.topic': schemaHistoryTopicFor(input.pipeline),
  };
  // MySQL tables are <database>.<table>: the seed's collection.* lists name them the same way.
  passThrough(config, input.cdc, { 'collection.include.list': 'table.include.list', 'collection.exclude.list': 'table.exclude.list' });
  const plainPassword = db.password !== '' && config['database.password'] === db.password;
  return { name: connectorNameFor(input.pipeline), config, plainPassword };
}

export interface MongoConnectorInput {
  readonly pipeline: string;
  /** mongodb:// or mongodb+srv:// connection string, or a config-provider reference to one. */
  readonly connectionString: string;
  readonly cdc: CdcKeys;
}

export function mongoConnectorConfig(input: MongoConnectorInput): { name: string; config: Record<string, string> } {
  const config: Record<string, string> = {
    'connector.class': 'io.debezium.connector.mongodb.MongoDbConnector',
    'tasks.max': '1',
    'mongodb.connection.string': input.connectionString,
    // Updates carry the whole document in `after` (the decoder needs the row, not a patch).
    'capture.mode': 'change_streams_update_full',
    'skipped.operations': 'none',
    ...JSON_CONVERTERS,
  };
  // collection.include.list is MongoDB's own spelling (<database>.<collection>): kept as written.
  passThrough(config, input.cdc, {});
  return { name: connectorNameFor(input.pipeline), config };
}
