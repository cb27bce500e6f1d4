/** Issue 12, pure parts: per-record errors (decode, buffer, key), rejected rows, and what they say. */
import { DataError, FatalError } from '../../../src/kernel/errors';
import { classifyError } from '../../../src/kernel/classify';
import { UNAVAILABLE, type ColumnSpec, type Row, type TableBatch } from '../../../src/kernel/types';
import { BufferSet, TableBuffer } from '../../../src/buffer';
import { Decoder } from '../../../src/decode/decoder';
import { onlyRow, splitBatch, type RejectedRow } from '../../../src/sink/isolate';
import { IncompatibleTypeError } from '../../../src/sink/schema/checks';
import { describeRejection, rejectedLetter, rejectionReason } from '../../../src/sink/rejection';
import { TARGET, col, create, ev } from '../buffer/events';

const POS = { topic: 'shop.public.orders', partition: 2, offset: '17' };
const raw = (value: Buffer | string | null, key: Buffer | string | null = '{"id":1}') => ({
  topic: POS.topic, partition: POS.partition, offset: POS.offset, timestampMs: 0,
  key: key === null ? null : Buffer.isBuffer(key) ? key : Buffer.from(key),
  value: value === null ? null : Buffer.isBuffer(value) ? value : Buffer.from(value),
});

describe('decode: bytes that are not JSON', () => {
  const dec = new Decoder({ topicPrefix: 'shop' });
  const cases: [string, Buffer | string, Buffer | string | null][] = [
    ['NUL bytes in the value', Buffer.from('{"id":1,\u0000\u0000"x"}'), '{"id":1}'],
    ['a Confluent wire-format (Avro) value', Buffer.from([0x00, 0x00, 0x00, 0x00, 0x2a, 0x02, 0x06, 0x66, 0x6f, 0x6f]), '{"id":1}'],
    ['key bytes ff 00 7b', '{"op":"c","after":{"id":1},"source":{"schema":"public","table":"orders"}}', Buffer.from([0xff, 0x00, 0x7b])],
  ];
  for (const [what, value, key] of cases) {
    it(`${what}: a DataError with the record's position and a message free of NUL`, () => {
      let err: unknown;
      try {
        dec.decode(raw(value, key));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DataError);
      expect((err as DataError).where).toEqual(POS);
      expect((err as Error).message).not.toContain('\u0000');
      expect((err as Error).message).toContain('(topic shop.public.orders, partition 2, offset 17)');
      expect(classifyError(err)).toBe('data');
    });
  }
  it('a schemaless value or key nested 100 000 levels deep is a DataError, not a stack overflow that stops the worker', () => {
    const n = 100_000;
    const deepValue = '{"op":"c","after":{"id":1,"name":' + '{"a":'.repeat(n) + '1' + '}'.repeat(n) + '},"source":{"schema":"public","table":"orders"}}';
    expect(() => dec.decode(raw(deepValue))).toThrow(DataError);
    expect(() => dec.decode(raw(deepValue))).toThrow(/value: it is nested too deeply/);
    expect(() => dec.decode(raw('{"id":1}', '{"id":' + '['.repeat(n) + ']'.repeat(n) + '}'))).toThrow(/key: it is nested too deeply/);
  });
  it('says what Confluent wire format is and what to configure', () => {
    expect(() => dec.decode(raw(Buffer.from([0, 0, 0, 1, 0x2c, 2, 3, 4])))).toThrow(/schema id 300: Confluent Schema Registry wire format.*JsonConverter/);
  });
});

describe('buffer: a merge row without its key columns', () => {
  it('{"hello":"world"} flattened, keyed by id: a per-record DataError at buffer time naming table, column and record', () => {
    const b = new TableBuffer(TARGET, 'merge', ['id']);
    b.add(create({ id: '1', name: 'a', note: null }), 0);
    const bad = ev('c', { key: { id: '9' }, after: { hello: 'world' }, columns: [col('hello')] });
    let err: unknown;
    try {
      b.add(bad, 1);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DataError);
    expect((err as DataError).where).toEqual(bad.pos);
    expect((err as Error).message).toMatch(/cannot merge into analytics\.orders: the row of this op 'c' event has no value for key column\(s\) "id" \(it holds "hello"\)/);
    expect((err as Error).message).toContain(`offset ${bad.pos.offset}`);
    // nothing of the bad event is held; the good one still is
    const batch = b.drain();
    expect(batch.upserts).toEqual([{ id: '1', name: 'a', note: null }]);
  });

  it('the same through BufferSet, and the unchanged-TOAST placeholder in a key column counts as missing', () => {
    const s = new BufferSet({ maxRows: 10, maxBytes: 1e9, maxAgeMs: 1000 });
    expect(() => s.add(TARGET, 'merge', ['id'], ev('u', { key: { id: '3' }, after: { name: 'x' } }), 0)).toThrow(DataError);
    expect(s.events).toBe(0);
  });
});

