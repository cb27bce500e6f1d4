import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../../src/kernel/errors';
import { buildConfig, parseManifest } from '../../../src/config';
import { loadConnectionsFile } from '../../../src/config/connections';

const dir = mkdtempSync(join(tmpdir(), 'nilus-managed-'));
const connections = join(dir, 'connections.yaml');
writeFileSync(connections, `connections:
  pg-source:
    type: postgresql
    host: src.example
    database: shop
    username: cdc
    password: \${SRC_PW}
  pg-source-own-kafka:
    type: postgresql
    host: src.example
    database: shop
    username: cdc
    password: pw
    kafka: dataos://kafka-cdc
  pg-source-ref:
    type: postgresql
    host: src.example
    database: shop
    username: cdc
    password: s3cret
    connect_password: "\${file:/opt/secrets/pg.properties:password}"
  kafka-cdc:
    type: kafka
    brokers: k1:9092
    connect_url: http://connect:8083/
  kafka-plain:
    type: kafka
    brokers: k1:9092
  my-maria:
    type: mariadb
    host: m
    database: shop
    username: u
    password: p
`);

/** The seed's CDC manifest shape, with a database source. */
const manifest = (address: string, options: string, cdcExtra = ''): string => `name: orders-cdc
version: v1alpha
type: nilus
spec:
  type: cdc
  source:
    address: ${address}
${options}    cdc:
      collection.include.list: "retail.orders"
      topic.prefix: "orders_cdc"
${cdcExtra}  sink:
    address: postgresql://u@127.0.0.1/db
    options:
      dest_table: analytics.orders_cdc
      incremental_strategy: merge
`;

