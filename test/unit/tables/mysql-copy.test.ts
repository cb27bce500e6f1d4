import { copyField } from '../../../src/copy-text/encode';
import { pageRows } from '../../../src/copy-text/page';
import { CopyPageWriter, rowPacketEncoder } from '../../../src/tables/mysql-copy';
import { mapColumn, valueDecoder, type MysqlColumnMeta } from '../../../src/tables/mysql-types';
import type { SourceColumn } from '../../../src/tables/table-source';

const T = 'shop.items';
const col = (name: string, dataType: string, columnType = dataType, extra: Partial<MysqlColumnMeta> = {}): SourceColumn =>
  mapColumn(T, { name, dataType, columnType, nullable: true, ...extra }, { tinyint1AsBoolean: true });

/** A text-protocol row packet's payload: one length-coded string (or 0xFB for NULL) per value. */
function packet(values: readonly (Buffer | null)[]): Buffer {
  const parts: Buffer[] = [];
  for (const v of values) {
    if (v === null) parts.push(Buffer.from([0xfb]));
    else if (v.length < 251) parts.push(Buffer.from([v.length]), v);
    else if (v.length < 1 << 16) parts.push(Buffer.from([0xfc, v.length & 255, v.length >> 8]), v);
    else parts.push(Buffer.from([0xfd, v.length & 255, (v.length >> 8) & 255, v.length >> 16]), v);
  }
  return Buffer.concat(parts);
}

const raw = (v: string | Buffer | null): Buffer | null => (v === null ? null : typeof v === 'string' ? Buffer.from(v, 'utf8') : v);

/** The line the row path wrote: valueDecoder per value, then COPY's escaping. */
function expectedLine(cols: readonly SourceColumn[], values: readonly (Buffer | null)[], onZeroDate?: (t: string, c: string) => void): string {
  return cols.map((c, i) => copyField(valueDecoder(c, { table: T, column: c.name, ...(onZeroDate ? { onZeroDate } : {}) })(values[i]!))).join('\t');
}

function encode(cols: readonly SourceColumn[], rows: readonly (readonly (Buffer | null)[])[], onZeroDate?: (t: string, c: string) => void): { text: string; rows: number } {
  const w = new CopyPageWriter(16); // small: the buffer must grow
  const enc = rowPacketEncoder(T, cols, onZeroDate);
  for (const r of rows) {
    const p = Buffer.concat([Buffer.from([1, 2, 3, 4]), packet(r)]); // a header before the payload, as in mysql2's buffer
    enc(p, 4, w);
  }
  const page = w.take();
  return { text: page.text.toString('utf8'), rows: page.rows };
}

const COLS = [
  col('id', 'bigint', 'bigint(20) unsigned'),
  col('flag', 'tinyint', 'tinyint(1)'),
  col('n', 'decimal', 'decimal(65,30)'),
  col('f', 'double'),
  col('b1', 'bit', 'bit(1)'),
  col('b10', 'bit', 'bit(10)'),
  col('b64', 'bit', 'bit(64)'),
  col('s', 'varchar', 'varchar(255)'),
  col('j', 'json'),
  col('bin', 'blob'),
  col('d', 'date'),
  col('dt', 'datetime', 'datetime(6)'),
  col('ts', 'timestamp', 'timestamp(3)'),
  col('t', 'time', 'time(1)'),
  col('u', 'uuid'),
];

const ROWS: (string | Buffer | null)[][] = [
  ['18446744073709551615', '0', '-12.500000000000000000000000000000', '1.7976931348623157e308', Buffer.from([1]), Buffer.from([0x01, 0x55]), Buffer.alloc(8, 0xff), 'plain', '{"a": 1}', Buffer.from([0, 255, 92, 10]), '1000-01-01', '2024-02-29 23:59:59.999999', '2038-01-19 03:14:07.999', '-838:59:59.0', '123e4567-e89b-12d3-a456-426655440000'],
  ['0', '-0', '0', '-0', Buffer.from([0]), Buffer.from([0, 0]), Buffer.from([0, 0, 0, 0, 0, 0, 0, 1]), 'tab\there\nnewline\r \\ "q" \'s 😀 ü 𝄞', '{"c": "\\\\u0000 is text", "t": "a\\tb\\\\"}', Buffer.alloc(0), '0000-02-29', '0000-03-01 10:00:00.000000', '1970-01-01 00:00:01.000', '00:00:00.0', null],
  ['7', '+000', null, null, null, Buffer.from([3]), Buffer.from([0x80]), '', '[]', null, '9999-12-31', null, null, null, null],
  ['1', '5', '1', '1', Buffer.from([0, 2]), Buffer.from([0xff, 0xff, 0xff]), Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), 'x'.repeat(300) + '\\', '"' + 'é'.repeat(40000) + '"', Buffer.alloc(70000, 7), '2024-03-31', '2024-01-01 00:00:00.000001', '2000-01-01 00:00:00.000', '100:00:00.5', null],
];