describe('isolation: a piece is checked against its own rows', () => {
  const intCols: ColumnSpec[] = [{ name: 'id', pgType: 'integer', optional: false, connectType: 'int32' }, { name: 'qty', pgType: 'integer', optional: true, connectType: 'int32' }];
  const txtCols: ColumnSpec[] = [intCols[0]!, { name: 'qty', pgType: 'text', optional: true, connectType: 'string' }];
  const batch = (): TableBatch => {
    const b = new TableBuffer(TARGET, 'merge', ['id']);
    b.add(ev('c', { key: { id: '1' }, after: { id: '1', qty: '1' }, columns: intCols }), 0);
    b.add(ev('c', { key: { id: '2' }, after: { id: '2', qty: '2' }, columns: intCols }), 0);
    b.add(ev('c', { key: { id: '3' }, after: { id: '3', qty: 'many' }, columns: txtCols }), 0);
    return b.drain();
  };
  it('the whole batch has the newest type; a piece of older rows has its own', () => {
    const b = batch();
    expect(b.columns.find((c) => c.name === 'qty')!.pgType).toBe('text');
    expect(b.upsertColumns).toEqual([intCols, intCols, txtCols]);
    const [a, c] = splitBatch(b);
    expect(a.upserts).toEqual([{ id: '1', qty: '1' }]);
    expect(a.columns.find((x) => x.name === 'qty')!.pgType).toBe('integer');
    const [c1, c2] = splitBatch(c);
    expect(c1.columns.find((x) => x.name === 'qty')!.pgType).toBe('integer');
    expect(c2.columns.find((x) => x.name === 'qty')!.pgType).toBe('text');
  });
  it('each piece keeps the old key of its own moved rows (upsertFrom is cut with the upserts)', () => {
    const b = new TableBuffer(TARGET, 'merge', ['id']);
    b.add(ev('c', { key: { id: '1' }, after: { id: '1', qty: '1' }, columns: intCols }), 0);
    b.add(ev('d', { key: { id: '9' }, before: { id: '9' }, columns: intCols }), 0);
    b.add({ ...ev('c', { key: { id: '2' }, after: { id: '2', qty: UNAVAILABLE }, columns: intCols }), movedFrom: { id: '9' } }, 0);
    const whole = b.drain();
    expect(whole.upsertFrom).toEqual([undefined, { id: '9' }]);
    const [a, c] = splitBatch(whole);
    expect([...a.deletes, ...a.upserts]).toEqual([{ id: '9' }]);
    const [c1, c2] = splitBatch(c);
    expect(c1.upserts).toEqual([{ id: '1', qty: '1' }]);
    expect(c1.upsertFrom).toEqual([undefined]);
    expect(c2.upserts).toEqual([{ id: '2', qty: UNAVAILABLE }]);
    expect(c2.upsertFrom).toEqual([{ id: '9' }]);
  });
  it('onlyRow carries the event columns and the target types', () => {
    const [, c] = splitBatch(batch());
    const [, last] = splitBatch(c);
    const info = { columns: [{ name: 'id', type: 'integer', notNull: true, hasDefault: false }, { name: 'qty', type: 'integer', notNull: false, hasDefault: false }] };
    const r = onlyRow(last, '"analytics"."orders"', new Error('x'), info as never);
    expect(r.pos?.offset).toBeDefined();
    expect(r.eventColumns).toBe(txtCols);
    expect(r.targetTypes?.get('qty')).toBe('integer');
  });
});

