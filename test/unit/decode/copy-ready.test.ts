/**
 * COPY-ready decode path: on every real Debezium fixture its COPY line, key string and mask are
 * byte-identical to the general path (decode → Row → appendRow / encodeKey / unavailableMask), and
 * the schemas and records it must not take are handed to the general path.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RawRecord } from '../../../src/kernel/types';
import { Decoder } from '../../../src/decode/decoder';
import { compileCopyReady } from '../../../src/decode/copy-ready';
import { compileKey, compileValue } from '../../../src/decode/schema';
import type { CodecContext } from '../../../src/decode/codecs/registry';
import { appendRow } from '../../../src/copy-text/encode';
import { compareAll, realRecords } from './copy-ready.support';
import { envelope, fixture, rec, struct } from './helpers';

const prefixOf = (recs: RawRecord[]) => recs[0]!.topic.split('.')[0]!;

const PLACEHOLDER = '__debezium_unavailable_value';
const ctx: CodecContext = { placeholder: PLACEHOLDER, placeholderBase64: Buffer.from(PLACEHOLDER).toString('base64'), binaryStrings: 'base64' };

describe('COPY-ready path on real Debezium output (test/fixtures/debezium-real)', () => {
  it.each(['wide', 'items'])('%s: every record byte-identical to the general path, none deferred', (table) => {
    const recs = realRecords(table);
    const r = compareAll(recs, { topicPrefix: prefixOf(recs) });
    expect(r.deferred).toEqual([]);
    expect(r.rejected).toBe(0);
    expect(r.tombstones).toBe(1);
    expect(r.fast).toBe(recs.length - 1);
  });

  it('wide: the escapes, the big int8 and the unchanged-TOAST mask are really exercised', () => {
    const recs = realRecords('wide');
    const f = new Decoder({ topicPrefix: prefixOf(recs) });
    const insert = f.encodeOnly(recs[0]!)!;
    const update = f.encodeOnly(recs[2]!)!;
    // Against the general path's own Row rather than literals of this implementation.
    const ev = new Decoder({ topicPrefix: prefixOf(recs) }).decode(recs[2]!)!;
    const names = ev.columns.map((c) => c.name);
    expect(insert.line).toContain('\\n'); // c_text's newline, escaped for COPY
    expect(insert.line).toContain(ev.after!.c_int8 as string); // 9007199254740993, beyond 2^53
    expect(update.mask).toBe(String(names.indexOf('c_big')));
    expect(update.line).toBe(appendRow('', ev.after!, names));
    const del = f.encodeOnly(recs[3]!)!;
    expect(del.op).toBe('d');
    expect(del.key).toBe('s2');
    expect(del.keyLine).toBe('2');
  });

  it('items: REPLICA IDENTITY FULL updates and deletes, merged on the table key or a column of the row', () => {
    const recs = realRecords('items');
    const opts = { topicPrefix: prefixOf(recs) };
    expect(compareAll(recs, opts, ['id']).fast).toBe(4);
    // A table keyed on columns the Kafka key does not hold: read from after / before.
    expect(compareAll(recs, opts, ['name']).fast).toBe(4);
    expect(compareAll(recs, opts, ['id', 'name']).fast).toBe(4);
    // A key column neither the key nor the row holds: no key on either path.
    const r = compareAll(recs, opts, ['nope']);
    expect(r.fast).toBe(4);
    expect(new Decoder({ topicPrefix: prefixOf(recs) }).encodeOnly(recs[0]!, ['nope'])!.key).toBeUndefined();
  });
});

describe('COPY-ready path on the hand-written fixtures (test/fixtures/debezium)', () => {
  it('PostgreSQL envelope update: identical', () => {
    const recs = [rec(fixture('pg-envelope-update.json'), fixture('pg-key.json'))];
    const r = compareAll(recs, { topicPrefix: 'shop' });
    expect(r.fast).toBe(1);
  });

  it('MongoDB envelope: refused (general path), though the general path decodes it', () => {
    const r0 = rec(fixture('mongo-update.json'), fixture('mongo-key.json'), 'orders_cdc.retail.orders');
    expect(new Decoder({ topicPrefix: 'orders_cdc' }).decode(r0)).not.toBeNull();
    expect(new Decoder({ topicPrefix: 'orders_cdc' }).encodeOnly(r0)).toBeNull();
    const schema = (JSON.parse(fixture('mongo-update.json')) as { schema: unknown }).schema;
    expect(compileCopyReady(compileValue(schema, ctx), null, ['_id'], PLACEHOLDER)).toBeNull();
    const r = compareAll([r0], { topicPrefix: 'orders_cdc' });
    expect(r.deferred).toHaveLength(1);
  });
});

describe('what the fast path refuses, chosen once per schema', () => {
  const row = (fields: [string, string, string?][]) => struct(fields);
  const value = (r: Record<string, unknown>) => compileValue({ type: 'struct', fields: [{ ...r, field: 'before' }, { ...r, field: 'after' }, { type: 'string', field: 'op' }] }, ctx);

  it('accepts an ordinary schema and keeps one encoder per (value schema, key schema, key columns)', () => {
    const v = value(row([['id', 'int32'], ['name', 'string']]));
    const k = compileKey(struct([['id', 'int32']]), ctx)!;
    expect(compileCopyReady(v, k, ['id'], PLACEHOLDER)).not.toBeNull();
    const d = new Decoder({ topicPrefix: 'shop' });
    const cols = ['id'];
    const e1 = d.encoderFor(v, k, cols);
    expect(e1).not.toBeNull();
    expect(d.encoderFor(v, k, cols)).toBe(e1);
    expect(d.encoderFor(v, null, cols)).not.toBe(e1);
  });

  it.each([
    ['a duplicate column name', [['id', 'int32'], ['a', 'string'], ['a', 'int32']]],
    ['a column named __proto__', [['id', 'int32'], ['__proto__', 'string']]],
    ['_id without id (a MongoDB-style key is read as _id)', [['_id', 'string'], ['x', 'string']]],
  ] as [string, [string, string][]][])('refuses %s', (_what, fields) => {
    expect(compileCopyReady(value(row(fields)), null, ['id'], PLACEHOLDER)).toBeNull();
  });

  it('refuses a key schema with a duplicate field', () => {
    const k = compileKey(struct([['id', 'int32'], ['id', 'int64']]), ctx)!;
    expect(compileCopyReady(value(row([['id', 'int32']])), k, ['id'], PLACEHOLDER)).toBeNull();
  });

  const schema = struct([['id', 'int32'], ['name', 'string']]);
  const payload = { before: null, after: { id: 1, name: 'a' }, source: { schema: 'public', table: 'orders', ts_ms: 1, lsn: 5 }, op: 'c', ts_ms: 2 };
  const keyText = JSON.stringify({ schema: struct([['id', 'int32']]), payload: { id: 1 } });

  it('a record like this one takes the fast path (the control for the cases below)', () => {
    expect(compareAll([rec(envelope(schema, payload), keyText)], { topicPrefix: 'shop' }).fast).toBe(1);
  });

  it.each([
    ['a schemaless value', rec(JSON.stringify(payload), keyText)],
    ['a schemaless key (inferred on the general path)', rec(envelope(schema, payload), JSON.stringify({ id: 1 }))],
    ['a primary-key change (__debezium.oldkey header)', { ...rec(envelope(schema, payload), keyText), headers: { '__debezium.oldkey': JSON.stringify({ id: 0 }) } }],
    ['a primary-key change (__debezium.newkey header)', { ...rec(envelope(schema, { ...payload, op: 'd', before: payload.after, after: null }), keyText), headers: { '__debezium.newkey': '{"id":2}' } }],
  ] as [string, RawRecord][])('hands %s to the general path, which decodes it', (_what, r) => {
    expect(new Decoder({ topicPrefix: 'shop' }).decode(r)).not.toBeNull();
    expect(new Decoder({ topicPrefix: 'shop' }).encodeOnly(r)).toBeNull();
  });

  it.each([
    ['a value that does not convert', { ...payload, after: { id: 'x', name: 'a' } }],
    ['an unknown op', { ...payload, op: 'z' }],
    ['a create without after', { ...payload, after: null }],
  ])('hands %s to the general path, which raises the error', (_what, p) => {
    const r = rec(envelope(schema, p), keyText);
    expect(() => new Decoder({ topicPrefix: 'shop' }).decode(r)).toThrow(/cannot decode/);
    expect(new Decoder({ topicPrefix: 'shop' }).encodeOnly(r)).toBeNull();
  });

  it('the encoder throws where decodeRow throws, with the same message', () => {
    const v = value(schema);
    const enc = compileCopyReady(v, null, ['id'], PLACEHOLDER)!;
    const bad = { ...payload, after: { id: 1.5, name: 'a' } };
    let general = '';
    try {
      new Decoder({ topicPrefix: 'shop' }).decode(rec(envelope(schema, bad)));
    } catch (e) {
      general = ((e as Error).cause as Error).message;
    }
    expect(general).not.toBe('');
    expect(() => enc.encode(bad, null, { pos: { topic: 'shop.public.orders', partition: 0, offset: '0' }, bytes: 0, topicTable: undefined })).toThrow(general);
  });
});
