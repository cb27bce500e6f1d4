/** Table shape, rows and fixture capture for smoke.it.ts. */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { ReadMessage } from '../helpers/kafka';

export const WIDE_COLUMNS = [
  'id int PRIMARY KEY',
  'c_numeric numeric(12,2)',
  'c_numeric_free numeric',
  'c_int2 int2',
  'c_int4 int4',
  'c_int8 int8',
  'c_real real',
  'c_double double precision',
  'c_bool boolean',
  'c_text text',
  'c_varchar varchar(40)',
  'c_bytea bytea',
  'c_date date',
  'c_time time',
  'c_timetz timetz',
  'c_ts timestamp(6)',
  'c_tstz timestamptz',
  'c_interval interval',
  'c_json json',
  'c_jsonb jsonb',
  'c_uuid uuid',
  'c_xml xml',
  'c_int_arr int[]',
  'c_text_arr text[]',
  'c_big text',
].join(', ');

/** 8000 characters without repetition a compressor could exploit much (mixed digits/letters). */
export const BIG_TEXT = Array.from({ length: 8000 }, (_, i) =>
  'abcdefghijklmnopqrstuvwxyz0123456789'.charAt((i * 7919 + ((i * i) % 31)) % 36),
).join('');

export const WIDE_ROW_FULL = [
  '1',
  "1234567890.12",
  "'-12345678901234567890.123456789'",
  '-12',
  '2147483000',
  '9007199254740993', // above 2^53: JSON numbers lose it in JavaScript
  '3.25',
  '-1.000000000000001',
  'true',
  "E'line one\\nline \"two\" \\\\ tab\\there'",
  "'varchar value'",
  "'\\xdeadbeef00'::bytea",
  "'2024-02-29'",
  "'13:45:30.123456'",
  "'13:45:30.5+02:00'",
  "'2024-02-29 13:45:30.123456'",
  "'2024-02-29 13:45:30.123456+02'",
  "'1 year 2 months 3 days 04:05:06.789'",
  `'{"a": [1, 2.5, null], "b": "x"}'`,
  `'{"nested": {"k": true}, "n": 12345678901234567890}'`,
  "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'",
  "'<doc><item n=\"1\">text</item></doc>'",
  "'{1,NULL,-3}'",
  `'{"plain","with,comma","with \\"quote\\"",NULL}'`,
  `'${BIG_TEXT}'`,
].join(', ');

export const WIDE_ROW_INFINITY = [
  '2',
  ...Array.from({ length: 11 }, () => 'NULL'), // c_numeric .. c_bytea
  "'infinity'",
  'NULL',
  'NULL',
  "'infinity'",
  "'infinity'",
  ...Array.from({ length: 7 }, () => 'NULL'), // c_interval .. c_text_arr
  "'small'",
].join(', ');

const FIXTURE_DIR = path.resolve(__dirname, '..', 'fixtures', 'debezium-real');

/**
 * With NILUS_CAPTURE_FIXTURES=1, write each message's key and value exactly as they came off the
 * topic (raw bytes, so int8 and numeric text survive) plus an index describing them.
 */
export function maybeCaptureFixtures(messages: ReadMessage[], table: string): void {
  if (process.env.NILUS_CAPTURE_FIXTURES !== '1') return;
  mkdirSync(FIXTURE_DIR, { recursive: true });
  const index = messages.map((m, i) => {
    const value = m.value === null ? null : (JSON.parse(m.value.toString('utf8')) as { payload: { op: string } });
    const op = value === null ? 'tombstone' : value.payload.op;
    const base = `${table}-${String(i + 1).padStart(2, '0')}-${op}`;
    writeFileSync(path.join(FIXTURE_DIR, `${base}.key.json`), m.key ?? 'null');
    writeFileSync(path.join(FIXTURE_DIR, `${base}.value.json`), m.value ?? 'null');
    return { file: base, table, op, topic: m.topic, partition: m.partition, offset: m.offset };
  });
  writeFileSync(path.join(FIXTURE_DIR, `${table}.index.json`), `${JSON.stringify(index, null, 2)}\n`);
}
