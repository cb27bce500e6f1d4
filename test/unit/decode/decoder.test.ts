import { DataError } from '../../../src/kernel/errors';
import { UNAVAILABLE } from '../../../src/kernel/types';
import { Decoder } from '../../../src/decode/decoder';
import { envelope, fixture, rec, struct } from './helpers';

const dec = () => new Decoder({ topicPrefix: 'shop' });
const SRC = { schema: 'public', table: 'orders', ts_ms: 1700000000000, lsn: 24023128, snapshot: 'false' };
const ROW = struct([
  ['id', 'int64'],
  ['amount', 'bytes', 'org.apache.kafka.connect.data.Decimal', { scale: '2' }],
  ['at', 'int64', 'io.debezium.time.MicroTimestamp'],
]);
const KEY = JSON.stringify({ schema: struct([['id', 'int64']]), payload: { id: 7 } });

describe('JsonConverter with schemas', () => {
  it('decodes a real-shaped update fixture: values, key, table, source position', () => {
    const ev = dec().decode(rec(fixture('pg-envelope-update.json'), fixture('pg-key.json')))!;
    expect(ev.op).toBe('u');
    expect(ev.table).toEqual({ schema: 'public', table: 'orders' });
    expect(ev.key).toEqual({ id: '7' });
    expect(ev.keyColumns).toEqual(['id']);
    expect(ev.before).toEqual({ id: '7', amount: '123.67', created_at: '2024-02-29 10:00:00.123456', note: 'old', tags: '{a}' });
    expect(ev.after).toEqual({
      id: '7', amount: '-1.21', created_at: '2024-02-29 10:00:00.123456', note: UNAVAILABLE, tags: '{"a,b","NULL",NULL,"q\\"x\\\\y",""}',
    });
    expect(ev.columns.map((c) => [c.name, c.pgType, c.optional])).toEqual([
      ['id', 'bigint', false], ['amount', 'numeric(12,2)', true], ['created_at', 'timestamp', true], ['note', 'text', true], ['tags', 'text[]', true],
    ]);
    expect(ev.columns[1]!.logical).toBe('org.apache.kafka.connect.data.Decimal');
    expect(ev.source).toEqual({ lsn: 24023128n, tsMs: 1709200801000, eventTsMs: 1709200801234, snapshot: 'false' });
    expect(ev.pos.topic).toBe('shop.public.orders');
    // Not compact JsonConverter output (the fixture is indented): counted whole.
    expect(ev.bytes).toBe(Buffer.byteLength(fixture('pg-envelope-update.json')) + Buffer.byteLength(fixture('pg-key.json')));
  });

  it('counts the same bytes for a payload however large its schema, and the whole message without a compact envelope', () => {
    const payload = { before: null, after: { id: 1, amount: 'AQ==', at: 0 }, source: SRC, op: 'c', ts_ms: 1 };
    const small = dec().decode(rec(envelope(ROW, payload), KEY))!;
    const docRow = { ...ROW, doc: 'x'.repeat(5000) };
    const large = dec().decode(rec(envelope(docRow, payload), KEY))!;
    expect(large.bytes).toBe(small.bytes);
    expect(small.bytes).toBe(Buffer.byteLength(JSON.stringify(payload)) + Buffer.byteLength('{"id":7}'));
    const spaced = JSON.stringify({ schema: ROW, payload }, null, 1);
    expect(dec().decode(rec(spaced, KEY))!.bytes).toBe(Buffer.byteLength(spaced) + Buffer.byteLength('{"id":7}'));
  });

  it('shares one columns array (and key columns) across messages with an equal schema', () => {
    const d = dec();
    const a = d.decode(rec(envelope(ROW, { before: null, after: { id: 1, amount: 'AQ==', at: 0 }, source: SRC, op: 'c', ts_ms: 1 }), KEY))!;
    const b = d.decode(rec(envelope(ROW, { before: null, after: { id: 2, amount: null, at: null }, source: SRC, op: 'r', ts_ms: 2 }), KEY))!;
    expect(a.columns).toBe(b.columns);
    expect(a.keyColumns).toBe(b.keyColumns);
    expect(b.after).toEqual({ id: '2', amount: null, at: null });
    const other = d.decode(rec(envelope(struct([['id', 'int64']]), { after: { id: 3 }, source: SRC, op: 'c' })))!;
    expect(other.columns).not.toBe(a.columns);
  });

  it('handles delete (before only), truncate (no rows) and snapshot reads', () => {
    const d = dec();
    const del = d.decode(rec(envelope(ROW, { before: { id: 1, amount: null, at: null }, after: null, source: SRC, op: 'd' }), KEY))!;
    expect(del.op).toBe('d');
    expect(del.after).toBeNull();
    expect(del.before).toEqual({ id: '1', amount: null, at: null });
    const t = d.decode(rec(envelope(ROW, { before: null, after: null, source: SRC, op: 't', ts_ms: 5 })))!;
    expect(t.op).toBe('t');
    expect([t.before, t.after, t.key]).toEqual([null, null, null]);
    expect(t.table).toEqual({ schema: 'public', table: 'orders' });
  });

  it('returns null for tombstones (null value, or null payload)', () => {
    expect(dec().decode(rec(null, KEY))).toBeNull();
    expect(dec().decode(rec({ schema: null, payload: null }, KEY))).toBeNull();
  });

  it('accepts non-compact JSON (whitespace, other key order)', () => {
    const text = JSON.stringify({ payload: { after: { id: 5, amount: 'AQ==', at: 1 }, source: SRC, op: 'c' }, schema: JSON.parse(envelope(ROW, {})).schema }, null, 2);
    const ev = dec().decode(rec(text))!;
    expect(ev.after).toEqual({ id: '5', amount: '0.01', at: '1970-01-01 00:00:00.000001' });
  });

  it('keeps 64-bit ids and LSNs exact', () => {
    const text = envelope(struct([['id', 'int64']]), { after: { id: 0 }, source: { ...SRC, lsn: 0 }, op: 'c' })
      .replace('"after":{"id":0}', '"after":{"id":9223372036854775807}')
      .replace('"lsn":0', '"lsn":18446744073709551615');
    const ev = dec().decode(rec(text))!;
    expect(ev.after).toEqual({ id: '9223372036854775807' });
    expect(ev.source.lsn).toBe(18446744073709551615n);
  });
});