function problems(f: () => unknown): ConfigError['problems'] {
  try {
    f();
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

async function build(text: string, env: NodeJS.ProcessEnv = { SRC_PW: 'pw' }) {
  return buildConfig(parseManifest(text).manifest, await loadConnectionsFile(connections), env);
}

async function buildProblems(text: string): Promise<ConfigError['problems']> {
  try {
    await build(text);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('managed cdc sources: configuration', () => {
  it('a dataos:// postgresql source with options.kafka is managed; the seed keys reach the connector', async () => {
    const cfg = await build(manifest('dataos://pg-source', '    options:\n      kafka: dataos://kafka-cdc\n', '      snapshot.mode: initial\n      include.schema.changes: false\n'));
    const m = cfg.cdc!.managed!;
    expect(cfg.cdc!.kafka.brokers).toEqual(['k1:9092']);
    expect(m.connectUrl).toBe('http://connect:8083');
    expect(m.connectorName).toBe('nilus-orders-cdc');
    expect(m.connectorConfig).toMatchObject({
      'database.hostname': 'src.example', 'database.port': '5432', 'database.user': 'cdc', 'database.password': 'pw', 'database.dbname': 'shop',
      'topic.prefix': 'orders_cdc', 'table.include.list': 'retail.orders', 'snapshot.mode': 'initial', 'include.schema.changes': 'false',
      'skipped.operations': 'none', 'slot.name': 'nilus_orders_cdc',
    });
    expect(m.plainPassword).toBe(true);
    // the consumer reads what the connector writes
    expect(cfg.cdc!.topicPrefix).toBe('orders_cdc');
    // its topics appear right after start: looked for every 5 s unless topic.refresh.ms says otherwise
    expect(cfg.cdc!.topicRefreshMs).toBe(5000);
    expect(cfg.cdc!.include.map((r) => r.source)).toEqual(['^(?:retail.orders)$']);
  });

  it('connect_password puts the config-provider reference in place of the password', async () => {
    const cfg = await build(manifest('dataos://pg-source-ref', '    options:\n      kafka: dataos://kafka-cdc\n'));
    expect(cfg.cdc!.managed!.connectorConfig['database.password']).toBe('${file:/opt/secrets/pg.properties:password}');
    expect(cfg.cdc!.managed!.plainPassword).toBe(false);
  });

  it('a postgresql:// source with kafka:// and connect_url is managed too', async () => {
    const cfg = await build(manifest('postgresql://cdc:pw@src:5432/shop', '    options:\n      kafka: kafka://k2:9092\n      connect_url: http://c:8083\n'));
    expect(cfg.cdc!.managed!.connectUrl).toBe('http://c:8083');
    expect(cfg.cdc!.kafka.brokers).toEqual(['k2:9092']);
  });

  it('a database address without options.kafka says what to add, or to point at Kafka instead', async () => {
    const offline = problems(() => parseManifest(manifest('postgresql://cdc@src/shop', '')));
    expect(offline).toEqual([expect.objectContaining({ path: 'spec.source.options', message: expect.stringMatching(/needs spec.source.options.kafka.*set spec.source.address to the Kafka instead/) })]);
    const resolved = await buildProblems(manifest('dataos://pg-source', ''));
    expect(resolved).toEqual([expect.objectContaining({ path: 'spec.source.options.kafka', message: expect.stringMatching(/PostgreSQL database, so nilus-pg manages.*set kafka .* on the connection pg-source, or spec.source.options.kafka/) })]);
  });

  it("the seed's CDC manifest shape needs no spec.source.options when the database connection names its Kafka", async () => {
    const cfg = await build(manifest('dataos://pg-source-own-kafka', ''));
    expect(cfg.cdc!.managed).toMatchObject({ connectUrl: 'http://connect:8083', connectorName: 'nilus-orders-cdc' });
    expect(cfg.cdc!.kafka.brokers).toEqual(['k1:9092']);
    // the manifest's options.kafka wins over the connection's
    const other = await build(manifest('dataos://pg-source-own-kafka', '    options:\n      kafka: kafka://k2:9092\n      connect_url: http://c2:8083\n'));
    expect(other.cdc!.managed!.connectUrl).toBe('http://c2:8083');
  });

  it('a managed source with several hosts is refused: Debezium connects to one server', async () => {
    const got = await buildProblems(manifest('postgresql://cdc:pw@src1:5432,src2:5433/shop', '    options:\n      kafka: kafka://k2:9092\n      connect_url: http://c:8083\n'));
    expect(got).toEqual([expect.objectContaining({ path: 'spec.source.address', message: expect.stringMatching(/^a managed source names one server: Debezium connects to a single host \(got 2: src1:5432, src2:5433\)/) })]);
  });

  it('the sink address may be libpq\'s keyword form with several hosts', async () => {
    const text = manifest('postgresql://cdc:pw@src:5432/shop', '    options:\n      kafka: kafka://k2:9092\n      connect_url: http://c:8083\n')
      .replace('address: postgresql://u@127.0.0.1/db', "address: host=db1,db2 port=5432 dbname=db user=u password='${SINK_PW}' target_session_attrs=read-write");
    const cfg = await build(text, { SINK_PW: "a b'c" });
    expect(cfg.sink.pg).toMatchObject({ host: 'db1', port: 5432, hosts: [{ host: 'db1', port: 5432 }, { host: 'db2', port: 5432 }], database: 'db', username: 'u', password: "a b'c", targetSessionAttrs: 'read-write' });
  });

  it('connect_url may be a ${ENV} reference, checked once substituted', async () => {
    const text = manifest('postgresql://cdc:pw@src:5432/shop', '    options:\n      kafka: kafka://k2:9092\n      connect_url: ${CONNECT}/\n');
    expect((await build(text, { CONNECT: 'http://c:8083' })).cdc!.managed!.connectUrl).toBe('http://c:8083');
    await expect(build(text, { CONNECT: 'c:8083' })).rejects.toMatchObject({ problems: [expect.objectContaining({ path: 'spec.source.options.connect_url', message: expect.stringMatching(/must be the Kafka Connect REST URL/) })] });
  });

  it('a kafka connection without connect_url, or kafka:// without options.connect_url, is refused', async () => {
    expect(await buildProblems(manifest('dataos://pg-source', '    options:\n      kafka: dataos://kafka-plain\n'))).toEqual([
      expect.objectContaining({ path: 'spec.source.options.kafka', message: expect.stringMatching(/has no connect_url/) }),
    ]);
    expect(problems(() => parseManifest(manifest('postgresql://cdc@src/shop', '    options:\n      kafka: kafka://k:9092\n')))[0].message).toMatch(/set spec.source.options.connect_url/);
  });

  it('a Kafka source keeps refusing connector properties and managed options, as before', async () => {
    const kafkaText = manifest('kafka://k:9092', '    options:\n      kafka: dataos://kafka-cdc\n', '      snapshot.mode: initial\n');
    expect(problems(() => parseManifest(kafkaText)).map((p) => p.path)).toEqual(['spec.source.options.kafka', 'spec.source.cdc.snapshot.mode']);
    // dataos:// naming a kafka connection: known only once resolved
    expect((await buildProblems(manifest('dataos://kafka-cdc', '', '      snapshot.mode: initial\n'))).map((p) => p.path)).toEqual(['spec.source.cdc.snapshot.mode']);
    const cfg = await build(manifest('dataos://kafka-cdc', ''));
    expect(cfg.cdc!.managed).toBeUndefined();
  });

  it('a MySQL/MariaDB database is a managed source too: the MySQL connector config, or MariaDB\'s', async () => {
    // mysql:// needs the Kafka in the manifest, like postgresql://
    expect(problems(() => parseManifest(manifest('mysql://u@m/shop', '')))[0].message).toMatch(/is managed: nilus-pg creates its Debezium connector, and needs spec.source.options.kafka/);
    expect((await buildProblems(manifest('dataos://my-maria', '')))[0]).toEqual(expect.objectContaining({ path: 'spec.source.options.kafka', message: expect.stringMatching(/^dataos:\/\/my-maria is a MariaDB database, so nilus-pg manages its Debezium connector/) }));
    const maria = (await build(manifest('dataos://my-maria', '    options:\n      kafka: dataos://kafka-cdc\n'))).cdc!;
    expect(maria.managed).toMatchObject({ kind: 'mysql', flavor: 'mariadb', connectUrl: 'http://connect:8083', connectorName: 'nilus-orders-cdc', plainPassword: true });
    expect(maria.managed!.connectorConfig).toMatchObject({
      'connector.class': 'io.debezium.connector.mariadb.MariaDbConnector', 'database.hostname': 'm', 'database.port': '3306',
      'database.include.list': 'shop', 'table.include.list': 'retail.orders', 'schema.history.internal.kafka.bootstrap.servers': 'k1:9092',
      'bigint.unsigned.handling.mode': 'precise', 'skipped.operations': 'none',
    });
    const my = (await build(manifest('mysql://u:pw@m:3307/shop', '    options:\n      kafka: kafka://k9:9092\n      connect_url: http://c:8083\n'))).cdc!;
    expect(my.managed).toMatchObject({ kind: 'mysql', flavor: 'mysql', connectUrl: 'http://c:8083' });
    expect(my.managed!.connectorConfig).toMatchObject({ 'connector.class': 'io.debezium.connector.mysql.MySqlConnector', 'database.port': '3307', 'database.password': 'pw' });
  });

  it('kafka and connect_url are not batch options', () => {
    const text = `name: b
version: v1alpha
type: nilus
spec:
  type: batch
  source:
    address: postgresql://u@h/db
    options:
      source_table: public.t
      kafka: dataos://kafka-cdc
  sink:
    address: postgresql://u@h/db
    options:
      dest_table: public.t2
      incremental_strategy: replace
`;
    expect(problems(() => parseManifest(text)).map((p) => p.path)).toEqual(['spec.source.options.kafka']);
  });
});