describe('describeRejection / rejectedLetter', () => {
  const pgError = (message: string, fields: Record<string, unknown>): Error => Object.assign(new Error(message), { severity: 'ERROR', ...fields });
  const row: Row = { id: '5', qty: 'many', note: 'a\u0000b' };
  const base = (error: Error, extra: Partial<RejectedRow> = {}): RejectedRow => ({
    table: '"analytics"."orders"', pos: POS, op: 'upsert', row, error, ...extra,
  });

  it('none + int32 column now arriving as string: names topic, partition, offset, table, column, old and new type', () => {
    const err = new IncompatibleTypeError('"analytics"."orders"', 'qty', 'integer', 'text');
    const msg = describeRejection(base(err));
    expect(msg).toContain('topic shop.public.orders, partition 2, offset 17');
    expect(msg).toContain('"analytics"."orders"');
    expect(msg).toContain('column "qty"');
    expect(msg).toMatch(/incompatible change for "analytics"\."orders": column "qty" is integer in the target but the events now carry text/);
    expect(msg).toContain('old type integer, new type text');
    expect(msg).toMatch(/stopped before this record/);
  });

  it('a PostgreSQL rejection during COPY: column from the COPY context, message, SQLSTATE, and the type change from the row\'s schema', () => {
    const err = pgError('invalid input syntax for type integer: "many"', { code: '22P02', where: 'COPY nilus_stage_3_u, line 1, column qty: "many"' });
    const r = base(err, {
      eventColumns: [{ name: 'id', pgType: 'integer', optional: false, connectType: 'int32' }, { name: 'qty', pgType: 'text', optional: true, connectType: 'string' }],
      targetTypes: new Map([['id', 'integer'], ['qty', 'integer']]),
    });
    const msg = describeRejection(r);
    expect(msg).toContain('offset 17');
    expect(msg).toContain('column "qty"');
    expect(msg).toContain('invalid input syntax for type integer: "many" (SQLSTATE 22P02)');
    expect(msg).toContain('old type integer, new type text');
  });

  it('not-null: the column pg reports; no type change when the types agree', () => {
    const err = pgError('null value in column "qty" of relation "orders" violates not-null constraint', { code: '23502', column: 'qty' });
    const msg = describeRejection(base(err, { eventColumns: [{ name: 'qty', pgType: 'integer', optional: true, connectType: 'int32' }], targetTypes: new Map([['qty', 'integer']]) }));
    expect(msg).toContain('column "qty"');
    expect(msg).toContain('(SQLSTATE 23502)');
    expect(msg).not.toContain('incompatible');
  });

  it('a column found from the value the message quotes, when only one column holds it', () => {
    const err = pgError('value too long for type character varying(2): "many"', { code: '22001' });
    expect(rejectionReason(base(err))).toContain('(column "qty")');
  });

  it('a check constraint (no column): still topic/partition/offset/table/SQLSTATE', () => {
    const err = pgError('new row for relation "orders" violates check constraint "orders_status_check"', { code: '23514' });
    const msg = describeRejection(base(err, { pos: undefined }));
    expect(msg).toContain('unknown position');
    expect(msg).toMatch(/"analytics"\."orders" rejected the upsert: new row .* \(SQLSTATE 23514\)/);
  });

  it('the dead letter of a rejected row: JSON value (NUL escaped), reason with column and SQLSTATE, never a NUL byte', () => {
    const err = pgError('invalid byte sequence for encoding "UTF8": 0x00', { code: '22021', where: 'COPY nilus_stage_1_u, line 1, column note' });
    const d = rejectedLetter(base(err));
    expect(d).toMatchObject({ topic: POS.topic, partition: 2, offset: '17', key: null, errorClass: 'data' });
    expect(d.value!.includes(0)).toBe(false);
    expect(JSON.parse(d.value!.toString())).toEqual(row);
    expect(d.reason).toContain('(SQLSTATE 22021)');
    expect(d.reason).not.toContain('\u0000');
  });
});

describe('classify: a dead-letter sink that is unreachable is an outage', () => {
  it('a kafkajs non-retriable wrapper around a lost connection is retriable', () => {
    const conn = Object.assign(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:9092'), { name: 'KafkaJSConnectionError', retriable: true });
    const wrapped = Object.assign(new Error('Connection error'), { name: 'KafkaJSNonRetriableError', retriable: false, cause: conn });
    expect(classifyError(wrapped)).toBe('retriable');
    const lostPg = new Error('Connection terminated unexpectedly');
    expect(classifyError(lostPg)).toBe('retriable');
    expect(classifyError(Object.assign(new Error('x'), { name: 'KafkaJSNonRetriableError', retriable: false }))).toBe('fatal');
  });
});

describe('PgTableDeadLetterSink.send: a failure is an outage or a fault of the sink, never poison', () => {
  const sinkWith = async (fail: Error) => {
    const { PgTableDeadLetterSink } = await import('../../../src/deadletter/table-sink');
    const query = async (sql: string) => {
      // init: BEGIN, the advisory lock, CREATE TABLE IF NOT EXISTS, COMMIT, then the column check.
      if (/^(BEGIN|COMMIT|ROLLBACK|SELECT pg_advisory_xact_lock|CREATE TABLE)/.test(sql)) return { rows: [] };
      if (sql.startsWith('SELECT attname')) {
        return { rows: ['id', 'topic', 'partition', 'kafka_offset', 'value_text', 'reason', 'error_class', 'created_at'].map((attname) => ({ attname, type: 'text' }))
          .concat([{ attname: 'key', type: 'bytea' }, { attname: 'value', type: 'bytea' }]) };
      }
      throw fail;
    };
    const pool = { connect: async () => ({ query, release: () => undefined }), query };
    const sink = new PgTableDeadLetterSink({ pool: pool as never, table: { schema: 'ops', table: 'dlq' } });
    await sink.init();
    return sink;
  };
  const letter = { topic: 't', partition: 0, offset: '1', key: null, value: Buffer.from([0]), reason: 'r', errorClass: 'data' };

  it('a data-class failure of the insert becomes a FatalError (never dead-lettering the dead letters)', async () => {
    const sink = await sinkWith(Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), { code: '22021', severity: 'ERROR' }));
    const err = await sink.send([letter]).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(FatalError);
    expect(classifyError(err)).toBe('fatal');
    expect((err as Error).message).toMatch(/writing 1 dead letter\(s\) to "ops"\."dlq" failed/);
  });

  it('a lost connection passes through as retriable', async () => {
    const sink = await sinkWith(new Error('Connection terminated unexpectedly'));
    const err = await sink.send([letter]).then(() => undefined, (e: unknown) => e);
    expect(classifyError(err)).toBe('retriable');
  });
});