describe('schemaless JSON (schemas.enable=false)', () => {
  it('infers types and reads plain-object keys', () => {
    const d = dec();
    const v = { before: null, after: { id: 1, price: 2.5, name: 'x', ok: true, meta: { a: [1] }, n: null, big: 0 }, source: SRC, op: 'c', ts_ms: 9 };
    const text = JSON.stringify(v).replace('"big":0', '"big":12345678901234567890');
    const ev = d.decode(rec(text, { id: 1 }))!;
    expect(ev.after).toEqual({ id: '1', price: '2.5', name: 'x', ok: 't', meta: '{"a":[1]}', n: null, big: '12345678901234567890' });
    expect(ev.columns.map((c) => c.pgType)).toEqual(['bigint', 'numeric', 'text', 'boolean', 'jsonb', 'text', 'numeric']);
    expect(ev.key).toEqual({ id: '1' });
    expect(ev.keyColumns).toEqual(['id']);
    const again = d.decode(rec(JSON.stringify(v), { id: 1 }))!;
    expect(again.columns).not.toBe(ev.columns); // big became bigint: another shape
    expect(d.decode(rec(JSON.stringify(v), { id: 2 }))!.columns).toBe(again.columns);
  });
});

describe('big integers stay exact', () => {
  it('inside schemaless jsonb, schema structs, int64 keys and MongoDB documents', () => {
    const d = dec();
    const value = '{"after":{"id":1,"doc":{"n":12345678901234567890,"f":1.5}},"source":{"schema":"s","table":"t"},"op":"c"}';
    const ev = d.decode(rec(value, '{"id":9007199254740993}'))!;
    expect(ev.after!.doc).toBe('{"n":12345678901234567890,"f":1.5}');
    expect(ev.key).toEqual({ id: '9007199254740993' });
    const schema = struct([['id', 'int64'], ['geo', 'struct']]);
    const withSchema = `{"schema":${JSON.stringify(schema)},"payload":{"id":1,"geo":{"x":9007199254740993}}}`;
    expect(d.decode(rec(withSchema))!.after).toEqual({ id: '1', geo: '{"x":9007199254740993}' });
    const mongo = { after: '{"_id": 9007199254740993, "a": {"b": 9007199254740995}}', source: { connector: 'mongodb', db: 'd', collection: 'c' }, op: 'c' };
    const m = d.decode(rec(mongo, { id: '9007199254740993' }))!;
    expect(m.after).toEqual({ _id: '9007199254740993', a: '{"b":9007199254740995}' });
    expect(m.key).toEqual({ _id: '9007199254740993' });
  });
});

