/**
 * Debezium connector configs for MySQL/MariaDB and MongoDB sources, built like the PostgreSQL one
 * (src/managed/pg-config.ts): sink defaults, then the connection, then spec.source.cdc.
 *
 * MySQL/MariaDB is wired in: a cdc manifest whose address is a `type: mysql` / `type: mariadb`
 * connection (or a mysql:// / mariadb:// URI) is a managed source (src/config/load.ts), proven end
 * to end in test/it/managed/mysql-managed.it.ts (MySQL connector 3.6.1) and mariadb-managed.it.ts.
 * A MariaDB server takes one of two Debezium connectors (docs/manifest.md "Managed MySQL / MariaDB"):
 *  - Debezium's MariaDB connector (2.7+), the default connector.class of `type: mariadb`;
 *  - the MySQL connector 2.5–2.6 with its MariaDB adapter: `connector.adapter: mariadb` in
 *    spec.source.cdc makes the class MySqlConnector and sets what that adapter needs (the MariaDB
 *    JDBC driver and protocol; ssl mode `disabled` for the default `preferred`, which that driver
 *    lacks). The stack runs this one (2.6.2.Final, picked with connector.plugin.version), since the
 *    MariaDB connector is not served by the Maven Central reached here.
 * Debezium 3.x's MySQL connector refuses MariaDB 10+ (it reads the version as MySQL >= 8.4 and asks
 * SHOW BINARY LOG STATUS, which MariaDB lacks). Every key of spec.source.cdc still wins.
 * MongoDB is NOT wired in (no MongoDB server can run on these machines): its mapping is only
 * unit-tested, and a MongoDB address is not a connection type yet.
 */
import { createHash } from 'node:crypto';
import type { MysqlConnection } from '../config/types';
import { CONSUMER_KEYS, connectorNameFor, slotNameFor } from './pg-config';

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

/**
 * The signal table `nilus-pg resync` writes Debezium's execute-snapshot signals to (and Debezium
 * its incremental-snapshot watermarks): `<database>.nilus_<pipeline>_signal`, in the captured
 * database (Debezium's MySQL form is `<database>.<table>`). A `signal.data.collection` in
 * spec.source.cdc overrides it.
 */
export function mysqlSignalTableFor(pipeline: string, database: string): string {
  return `${database}.${slotNameFor(`${pipeline}_signal`)}`;
}

export const MYSQL_CONNECTOR_CLASS = 'io.debezium.connector.mysql.MySqlConnector';
export const MARIADB_CONNECTOR_CLASS = 'io.debezium.connector.mariadb.MariaDbConnector';
/** tinyint(1) → boolean: 3.x's shared binlog module (MySQL and MariaDB connectors) … */
const BINLOG_BOOLEAN_CONVERTER = 'io.debezium.connector.binlog.converters.TinyIntOneToBooleanConverter';
/** … and the MySQL connector's own name, the only one before 3.0 (3.x keeps it as a deprecated alias). */
const MYSQL_BOOLEAN_CONVERTER = 'io.debezium.connector.mysql.converters.TinyIntOneToBooleanConverter';

/** `connector.adapter: mariadb` in spec.source.cdc: the MySQL connector 2.5–2.6's MariaDB mode. */
export function mariadbAdapter(cdc: CdcKeys | Readonly<Record<string, string>>): boolean {
  return String(cdc['connector.adapter'] ?? '').toLowerCase() === 'mariadb';
}

/** The major version of `connector.plugin.version` (e.g. 2 for 2.6.2.Final), when one is named. */
function pluginMajor(cdc: CdcKeys): number | undefined {
  const v = cdc['connector.plugin.version'];
  const major = v === undefined ? NaN : parseInt(String(v), 10);
  return Number.isNaN(major) ? undefined : major;
}

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
  const adapter = mariadbAdapter(input.cdc);
  const cls = String(input.cdc['connector.class'] ?? (input.flavor === 'mariadb' && !adapter ? MARIADB_CONNECTOR_CLASS : MYSQL_CONNECTOR_CLASS));
  // Before 3.0 the converter lived in the MySQL connector only; the MariaDB connector has the binlog one.
  const oldMysql = cls === MYSQL_CONNECTOR_CLASS && (adapter || (pluginMajor(input.cdc) ?? 3) < 3);
  const config: Record<string, string> = {
    'connector.class': cls,
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
    'nilus_boolean.type': oldMysql ? MYSQL_BOOLEAN_CONVERTER : BINLOG_BOOLEAN_CONVERTER,
    // DDL events go to the topic named exactly <prefix>, which nilus-pg does not read: not written at all.
    'include.schema.changes': 'false',
    ...JSON_CONVERTERS,
    'database.hostname': db.host,
    'database.port': String(db.port),
    'database.user': db.username,
    'database.password': input.connectPassword ?? db.connectPassword ?? db.password,
    'database.server.id': String(serverIdFor(input.pipeline)),
    'database.include.list': db.database,
    'signal.data.collection': mysqlSignalTableFor(input.pipeline, db.database),
    // ssl-ca (a PEM file) has no direct equivalent: Debezium wants a Java truststore
    // (database.ssl.truststore and .password), which spec.source.cdc can pass.
    'database.ssl.mode': db.sslMode,
    // The MySQL connector's MariaDB adapter talks JDBC through the MariaDB driver, which has no
    // "preferred" (TLS if offered, else plain): the default becomes disabled; set ssl-mode: required
    // (or verify_ca / verify_identity) on the connection for TLS.
    ...(adapter ? {
      'database.protocol': 'jdbc:mariadb',
      'database.jdbc.driver': 'org.mariadb.jdbc.Driver',
      ...(db.sslMode === 'preferred' ? { 'database.ssl.mode': 'disabled' } : {}),
    } : {}),
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
