import { configDiff, connectorNameFor, pgConnectorConfig, slotNameFor } from '../../../src/managed/pg-config';
import { connectorHealth } from '../../../src/managed/connector';
import type { PgConnection } from '../../../src/config/types';

const db: PgConnection = { host: 'src.example', port: 5433, database: 'shop', username: 'cdc', password: 's3cret', connectTimeoutMs: 10_000 };

describe('managed PostgreSQL connector config', () => {
  it('maps the connection, the sink defaults and the seed keys', () => {
    const { name, config, plainPassword } = pgConnectorConfig({
      pipeline: 'orders-cdc',
      db,
      cdc: { 'topic.prefix': 'orders_cdc', 'collection.include.list': 'retail.orders', 'group.id': 'g', 'topic.refresh.ms': 1000, 'session.timeout.ms': 10000, 'heartbeat.interval.ms': 1000, 'auto.offset.reset': 'earliest' },
    });
    expect(name).toBe('nilus-orders-cdc');
    expect(plainPassword).toBe(true);
    expect(config).toEqual({
      'connector.class': 'io.debezium.connector.postgresql.PostgresConnector',
      'tasks.max': '1',
      'plugin.name': 'pgoutput',
      'skipped.operations': 'none',
      'decimal.handling.mode': 'precise',
      'time.precision.mode': 'adaptive',
      'binary.handling.mode': 'bytes',
      'publication.autocreate.mode': 'filtered',
      'key.converter': 'org.apache.kafka.connect.json.JsonConverter',
      'key.converter.schemas.enable': 'true',
      'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
      'value.converter.schemas.enable': 'true',
      'slot.name': 'nilus_orders_cdc',
      'publication.name': 'nilus_orders_cdc',
      // the table `nilus-pg resync` signals through (src/managed/resync.ts)
      'signal.data.collection': 'public.nilus_orders_cdc_signal',
      'database.hostname': 'src.example',
      'database.port': '5433',
      'database.user': 'cdc',
      'database.password': 's3cret',
      'database.dbname': 'shop',
      'topic.prefix': 'orders_cdc',
      // collection.* is the seed's (MongoDB) spelling; a relational connector reads table.*
      'table.include.list': 'retail.orders',
    });
    // nilus-pg's own consumer keys never reach the connector
    for (const k of ['group.id', 'topic.refresh.ms', 'session.timeout.ms', 'heartbeat.interval.ms', 'auto.offset.reset', 'collection.include.list']) expect(config).not.toHaveProperty([k]);
  });

  it('passes every other cdc key through as a string, overriding the defaults', () => {
    const { config } = pgConnectorConfig({
      pipeline: 'p',
      db: { ...db, sslmode: 'require', sslrootcert: '/ca.pem' },
      cdc: { 'topic.prefix': 'x', 'collection.exclude.list': 'public.tmp_.*', 'slot.name': 'my_slot', 'snapshot.mode': 'no_data', 'include.schema.changes': false, 'max.batch.size': 4096, 'binary.handling.mode': 'hex' },
    });
    expect(config['table.exclude.list']).toBe('public.tmp_.*');
    expect(config['slot.name']).toBe('my_slot');
    expect(config['publication.name']).toBe('nilus_p');
    expect(config['snapshot.mode']).toBe('no_data');
    expect(config['include.schema.changes']).toBe('false');
    expect(config['max.batch.size']).toBe('4096');
    expect(config['binary.handling.mode']).toBe('hex');
    expect(config['database.sslmode']).toBe('require');
    expect(config['database.sslrootcert']).toBe('/ca.pem');
  });

  it('writes a config-provider reference instead of the password when connect_password is set', () => {
    const r = pgConnectorConfig({ pipeline: 'p', db: { ...db, connectPassword: '${file:/secrets/pg.properties:password}' }, cdc: { 'topic.prefix': 'x' } });
    expect(r.config['database.password']).toBe('${file:/secrets/pg.properties:password}');
    expect(r.plainPassword).toBe(false);
    expect(JSON.stringify(r.config)).not.toContain('s3cret');
    // trust auth: no password, nothing to hide
    expect(pgConnectorConfig({ pipeline: 'p', db: { ...db, password: '' }, cdc: { 'topic.prefix': 'x' } }).plainPassword).toBe(false);
  });

  it('derives slot names valid for PostgreSQL from any pipeline name', () => {
    expect(connectorNameFor('a-b_c')).toBe('nilus-a-b_c');
    expect(slotNameFor('a-b_c')).toBe('nilus_a_b_c');
    const long = 'x'.repeat(40) + '-' + 'y'.repeat(22); // 63 characters, the longest name allowed
    const other = 'x'.repeat(40) + '-' + 'y'.repeat(21) + 'z';
    for (const n of [long, other]) {
      expect(slotNameFor(n)).toMatch(/^[a-z0-9_]{1,63}$/);
    }
    expect(slotNameFor(long)).not.toBe(slotNameFor(other));
    expect(slotNameFor(long)).toBe(slotNameFor(long));
  });

  it('compares configs ignoring the name Connect adds', () => {
    const want = { a: '1', b: '2' };
    expect(configDiff({ ...want, name: 'nilus-p' }, want)).toEqual([]);
    expect(configDiff({ a: '1', b: '3', c: 'x', name: 'n' }, want)).toEqual(['b', 'c']);
    expect(configDiff({ a: '1' }, want)).toEqual(['b']);
  });
});

describe('connector health from GET /connectors/{name}/status', () => {
  const running = { name: 'n', connector: { state: 'RUNNING' }, tasks: [{ id: 0, state: 'RUNNING' }] };
  it('is healthy while connector and tasks run', () => {
    expect(connectorHealth(running)).toEqual({ state: 'RUNNING', tasks: [{ id: 0, state: 'RUNNING' }], healthy: true, failed: [] });
  });
  it('a FAILED task or connector is unhealthy and carries its trace', () => {
    const h = connectorHealth({ ...running, tasks: [{ id: 0, state: 'FAILED', trace: 'org.postgresql.util.PSQLException: boom' }] });
    expect(h.healthy).toBe(false);
    expect(h.failed).toEqual([{ id: 0, trace: 'org.postgresql.util.PSQLException: boom' }]);
    expect(connectorHealth({ ...running, connector: { state: 'FAILED' } }).failed).toEqual([{ id: -1, trace: '(no trace)' }]);
  });
  it('missing, unreachable, paused and stopped connectors are unhealthy', () => {
    expect(connectorHealth(undefined)).toMatchObject({ state: 'MISSING', healthy: false });
    expect(connectorHealth('unreachable')).toMatchObject({ state: 'UNREACHABLE', healthy: false });
    expect(connectorHealth({ ...running, connector: { state: 'PAUSED' } }).healthy).toBe(false);
    expect(connectorHealth({ ...running, connector: { state: 'STOPPED' } }).healthy).toBe(false);
    expect(connectorHealth({ ...running, connector: { state: 'UNASSIGNED' }, tasks: [] }).healthy).toBe(true);
  });
});