describe('ExtractNewRecordState-flattened values', () => {
  it('strips __ metadata and uses it for op, source and table (schemaless)', () => {
    const ev = dec().decode(rec({ id: 4, name: 'n', __deleted: 'false', __op: 'u', __table: 'items', __schema: 'inv', __lsn: 77, __source_ts_ms: 1234 }, { id: 4 }))!;
    expect(ev.op).toBe('u');
    expect(ev.after).toEqual({ id: '4', name: 'n' });
    expect(ev.columns.map((c) => c.name)).toEqual(['id', 'name']);
    expect(ev.table).toEqual({ schema: 'inv', table: 'items' });
    expect(ev.source).toEqual({ lsn: 77n, tsMs: 1234 });
  });
  it('__deleted "true" → delete with the row as before; table from topic when absent', () => {
    const ev = dec().decode(rec({ id: 4, name: 'n', __deleted: 'true' }, { id: 4 }, 'shop.sales.orders'))!;
    expect(ev.op).toBe('d');
    expect(ev.before).toEqual({ id: '4', name: 'n' });
    expect(ev.after).toBeNull();
    expect(ev.table).toEqual({ schema: 'sales', table: 'orders' });
  });
  it('with a schema: metadata fields are not columns', () => {
    const schema = struct([['id', 'int64'], ['d', 'int32', 'io.debezium.time.Date'], ['__deleted', 'string'], ['__op', 'string']], 'shop.public.orders.Value');
    const ev = dec().decode(rec(JSON.stringify({ schema, payload: { id: 1, d: 19782, __deleted: 'false', __op: 'c' } })))!;
    expect(ev.op).toBe('c');
    expect(ev.after).toEqual({ id: '1', d: '2024-02-29' });
    expect(ev.columns.map((c) => c.name)).toEqual(['id', 'd']);
  });
});

