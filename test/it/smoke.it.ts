/**
 * Smoke test of the local stack: a real Debezium PostgreSQL connector (pgoutput) captures
 * inserts, updates and deletes from nilus_source, and kafkajs 2.2.4 reads the change events from
 * the Kafka 4 broker. With NILUS_CAPTURE_FIXTURES=1 the raw messages are also written to
 * test/fixtures/debezium-real/ as ground truth for the decode stage.
 */
import type { Pool } from 'pg';
import { newPool, uniqueName, dropTestSchemaUnlessFailed } from '../helpers/pg';
import { sourcePgUrl } from '../helpers/stack';
import { createTopics, produce, readAll, type ReadMessage } from '../helpers/kafka';
import { registerPostgresSource, removeConnector } from '../helpers/debezium';
import { WIDE_COLUMNS, WIDE_ROW_FULL, WIDE_ROW_INFINITY, BIG_TEXT, maybeCaptureFixtures } from './smoke-fixtures';

interface Envelope {
  schema: { type: string; name?: string; fields: Array<{ field: string }> };
  payload: {
    op: string;
    before: Record<string, unknown> | null;
    after: Record<string, unknown> | null;
    source: Record<string, unknown>;
  };
}

const json = (buf: Buffer | null): unknown => (buf === null ? null : JSON.parse(buf.toString('utf8')));
const envelope = (m: ReadMessage): Envelope => json(m.value) as Envelope;
const keyPayload = (m: ReadMessage): unknown => (json(m.key) as { payload: unknown }).payload;

