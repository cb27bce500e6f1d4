/**
 * Debezium connector configs for MySQL/MariaDB and MongoDB sources, built like the PostgreSQL one
 * (src/connector/pg-config.ts): sink defaults, then the connection, then spec.source.cdc.
 *
 * MySQL/MariaDB is wired in: a cdc manifest whose address is a `type: mysql` / `type: mariadb`
 * connection (or a mysql:// / mariadb:// URI) is a managed source (src/config/load.ts), proven end
 * to end in test/it/managed/mysql-managed.it.ts. `type: mariadb` defaults to Debezium's MariaDB
 * connector class: Debezium 3.x's MySQL connector refuses MariaDB 10+ (it reads the version as
 * MySQL >= 8.4 and asks SHOW BINARY LOG STATUS, which MariaDB lacks); see docs/manifest.md.
 * MongoDB is NOT wired in (no MongoDB server can run on these machines): its mapping is only
 * unit-tested, and a MongoDB address is not a connection type yet.
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

export const MYSQL_CONNECTOR_CLASS = 'io.debezium.connector.mysql.MySqlConnector';
export const MARIADB_CONNECTOR_CLASS = 'io.debezium.connector.mariadb.MariaDbConnector';

export interface MysqlConnectorInput {
  readonly pipeline: string;
  readonly flavor: 'mysql' | 'mariadb';
  readonly db: MysqlConnection;
  /** The password as the Connect worker should read it (a config-provider reference); default db.connectPassword, then the password. */
  readonly connectPassword?: string;
  /** Brokers for the connector's schema history topic (the pipeline's Kafka). */
  readonly brokers: readonly string[];
  readonly cdc: CdcKeys;
}

export function mysqlConnectorConfig(input: MysqlConnectorInput): { name: string; config: Record<string, string>; plainPassword: boolean } {
  const { db } = input;
  const config: Record<string, string> = {
    'connector.class': input.flavor === 'mariadb' ? MARIADB_CONNECTOR_CLASS : MYSQL_CONNECTOR_CLASS,
    'tasks.max': '1',
    // Truncates are captured only when not skipped; the modes are the exact ones (as for PostgreSQL).
    'skipped.operations': 'none',
    'decimal.handling.mode': 'precise',
    'time.precision.mode': 'adaptive_time_microseconds',
    'binary.handling.mode': 'bytes',
    // bigint unsigned beyond 2^63 would wrap to a negative int64 ('long'); precise sends a Decimal.
    'bigint.unsigned.handling.mode': 'precise',
    // tinyint(1) as boolean, as the batch path lands it (tinyint1_as_boolean, docs/types.md).
    converters: 'nilus_boolean',
    'nilus_boolean.type': 'io.debezium.connector.binlog.converters.TinyIntOneToBooleanConverter',
    // DDL events go to the topic named exactly <prefix>, which nilus-pg does not read: not written at all.
    'include.schema.changes': 'false',
    ...JSON_CONVERTERS,
    'database.hostname': db.host,
    'database.port': String(db.port),
    'database.user': db.username,
    'database.password': input.connectPassword ?? db.connectPassword ?? db.password,
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