describe('MongoDB events', () => {
  it('flattens extended JSON into columns with _id as the key', () => {
    const ev = new Decoder({ topicPrefix: 'orders_cdc' }).decode(rec(fixture('mongo-update.json'), fixture('mongo-key.json'), 'orders_cdc.retail.orders'))!;
    expect(ev.table).toEqual({ schema: 'retail', table: 'orders' });
    expect(ev.key).toEqual({ _id: '65a1b2c3d4e5f60718293a4b' });
    expect(ev.keyColumns).toEqual(['_id']);
    expect(ev.after).toEqual({
      _id: '65a1b2c3d4e5f60718293a4b', n: '9007199254740993', d: '2023-11-14 22:13:20+00', price: '12.50', name: 'x',
      addr: '{"city":"Oslo","at":"1970-01-01T00:00:00Z"}', tags: '[1,2]', ok: 't',
    });
    expect(ev.columns.map((c) => `${c.name}:${c.pgType}`)).toEqual([
      '_id:text', 'n:bigint', 'd:timestamptz', 'price:numeric', 'name:text', 'addr:jsonb', 'tags:jsonb', 'ok:boolean',
    ]);
    expect(ev.source.tsMs).toBe(1700000001000);
  });
  it("mongoMode 'jsonb' → _id + doc", () => {
    const ev = new Decoder({ topicPrefix: 'orders_cdc', mongoMode: 'jsonb' }).decode(rec(fixture('mongo-update.json'), fixture('mongo-key.json'), 'orders_cdc.retail.orders'))!;
    expect(Object.keys(ev.after!)).toEqual(['_id', 'doc']);
    expect(JSON.parse(ev.after!.doc as string)).toMatchObject({ _id: '65a1b2c3d4e5f60718293a4b', n: 9007199254740993, price: '12.50' });
    expect(ev.after!.doc).toContain('"n":9007199254740993');
    expect(ev.columns.map((c) => c.pgType)).toEqual(['text', 'jsonb']);
  });
  it('delete without a document takes the row from the key', () => {
    const value = { before: null, after: null, source: { connector: 'mongodb', db: 'retail', collection: 'orders' }, op: 'd' };
    const ev = new Decoder({ topicPrefix: 'orders_cdc' }).decode(rec(value, { id: '{"$numberLong": "42"}' }, 'orders_cdc.retail.orders'))!;
    expect(ev.op).toBe('d');
    expect(ev.key).toEqual({ _id: '42' });
    expect(ev.before).toEqual({ _id: '42' });
    expect(ev.columns.map((c) => `${c.name}:${c.pgType}`)).toEqual(['_id:bigint']);
  });
  it('flattened documents (ExtractNewDocumentState) map the {"id"} key to _id', () => {
    const ev = new Decoder({ topicPrefix: 'm' }).decode(rec({ _id: 5, name: 'a', __op: 'c' }, { id: '5' }, 'm.db.coll'))!;
    expect(ev.key).toEqual({ _id: '5' });
    expect(ev.keyColumns).toEqual(['_id']);
    expect(ev.after).toEqual({ _id: '5', name: 'a' });
  });
  it('update without a full document is a clear error', () => {
    const value = { after: null, patch: '{}', source: { connector: 'mongodb', db: 'r', collection: 'o' }, op: 'u', before: null };
    expect(() => new Decoder({ topicPrefix: 'x' }).decode(rec(value, { id: '1' }, 'x.r.o'))).toThrow(/capture.mode=change_streams_update_full/);
  });
});

describe('errors', () => {
  const d = dec();
  const err = (f: () => unknown): DataError => {
    try {
      f();
    } catch (e) {
      return e as DataError;
    }
    throw new Error('no error thrown');
  };
  it('bad JSON names the position', () => {
    const e = err(() => d.decode({ ...rec('{"op":'), offset: '42', partition: 3 }));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toMatch(/value is not valid JSON/);
    expect(e.message).toMatch(/topic shop.public.orders, partition 3, offset 42/);
    expect(e.where).toEqual({ topic: 'shop.public.orders', partition: 3, offset: '42' });
  });
  it('missing and unknown op', () => {
    expect(err(() => d.decode(rec({ before: null, after: { id: 1 }, source: SRC }))).message).toMatch(/no "op"; expected one of c, r, u, d, t/);
    expect(err(() => d.decode(rec({ after: { id: 1 }, source: SRC, op: 'x' }))).message).toMatch(/unknown op "x"/);
    expect(err(() => d.decode(rec({ __op: 'z', id: 1 }))).message).toMatch(/unknown op "z"/);
  });
  it('a value that does not fit its schema names the column and what was expected', () => {
    const e = err(() => d.decode(rec(envelope(ROW, { after: { id: 1, amount: 'AQ==', at: 'soon' }, source: SRC, op: 'c' }))));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toMatch(/after\.at \(io\.debezium\.time\.MicroTimestamp\): expected microseconds since the epoch, got string "soon"/);
  });
  it('create without after, non-object payload, bad key JSON, unknown topic', () => {
    expect(err(() => d.decode(rec({ after: null, source: SRC, op: 'c' }))).message).toMatch(/op "c" without "after"/);
    expect(err(() => d.decode(rec('[1,2]'))).message).toMatch(/expected a JSON object/);
    expect(err(() => d.decode(rec({ after: { id: 1 }, source: SRC, op: 'c' }, '{bad'))).message).toMatch(/key is not valid JSON/);
    expect(err(() => d.decode(rec({ id: 1 }, null, 'other.public.t'))).message).toMatch(/does not start with topic.prefix "shop\."/);
    expect(err(() => d.decode(rec({ id: 1 }, null, 'shop.a.b.c'))).message).toMatch(/cannot tell schema from table/);
  });
  it('bad options', () => {
    expect(() => new Decoder({ topicPrefix: '' })).toThrow(/topicPrefix/);
    expect(() => new Decoder({ topicPrefix: 'p', mongoMode: 'x' as 'jsonb' })).toThrow(/mongoMode/);
  });
});