describe('local stack smoke: Debezium PostgreSQL -> Kafka 4 -> kafkajs', () => {
  const schema = uniqueName('smoke');
  const name = uniqueName('nilus_smoke');
  let pool: Pool;

  beforeAll(async () => {
    pool = newPool(sourcePgUrl());
    await pool.query(`CREATE SCHEMA "${schema}"`);
    await pool.query(`CREATE TABLE "${schema}".items (id int PRIMARY KEY, name text NOT NULL, qty int)`);
    // FULL identity: updates and deletes carry every old column in `before`.
    await pool.query(`ALTER TABLE "${schema}".items REPLICA IDENTITY FULL`);
    await pool.query(`CREATE TABLE "${schema}".wide (${WIDE_COLUMNS})`);
    // EXTERNAL storage keeps c_big out of line and uncompressed, so an update that leaves it
    // alone does not resend it and Debezium emits its unavailable-value placeholder.
    await pool.query(`ALTER TABLE "${schema}".wide ALTER COLUMN c_big SET STORAGE EXTERNAL`);
    await registerPostgresSource({
      name,
      topicPrefix: name,
      tableIncludeList: `${schema}.items,${schema}.wide`,
      slotName: name,
      publicationName: name,
    });
  });

  afterAll(async () => {
    await removeConnector(name).catch((err: unknown) => console.warn(`removeConnector: ${String(err)}`));
    if (pool) {
      await dropTestSchemaUnlessFailed(pool, schema);
      await pool.end();
    }
  });

  it('receives the stack addresses from the global setup', () => {
    for (const key of ['NILUS_TEST_PG_URL', 'NILUS_TEST_SOURCE_PG_URL', 'NILUS_TEST_KAFKA_BROKERS', 'NILUS_TEST_CONNECT_URL']) {
      expect(process.env[key]).toMatch(/^(postgresql:\/\/postgres@|http:\/\/)?127\.0\.0\.1:\d+/);
    }
  });

  it('kafkajs 2.2.4 produces to and consumes from the Kafka 4 broker across partitions', async () => {
    const topic = uniqueName('smoke_roundtrip');
    await createTopics([topic], 3);
    await produce(
      topic,
      Array.from({ length: 9 }, (_, i) => ({
        key: `k${i}`,
        value: i === 8 ? null : JSON.stringify({ n: i }),
        partition: i % 3,
        headers: { seq: String(i) },
      })),
    );
    const messages = await readAll(topic, { expect: 9 });
    expect(messages.map((m) => m.partition)).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2]);
    const byKey = new Map(messages.map((m) => [m.key?.toString(), m]));
    expect(byKey.size).toBe(9);
    expect(JSON.parse(String(byKey.get('k4')?.value))).toEqual({ n: 4 });
    expect(byKey.get('k8')?.value).toBeNull();
    expect(String(byKey.get('k5')?.headers.seq)).toBe('5');
  });

  it('streams insert, update, delete and the tombstone with the schema+payload envelope', async () => {
    await pool.query(`INSERT INTO "${schema}".items VALUES (1, 'apple', 3), (2, 'pear', 5)`);
    await pool.query(`UPDATE "${schema}".items SET name = 'green apple', qty = 4 WHERE id = 1`);
    await pool.query(`DELETE FROM "${schema}".items WHERE id = 2`);

    const messages = await readAll(`${name}.${schema}.items`, { expect: 5 });
    expect(messages).toHaveLength(5);
    const [c1, c2, u, d, tombstone] = messages;
    for (const m of [c1, c2, u, d]) {
      const env = envelope(m);
      expect(env.schema.type).toBe('struct');
      expect(env.schema.name).toBe(`${name}.${schema}.items.Envelope`);
      expect(env.schema.fields.map((f) => f.field)).toEqual(
        expect.arrayContaining(['before', 'after', 'source', 'op', 'ts_ms']),
      );
      expect(env.payload.source).toMatchObject({ connector: 'postgresql', schema, table: 'items' });
    }
    expect(envelope(c1).payload).toMatchObject({ op: 'c', before: null, after: { id: 1, name: 'apple', qty: 3 } });
    expect(envelope(c2).payload).toMatchObject({ op: 'c', before: null, after: { id: 2, name: 'pear', qty: 5 } });
    expect(envelope(u).payload).toMatchObject({
      op: 'u',
      before: { id: 1, name: 'apple', qty: 3 },
      after: { id: 1, name: 'green apple', qty: 4 },
    });
    expect(envelope(d).payload).toMatchObject({ op: 'd', before: { id: 2, name: 'pear', qty: 5 }, after: null });
    expect(keyPayload(u)).toEqual({ id: 1 });
    expect(keyPayload(d)).toEqual({ id: 2 });
    expect(tombstone.value).toBeNull();
    expect(keyPayload(tombstone)).toEqual({ id: 2 });
    // Debezium's source position grows monotonically within the stream.
    expect(BigInt(String(envelope(d).payload.source.lsn))).toBeGreaterThan(
      BigInt(String(envelope(c1).payload.source.lsn)),
    );
  });

  it('captures a wide set of column types, infinity timestamps and the unchanged-TOAST placeholder', async () => {
    await pool.query(`INSERT INTO "${schema}".wide VALUES (${WIDE_ROW_FULL})`);
    await pool.query(`INSERT INTO "${schema}".wide VALUES (${WIDE_ROW_INFINITY})`);
    await pool.query(`UPDATE "${schema}".wide SET c_int4 = c_int4 + 1 WHERE id = 1`);
    await pool.query(`DELETE FROM "${schema}".wide WHERE id = 2`);

    const messages = await readAll(`${name}.${schema}.wide`, { expect: 5 });
    const ops = messages.map((m) => (m.value === null ? 'tombstone' : envelope(m).payload.op));
    expect(ops).toEqual(['c', 'c', 'u', 'd', 'tombstone']);
    const [full, infinity, update] = messages.map((m) => (m.value === null ? null : envelope(m).payload));
    expect(full?.after?.c_big).toBe(BIG_TEXT);
    expect(full?.after).toMatchObject({ c_int2: -12, c_bool: true, c_varchar: 'varchar value', c_uuid: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11' });
    expect(update?.after?.c_big).toBe('__debezium_unavailable_value');
    // Default replica identity: no old row on update, only the key columns on delete.
    expect(update?.before).toBeNull();
    expect(messages[3].value && envelope(messages[3]).payload.before).toMatchObject({ id: 2, c_tstz: null });
    expect(update?.after?.c_int4).toBe((full?.after?.c_int4 as number) + 1);
    expect(infinity?.after?.c_tstz).toBe('infinity');
    expect(infinity?.after?.c_ts).toEqual(expect.any(Number));

    maybeCaptureFixtures(messages, 'wide');
    const items = await readAll(`${name}.${schema}.items`, { expect: 5 });
    maybeCaptureFixtures(items, 'items');
  });
});
