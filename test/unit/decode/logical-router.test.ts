/**
 * Records of a partitioned source routed by Debezium's ByLogicalTableRouter (key.enforce.uniqueness
 * on, the default): the key carries __dbz__physicalTableIdentifier and the source block names the
 * partition. They decode to the logical table (the topic's), keyed by the table's own key, on the
 * general path and the merge (COPY-ready) path, with and without key schemas.
 */
import { Decoder } from '../../../src/decode/decoder';
import { envelope, rec, struct } from './helpers';

const ROW = struct([['id', 'int64'], ['region', 'string'], ['note', 'string']]);
const SRC = { schema: 'public', table: 'orders_eu', ts_ms: 1700000000000, lsn: 24023128, snapshot: 'false' };
const value = envelope(ROW, { before: null, after: { id: 7, region: 'eu', note: 'n' }, source: SRC, op: 'c', ts_ms: 1 });
const ROUTED_KEY = JSON.stringify({
  schema: struct([['id', 'int64'], ['region', 'string'], ['__dbz__physicalTableIdentifier', 'string']]),
  payload: { id: 7, region: 'eu', __dbz__physicalTableIdentifier: 'shop.public.orders_eu' },
});
const PLAIN_KEY = JSON.stringify({ schema: struct([['id', 'int64'], ['region', 'string']]), payload: { id: 7, region: 'eu' } });
const TOPIC = 'shop.public.orders';

describe("ByLogicalTableRouter's key field", () => {
  it('general path: the logical table of the topic, keyed without the router field', () => {
    const ev = new Decoder({ topicPrefix: 'shop' }).decode(rec(value, ROUTED_KEY, TOPIC))!;
    expect(ev.table).toEqual({ schema: 'public', table: 'orders' });
    expect(ev.key).toEqual({ id: '7', region: 'eu' });
    expect(ev.keyColumns).toEqual(['id', 'region']);
    expect(ev.columns.map((c) => c.name)).toEqual(['id', 'region', 'note']);
  });

  it('schemaless key: the same', () => {
    const key = JSON.stringify({ id: 7, region: 'eu', __dbz__physicalTableIdentifier: 'shop.public.orders_eu' });
    const ev = new Decoder({ topicPrefix: 'shop' }).decode(rec(value, key, TOPIC))!;
    expect(ev.table).toEqual({ schema: 'public', table: 'orders' });
    expect(ev.keyColumns).toEqual(['id', 'region']);
  });

  it('merge path: the COPY-ready event lands in the logical table with the real key', () => {
    const ev = new Decoder({ topicPrefix: 'shop' }).decodeForMerge(rec(value, ROUTED_KEY, TOPIC))!;
    expect('copyReady' in ev && ev.copyReady).toBe(true); // took the fast path
    expect(ev.key).toBeDefined();
    expect(ev.table).toEqual({ schema: 'public', table: 'orders' });
    expect(ev.keyColumns).toEqual(['id', 'region']);
  });

  it('without the router field the source block still names the table (the partition)', () => {
    const ev = new Decoder({ topicPrefix: 'shop' }).decode(rec(value, PLAIN_KEY, TOPIC))!;
    expect(ev.table).toEqual({ schema: 'public', table: 'orders_eu' });
  });

  it('a routed record whose topic names no table is a data error naming topic.prefix', () => {
    expect(() => new Decoder({ topicPrefix: 'shop' }).decode(rec(value, ROUTED_KEY, 'elsewhere.orders'))).toThrow(/does not start with topic.prefix "shop\."/);
  });
});