describe('topic names', () => {
  it('prefix with dots; bare <prefix>.<table> means public', () => {
    const d = new Decoder({ topicPrefix: 'a.b' });
    expect(d.decode(rec({ id: 1 }, null, 'a.b.s.t'))!.table).toEqual({ schema: 's', table: 't' });
    expect(d.decode(rec({ id: 1 }, null, 'a.b.t'))!.table).toEqual({ schema: 'public', table: 't' });
  });
});

describe('primary-key change headers (Debezium __debezium.oldkey / __debezium.newkey)', () => {
  const keyOf = (id: number): string => JSON.stringify({ schema: struct([['id', 'int64']]), payload: { id } });
  const create = envelope(ROW, { before: null, after: { id: 8, amount: 'AQ==', at: 1 }, source: SRC, op: 'c', ts_ms: 1 });
  const del = envelope(ROW, { before: { id: 7, amount: null, at: null }, after: null, source: SRC, op: 'd', ts_ms: 1 });

  it('a create with the old-key header learns its old key, decoded by the key schema', () => {
    const ev = dec().decode({ ...rec(create, keyOf(8)), headers: { '__debezium.oldkey': Buffer.from('{"id":7}') } })!;
    expect(ev.key).toEqual({ id: '8' });
    expect(ev.movedFrom).toEqual({ id: '7' });
    expect(ev.moving).toBeUndefined();
  });

  it('a delete with the new-key header is marked as moving', () => {
    const ev = dec().decode({ ...rec(del, keyOf(7)), headers: { '__debezium.newkey': Buffer.from('{"id":8}') } })!;
    expect(ev.op).toBe('d');
    expect(ev.moving).toBe(true);
    expect(ev.movedFrom).toBeUndefined();
  });

  it('records without those headers, and an unreadable header, carry neither mark', () => {
    const plain = dec().decode({ ...rec(create, keyOf(8)), headers: { '__debezium.context.taskId': Buffer.from('0') } })!;
    expect(plain.movedFrom).toBeUndefined();
    expect(plain.moving).toBeUndefined();
    const bad = dec().decode({ ...rec(create, keyOf(8)), headers: { '__debezium.oldkey': Buffer.from('Struct{id=7}') } })!;
    expect(bad.movedFrom).toBeUndefined();
    expect(bad.after).toEqual({ id: '8', amount: '0.01', at: '1970-01-01 00:00:00.000001' });
  });
});

describe('a column named __proto__', () => {
  it('is an own property holding its value (with a schema, and schemaless), not the row\'s prototype', () => {
    const schema = struct([['id', 'int64'], ['__proto__', 'string'], ['v', 'string']]);
    const ev = dec().decode(rec(envelope(schema, { before: null, after: JSON.parse('{"id": 1, "__proto__": "x", "v": "y"}') as unknown, source: SRC, op: 'c', ts_ms: 1 }), KEY))!;
    expect(Object.prototype.hasOwnProperty.call(ev.after, '__proto__')).toBe(true);
    expect(ev.after!['__proto__']).toBe('x');
    expect(Object.getPrototypeOf(ev.after)).toBe(Object.prototype);
    expect(Object.keys(ev.after!)).toEqual(['id', '__proto__', 'v']);
    // schemaless envelope (a flattened row would take `__` fields for metadata)
    const bare = dec().decode(rec('{"op": "c", "after": {"id": 2, "__proto__": "p"}}', '{"id": 2}'))!;
    expect(Object.prototype.hasOwnProperty.call(bare.after, '__proto__')).toBe(true);
    expect(bare.after!['__proto__']).toBe('p');
  });
});