describe('MySQL row packets → COPY text', () => {
  it('writes exactly the line the row path wrote (valueDecoder, then COPY escaping), every kind', () => {
    const values = ROWS.map((r) => r.map(raw));
    const { text, rows } = encode(COLS, values);
    expect(rows).toBe(ROWS.length);
    expect(text).toBe(values.map((v) => expectedLine(COLS, v) + '\n').join(''));
    // and reads back as the row path's values
    const back = pageRows({ text: Buffer.from(text, 'utf8'), rows }, COLS.map((c) => c.name));
    values.forEach((v, i) => COLS.forEach((c, j) => expect(back[i]![c.name]).toBe(valueDecoder(c, { table: T, column: c.name })(v[j]!))));
  });

  it('random text and bytes: the same line as the row path', () => {
    const cols = [col('s', 'text'), col('b', 'varbinary', 'varbinary(64)'), col('j', 'json')];
    const alphabet = ['a', 'Z', '\\', '\t', '\n', '\r', ' ', 'ü', '😀', '"', '\u0001', '\u007f'];
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const values = Array.from({ length: 300 }, () => {
      const s = Array.from({ length: rnd(20) }, () => alphabet[rnd(alphabet.length)]).join('');
      const b = Buffer.from(Array.from({ length: rnd(12) }, () => rnd(256)));
      return [raw(s), b, raw(JSON.stringify(s))];
    });
    expect(encode(cols, values).text).toBe(values.map((v) => expectedLine(cols, v) + '\n').join(''));
  });

  it('zero dates are NULL (no +00), each reported with table and column', () => {
    const cols = [col('d', 'date'), col('ts', 'timestamp'), col('dt', 'datetime')];
    const seen: string[] = [];
    const report = (t: string, c: string): void => void seen.push(`${t}/${c}`);
    const values = [[raw('0000-00-00'), raw('0000-00-00 00:00:00'), raw('2024-03-00 10:00:00')]];
    expect(encode(cols, values, report).text).toBe('\\N\t\\N\t\\N\n');
    expect(seen).toEqual(['shop.items/d', 'shop.items/ts', 'shop.items/dt']);
  });

  it('refuses what the row path refuses, with the same message', () => {
    const cases: [SourceColumn, string][] = [
      [col('s', 'varchar'), 'a\u0000b'],
      [col('j', 'json'), '{"a": "\\u0000"}'],
      [col('j', 'json'), '"\\\\\\u0000"'],
      [col('d', 'date'), '2023-02-29'],
      [col('dt', 'datetime'), '2024-04-31 00:00:00'],
      [col('d', 'date'), 'yesterday'],
    ];
    for (const [c, v] of cases) {
      let expected = '';
      try {
        valueDecoder(c, { table: T, column: c.name })(raw(v));
      } catch (e) {
        expected = (e as Error).message;
      }
      expect(expected).not.toBe('');
      expect(() => encode([c], [[raw(v)]])).toThrow(expected);
    }
    // an escaped backslash before u0000 is text, not the escape
    expect(encode([col('j', 'json')], [[raw('"\\\\u0000"')]]).text).toBe('"\\\\\\\\u0000"\n');
  });

  it('text that is not valid UTF-8 lands as toString("utf8") made it (replacement characters)', () => {
    const cols = [col('s', 'varchar'), col('n', 'int')];
    const bad = Buffer.from([0x61, 0xc3, 0x09, 0xff, 0x62]);
    const { text } = encode(cols, [[bad, raw('5')]]);
    expect(text).toBe(expectedLine(cols, [bad, raw('5')]) + '\n');
    expect(text).toContain('\ufffd');
  });
});
