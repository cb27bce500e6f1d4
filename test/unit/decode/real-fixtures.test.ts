/**
 * Ground truth: every message captured from a real Debezium 3.6 PostgreSQL connector
 * (test/fixtures/debezium-real, see its README) decodes to the values the source rows were
 * written with (WIDE_ROW_FULL / WIDE_ROW_INFINITY in test/it/smoke-fixtures.ts, items rows).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChangeEvent, Row } from '../../../src/kernel/types';
import { UNAVAILABLE } from '../../../src/kernel/types';
import { Decoder } from '../../../src/decode/decoder';
import { BIG_TEXT } from '../../it/smoke-fixtures';

const DIR = join(__dirname, '../../fixtures/debezium-real');
interface IndexEntry { file: string; op: string; topic: string; partition: number; offset: string }

/** What memory accounting counts of a message: the payload of a compact JsonConverter envelope, else all of it. */
function payloadBytes(b: Buffer): number {
  const s = b.toString('utf8');
  const at = s.indexOf(',"payload":');
  return s.startsWith('{"schema":') && at > 0 && s.endsWith('}') ? Buffer.byteLength(s.slice(at + ',"payload":'.length, -1)) : b.length;
}

function decodeAll(table: string): { entry: IndexEntry; ev: ChangeEvent | null; bytes: number }[] {
  const index = JSON.parse(readFileSync(join(DIR, `${table}.index.json`), 'utf8')) as IndexEntry[];
  const prefix = index[0]!.topic.split('.')[0]!;
  const d = new Decoder({ topicPrefix: prefix });
  return index.map((entry) => {
    const key = readFileSync(join(DIR, `${entry.file}.key.json`));
    const raw = readFileSync(join(DIR, `${entry.file}.value.json`));
    const value = raw.toString().trim() === 'null' ? null : raw;
    const ev = d.decode({ topic: entry.topic, partition: entry.partition, offset: entry.offset, key, value, timestampMs: 0 });
    return { entry, ev, bytes: payloadBytes(key) + (value === null ? 0 : payloadBytes(value)) };
  });
}

/** The source row 1 of `wide`, in the text form PostgreSQL reads back to the same value. */
const WIDE_1: Row = {
  id: '1',
  c_numeric: '1234567890.12',
  c_numeric_free: '-12345678901234567890.123456789',
  c_int2: '-12',
  c_int4: '2147483000',
  c_int8: '9007199254740993',
  c_real: '3.25',
  c_double: '-1.000000000000001',
  c_bool: 't',
  c_text: 'line one\nline "two" \\ tab\there',
  c_varchar: 'varchar value',
  c_bytea: '\\xdeadbeef00',
  c_date: '2024-02-29',
  c_time: '13:45:30.123456',
  c_timetz: '11:45:30.5Z', // 13:45:30.5+02:00; Debezium normalises timetz to UTC
  c_ts: '2024-02-29 13:45:30.123456',
  c_tstz: '2024-02-29T11:45:30.123456Z', // = 2024-02-29 13:45:30.123456+02
  // '1 year 2 months 3 days 04:05:06.789': MicroDuration already folded months into 30.4375-day
  // units at the source, so only the total length survives (interval.handling.mode=string keeps it).
  c_interval: '10303:05:06.789',
  c_json: '{"a": [1, 2.5, null], "b": "x"}',
  c_jsonb: '{"n": 12345678901234567890, "nested": {"k": true}}',
  c_uuid: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  c_xml: '<doc><item n="1">text</item></doc>',
  c_int_arr: '{1,NULL,-3}',
  c_text_arr: '{plain,"with,comma","with \\"quote\\"",NULL}',
  c_big: BIG_TEXT,
};
const allNull = (over: Row): Row => ({ ...Object.fromEntries(Object.keys(WIDE_1).map((k) => [k, null])), ...over });

describe('real Debezium output: wide (every common type)', () => {
  const out = decodeAll('wide');

  it('row 1 insert matches the source values exactly', () => {
    const ev = out[0]!.ev!;
    expect(ev.op).toBe('c');
    expect(ev.after).toEqual(WIDE_1);
    expect(ev.key).toEqual({ id: '1' });
    expect(ev.table.table).toBe('wide');
    expect(ev.bytes).toBe(out[0]!.bytes);
    expect(ev.columns.map((c) => `${c.name}:${c.pgType}`)).toEqual([
      'id:integer', 'c_numeric:numeric(12,2)', 'c_numeric_free:numeric', 'c_int2:smallint', 'c_int4:integer',
      'c_int8:bigint', 'c_real:real', 'c_double:double precision', 'c_bool:boolean', 'c_text:text', 'c_varchar:text',
      'c_bytea:bytea', 'c_date:date', 'c_time:time', 'c_timetz:timetz', 'c_ts:timestamp', 'c_tstz:timestamptz',
      'c_interval:interval', 'c_json:jsonb', 'c_jsonb:jsonb', 'c_uuid:uuid', 'c_xml:xml', 'c_int_arr:integer[]',
      'c_text_arr:text[]', 'c_big:text',
    ]);
    expect(ev.source.lsn).toBe(41000816n);
    expect(ev.source.tsMs).toBe(1795522785200);
  });

  it("row 2: 'infinity' date, timestamp and timestamptz come back as infinity", () => {
    const ev = out[1]!.ev!;
    expect(ev.after).toEqual(allNull({ id: '2', c_date: 'infinity', c_ts: 'infinity', c_tstz: 'infinity', c_big: 'small' }));
    expect(ev.columns).toBe(out[0]!.ev!.columns);
  });

  it('update that leaves the TOASTed text alone marks it UNAVAILABLE', () => {
    const ev = out[2]!.ev!;
    expect(ev.op).toBe('u');
    expect(ev.before).toBeNull();
    expect(ev.after).toEqual({ ...WIDE_1, c_int4: '2147483001', c_big: UNAVAILABLE });
  });

  it('delete carries the key; tombstone decodes to null', () => {
    const ev = out[3]!.ev!;
    expect(ev.op).toBe('d');
    expect(ev.key).toEqual({ id: '2' });
    expect(ev.before).toEqual(allNull({ id: '2' }));
    expect(ev.after).toBeNull();
    expect(out[4]!.ev).toBeNull();
  });
});

describe('real Debezium output: items (REPLICA IDENTITY FULL)', () => {
  const out = decodeAll('items');
  it('c, c, u, d, tombstone with full before images', () => {
    expect(out.map((o) => o.ev?.op ?? 'tombstone')).toEqual(out.map((o) => o.entry.op));
    expect(out[0]!.ev!.after).toEqual({ id: '1', name: 'apple', qty: '3' });
    expect(out[1]!.ev!.after).toEqual({ id: '2', name: 'pear', qty: '5' });
    expect(out[2]!.ev!.before).toEqual({ id: '1', name: 'apple', qty: '3' });
    expect(out[2]!.ev!.after).toEqual({ id: '1', name: 'green apple', qty: '4' });
    expect(out[3]!.ev!.before).toEqual({ id: '2', name: 'pear', qty: '5' });
    expect(out[3]!.ev!.key).toEqual({ id: '2' });
    expect(out[0]!.ev!.columns.find((c) => c.name === 'name')!.optional).toBe(false);
    for (const o of out) if (o.ev) expect(o.ev.pos).toEqual({ topic: o.entry.topic, partition: o.entry.partition, offset: o.entry.offset });
  });
});
