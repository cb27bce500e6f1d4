import type { Pool } from 'pg';
import { ConfigError } from '../../../src/kernel/errors';
import { classifyError } from '../../../src/kernel/classify';
import { createDeadLetterSink } from '../../../src/deadletter/factory';
import { PgTableDeadLetterSink } from '../../../src/deadletter/table-sink';
import type { DeadLetter } from '../../../src/engine/ports';
import { createTestSchema, dropTestSchema, newPool, uniqueName } from '../../helpers/pg';

const bad = (offset: string, value: Buffer | null, key: Buffer | null = Buffer.from('{"id":1}')): DeadLetter => ({
  topic: 'cdc.retail.orders',
  partition: 2,
  offset,
  key,
  value,
  reason: 'column "amount": "12,50" is not a valid numeric',
  errorClass: 'data',
});

interface DlRow {
  topic: string;
  partition: number;
  kafka_offset: string;
  key: Buffer | null;
  value: Buffer | null;
  value_text: string | null;
  reason: string;
  error_class: string;
  created_at: Date;
}

describe('PostgreSQL dead-letter table (real PostgreSQL)', () => {
  let pool: Pool;
  let schema: string;
  let failed = false;

  beforeAll(async () => {
    pool = newPool();
    schema = await createTestSchema(pool, 'dl');
  });
  afterEach(() => {
    const state = (expect as unknown as { getState(): { assertionCalls: number; numPassingAsserts: number } }).getState();
    if (state.numPassingAsserts < state.assertionCalls) failed = true;
  });
  afterAll(async () => {
    // Keep the schema of a failed run for inspection.
    if (!failed) await dropTestSchema(pool, schema);
    await pool.end();
  });

  const rows = async (table: string) =>
    (await pool.query<DlRow>(`SELECT * FROM "${schema}"."${table}" ORDER BY id`)).rows;

  test('creates the table (mixed-case name) and stores raw bytes, readable text, reason and class', async () => {
    const table = 'Dead_Letters';
    const sink = createDeadLetterSink({ kind: 'table', table: { schema, table } }, { pool })!;
    await sink.init();
    await sink.init(); // idempotent
    const binary = Buffer.from([0x00, 0xff, 0xfe, 0x41]);
    const json = Buffer.from('{"after":{"id":1,"amount":"12,50","note":"ünïcødé"}}');
    await sink.send([bad('9007199254740993', json), bad('17', binary, null), bad('18', null)]);
    await sink.send([]);
    const got = await rows(table);
    expect(got).toHaveLength(3);
    expect(got[0]).toMatchObject({
      topic: 'cdc.retail.orders',
      partition: 2,
      kafka_offset: '9007199254740993',
      value_text: json.toString('utf8'),
      reason: 'column "amount": "12,50" is not a valid numeric',
      error_class: 'data',
    });
    expect(got[0]!.value!.equals(json)).toBe(true);
    expect(got[0]!.key!.toString()).toBe('{"id":1}');
    expect(got[1]!.value!.equals(binary)).toBe(true);
    expect(got[1]!.value_text).toBeNull();
    expect(got[1]!.key).toBeNull();
    expect(got[2]!.value).toBeNull();
    expect(got[0]!.created_at).toBeInstanceOf(Date);
    await sink.close();
  });

  test('inside a transaction the dead letters commit or roll back with it', async () => {
    const table = uniqueName('dlq');
    const sink = new PgTableDeadLetterSink({ pool, table: { schema, table } });
    await sink.init();
    const tx = await pool.connect();
    try {
      await tx.query('BEGIN');
      await sink.send([bad('1', Buffer.from('x'))], tx);
      // Not visible outside the transaction before COMMIT.
      expect(await rows(table)).toHaveLength(0);
      await tx.query('ROLLBACK');
      expect(await rows(table)).toHaveLength(0);

      await tx.query('BEGIN');
      await sink.send([bad('2', Buffer.from('y'))], tx);
      await tx.query('COMMIT');
    } finally {
      tx.release();
    }
    expect((await rows(table)).map((r) => r.kafka_offset)).toEqual(['2']);
  });

  test('two replicas initialising at once both succeed', async () => {
    const table = uniqueName('race');
    const sinks = Array.from({ length: 4 }, () => new PgTableDeadLetterSink({ pool, table: { schema, table } }));
    await Promise.all(sinks.map((s) => s.init()));
    await sinks[3]!.send([bad('5', Buffer.from('z'))]);
    expect(await rows(table)).toHaveLength(1);
  });

  test('a missing schema or a foreign table with the same name is a ConfigError naming the field and the fix', async () => {
    const missing = new PgTableDeadLetterSink({ pool, table: { schema: uniqueName('nosuch'), table: 'dl' } });
    await expect(missing.init()).rejects.toBeInstanceOf(ConfigError);
    await expect(missing.init()).rejects.toThrow(/^errors\.deadLetter\.table: schema "nosuch_.*" does not exist; create it/);

    await pool.query(`CREATE TABLE "${schema}"."orders" (id int primary key, topic text)`);
    const clash = new PgTableDeadLetterSink({ pool, table: { schema, table: 'orders' } });
    await expect(clash.init()).rejects.toThrow(/is not a dead-letter table: missing column\(s\) partition, kafka_offset, key, value, value_text, reason, error_class/);
  });

  test('any bytes and any reason: NUL, Confluent wire format, key ff 00 7b, lone surrogates are stored without failing', async () => {
    const table = uniqueName('hostile');
    const sink = new PgTableDeadLetterSink({ pool, table: { schema, table } });
    await sink.init();
    const avro = Buffer.from([0x00, 0x00, 0x00, 0x00, 0x2a, 0x02, 0x06, 0x66, 0x6f, 0x6f]);
    const nulJson = Buffer.from('{"a":"x\u0000y"}\u0000');
    const key = Buffer.from([0xff, 0x00, 0x7b]);
    await sink.send([
      { ...bad('1', avro, key), reason: 'value is not valid JSON: Unexpected token \u0000, "\u0000\u0000" is not valid JSON' },
      { ...bad('2', nulJson), reason: 'cut in half \uD800 here', errorClass: 'Data\u0000Error' },
    ]);
    const got = await rows(table);
    expect(got).toHaveLength(2);
    expect(got[0]!.value!.equals(avro)).toBe(true);
    expect(got[0]!.key!.equals(key)).toBe(true);
    expect(got[0]!.reason).toBe('value is not valid JSON: Unexpected token \\u0000, "\\u0000\\u0000" is not valid JSON');
    expect(got[0]!.value_text).toBe('\\u0000\\u0000\\u0000\\u0000*\u0002\u0006foo');
    expect(got[1]!.value!.equals(nulJson)).toBe(true);
    expect(got[1]!.value_text).toBe('{"a":"x\\u0000y"}\\u0000');
    expect(got[1]!.reason).toBe('cut in half \uFFFD here');
    expect(got[1]!.error_class).toBe('Data\\u0000Error');
  });

  test('an existing dead-letter table whose key/value are text is refused at start-up with the migration', async () => {
    const table = uniqueName('oldtext');
    await pool.query(`CREATE TABLE "${schema}"."${table}" (id bigserial PRIMARY KEY, topic text NOT NULL, partition int NOT NULL, kafka_offset bigint NOT NULL,
      key text, value text, value_text text, reason text NOT NULL, error_class text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`);
    const sink = new PgTableDeadLetterSink({ pool, table: { schema, table } });
    const err = await sink.init().then(() => undefined, (e: Error) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.message).toMatch(/stores key as text, value as text, which cannot hold every record's bytes; convert it: ALTER TABLE .* ALTER COLUMN "key" TYPE bytea USING convert_to\("key", 'UTF8'\)/);
    // The migration it prints works and keeps the content.
    await pool.query(`INSERT INTO "${schema}"."${table}" (topic, partition, kafka_offset, key, value, reason, error_class) VALUES ('t', 0, 1, '{"id":1}', 'v', 'r', 'data')`);
    for (const stmt of err!.message.split('convert it: ')[1]!.split('; ')) await pool.query(stmt);
    await sink.init();
    await sink.send([bad('9', Buffer.from([0, 1, 2]))]);
    const got = await rows(table);
    expect(got[0]!.key!.toString()).toBe('{"id":1}');
    expect(got[1]!.value!.equals(Buffer.from([0, 1, 2]))).toBe(true);
  });

  test('a connection lost while sending is an outage (retriable), never a data error', async () => {
    const table = uniqueName('lost');
    const sink = new PgTableDeadLetterSink({ pool, table: { schema, table } });
    await sink.init();
    const tx = await pool.connect();
    const pid = (await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    tx.on('error', () => undefined);
    await pool.query('SELECT pg_terminate_backend($1)', [pid]);
    const err = await sink.send([bad('3', Buffer.from('x'))], tx).then(() => undefined, (e: unknown) => e);
    tx.release(true);
    expect(err).toBeDefined();
    expect(classifyError(err)).toBe('retriable');
  });

  test('send before init and a non-decimal offset are refused', async () => {
    const sink = new PgTableDeadLetterSink({ pool, table: { schema, table: uniqueName('x') } });
    await expect(sink.send([bad('1', null)])).rejects.toThrow(/before init/);
    await sink.init();
    await expect(sink.send([bad('12abc', null)])).rejects.toThrow(/decimal string/);
  });
});
