import { mongoConnectorConfig, mysqlConnectorConfig, schemaHistoryTopicFor, serverIdFor } from '../../../src/managed/other-configs';
import type { MysqlConnection } from '../../../src/config/types';

const db: MysqlConnection = { host: 'm.example', port: 3306, database: 'sales', username: 'cdc', password: 'pw', sslMode: 'required', connectTimeoutMs: 10_000 };

describe('MySQL/MariaDB connector config', () => {
  it('maps the connection, a stable server id, the schema history and the seed keys', () => {
    const { name, config, plainPassword } = mysqlConnectorConfig({
      pipeline: 'orders-cdc', flavor: 'mysql', db, brokers: ['k1:9092', 'k2:9092'],
      cdc: { 'topic.prefix': 'orders_cdc', 'collection.include.list': 'sales.orders', 'group.id': 'g', 'snapshot.mode': 'initial' },
    });
    expect(name).toBe('nilus-orders-cdc');
    expect(plainPassword).toBe(true);
    expect(config).toMatchObject({
      'connector.class': 'io.debezium.connector.mysql.MySqlConnector',
      'skipped.operations': 'none',
      'decimal.handling.mode': 'precise',
      'time.precision.mode': 'adaptive_time_microseconds',
      'bigint.unsigned.handling.mode': 'precise',
      converters: 'nilus_boolean',
      'nilus_boolean.type': 'io.debezium.connector.binlog.converters.TinyIntOneToBooleanConverter',
      'database.hostname': 'm.example', 'database.port': '3306', 'database.user': 'cdc', 'database.password': 'pw',
      'database.include.list': 'sales', 'database.ssl.mode': 'required',
      // resync's signal table, in the captured database (Debezium's <database>.<table>)
      'signal.data.collection': 'sales.nilus_orders_cdc_signal',
      'database.server.id': String(serverIdFor('orders-cdc')),
      'schema.history.internal.kafka.bootstrap.servers': 'k1:9092,k2:9092',
      'schema.history.internal.kafka.topic': '__nilus-schema-history-orders-cdc',
      'topic.prefix': 'orders_cdc', 'table.include.list': 'sales.orders', 'snapshot.mode': 'initial',
    });
    expect(config).not.toHaveProperty(['group.id']);
    expect(config).not.toHaveProperty(['collection.include.list']);
  });

  it('a signal.data.collection in spec.source.cdc overrides the signal table', () => {
    const { config } = mysqlConnectorConfig({ pipeline: 'p', flavor: 'mariadb', db, brokers: ['k:9092'], cdc: { 'topic.prefix': 'x', 'signal.data.collection': 'ops.signals' } });
    expect(config['signal.data.collection']).toBe('ops.signals');
  });

  it('MariaDB uses its own connector; a reference replaces the password; server ids are stable and large', () => {
    const r = mysqlConnectorConfig({ pipeline: 'p', flavor: 'mariadb', db, connectPassword: '${env:MYSQL_PW}', brokers: ['k:9092'], cdc: { 'topic.prefix': 'x', 'database.server.id': 42 } });
    expect(r.config['connector.class']).toBe('io.debezium.connector.mariadb.MariaDbConnector');
    expect(r.config['database.password']).toBe('${env:MYSQL_PW}');
    expect(r.plainPassword).toBe(false);
    expect(r.config['database.server.id']).toBe('42');
    expect(serverIdFor('p')).toBe(serverIdFor('p'));
    expect(serverIdFor('p')).not.toBe(serverIdFor('q'));
    expect(serverIdFor('p')).toBeGreaterThanOrEqual(1_000_000);
    expect(serverIdFor('p')).toBeLessThan(2 ** 32);
    expect(schemaHistoryTopicFor('p')).not.toContain('.');
  });
});

describe('MariaDB through the MySQL connector 2.5–2.6 (connector.adapter: mariadb)', () => {
  const preferred: MysqlConnection = { ...db, sslMode: 'preferred' };
  it('takes the MySQL connector class with the MariaDB driver, protocol, ssl mode and the 2.x converter name', () => {
    const { config } = mysqlConnectorConfig({ pipeline: 'p', flavor: 'mariadb', db: preferred, brokers: ['k:9092'], cdc: { 'connector.adapter': 'mariadb', 'connector.plugin.version': '2.6.2.Final' } });
    expect(config).toMatchObject({
      'connector.class': 'io.debezium.connector.mysql.MySqlConnector', 'connector.adapter': 'mariadb', 'connector.plugin.version': '2.6.2.Final',
      'database.protocol': 'jdbc:mariadb', 'database.jdbc.driver': 'org.mariadb.jdbc.Driver',
      // the MariaDB JDBC driver has no "preferred"
      'database.ssl.mode': 'disabled',
      'nilus_boolean.type': 'io.debezium.connector.mysql.converters.TinyIntOneToBooleanConverter',
    });
  });
  it('keeps an explicit ssl mode of the connection, and every spec.source.cdc key wins', () => {
    expect(mysqlConnectorConfig({ pipeline: 'p', flavor: 'mariadb', db, brokers: ['k:9092'], cdc: { 'connector.adapter': 'MariaDB' } }).config['database.ssl.mode']).toBe('required');
    const { config } = mysqlConnectorConfig({
      pipeline: 'p', flavor: 'mysql', db: preferred, brokers: ['k:9092'],
      cdc: { 'connector.adapter': 'mariadb', 'database.ssl.mode': 'trust', 'database.protocol': 'jdbc:mysql', 'nilus_boolean.type': 'x.Y' },
    });
    expect(config).toMatchObject({ 'database.ssl.mode': 'trust', 'database.protocol': 'jdbc:mysql', 'nilus_boolean.type': 'x.Y', 'database.jdbc.driver': 'org.mariadb.jdbc.Driver' });
  });
  it('without the adapter: the MySQL connector 2.x (connector.plugin.version) gets the 2.x converter name, and no MariaDB keys', () => {
    const { config } = mysqlConnectorConfig({ pipeline: 'p', flavor: 'mysql', db: preferred, brokers: ['k:9092'], cdc: { 'connector.plugin.version': '2.4.2.Final' } });
    expect(config['nilus_boolean.type']).toBe('io.debezium.connector.mysql.converters.TinyIntOneToBooleanConverter');
    expect(config['database.ssl.mode']).toBe('preferred');
    expect(config).not.toHaveProperty(['database.protocol']);
    expect(config).not.toHaveProperty(['database.jdbc.driver']);
  });
});

describe('MongoDB connector config (unit-tested only: no MongoDB server on these machines)', () => {
  it('keeps collection.include.list and asks for full documents on update', () => {
    const { name, config } = mongoConnectorConfig({
      pipeline: 'orders-cdc', connectionString: 'mongodb://cdc:pw@mongo-1:27017/?replicaSet=rs0',
      cdc: { 'collection.include.list': 'retail.orders', 'topic.prefix': 'orders_cdc', 'group.id': 'g' },
    });
    expect(name).toBe('nilus-orders-cdc');
    expect(config).toEqual({
      'connector.class': 'io.debezium.connector.mongodb.MongoDbConnector',
      'tasks.max': '1',
      'mongodb.connection.string': 'mongodb://cdc:pw@mongo-1:27017/?replicaSet=rs0',
      'capture.mode': 'change_streams_update_full',
      'skipped.operations': 'none',
      'key.converter': 'org.apache.kafka.connect.json.JsonConverter',
      'key.converter.schemas.enable': 'true',
      'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
      'value.converter.schemas.enable': 'true',
      'collection.include.list': 'retail.orders',
      'topic.prefix': 'orders_cdc',
    });
  });
});
