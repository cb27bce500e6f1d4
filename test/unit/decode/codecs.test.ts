import { UNAVAILABLE } from '../../../src/kernel/types';
import { codecFor, ConvertError } from '../../../src/decode/codecs/registry';
import type { CodecContext, FieldSchema } from '../../../src/decode/codecs/registry';
import { InexactNumber } from '../../../src/decode/codecs/types';
import { quoteElement } from '../../../src/decode/codecs/array';
import { formatDate } from '../../../src/decode/codecs/time';
import { protectBigInts } from '../../../src/decode/json';
import { decimalConverter, scaledText, unscaledFromBase64 } from '../../../src/decode/codecs/numeric';

const ctx: CodecContext = {
  placeholder: '__debezium_unavailable_value',
  placeholderBase64: Buffer.from('__debezium_unavailable_value').toString('base64'),
  binaryStrings: 'base64',
};
const codec = (s: Partial<FieldSchema> & { type: string }) => codecFor(s as FieldSchema, ctx);
const conv = (s: Partial<FieldSchema> & { type: string }, v: unknown) => codec(s).convert(v);
/** Big literals arrive from the JSON pre-pass as marked strings. */
const big = (text: string): unknown => JSON.parse(protectBigInts(text));

/** Two's-complement big-endian base64 of a BigInt, as Connect's Decimal writes it. */
function decimalB64(n: bigint): string {
  let hex = (n < 0n ? (1n << 256n) + n : n).toString(16);
  if (hex.length % 2) hex = '0' + hex;
  let buf = Buffer.from(hex, 'hex');
  if (n < 0n) buf = buf.subarray(buf.findIndex((b, i) => !(b === 0xff && (buf[i + 1]! & 0x80))));
  else if (buf[0]! & 0x80) buf = Buffer.concat([Buffer.from([0]), buf]);
  return buf.toString('base64');
}
const DEC = 'org.apache.kafka.connect.data.Decimal';

describe('Decimal', () => {
  it.each([
    [12345n, 2, '123.45'],
    [-12345n, 2, '-123.45'],
    [-1n, 2, '-0.01'],
    [5n, 3, '0.005'],
    [0n, 2, '0.00'],
    [-128n, 0, '-128'],
    [128n, 0, '128'],
    [10n ** 38n - 1n, 38, '0.' + '9'.repeat(38)],
    [-(10n ** 37n), 38, '-0.1' + '0'.repeat(37)],
    [123456789012345678901234567890123456789n, 0, '123456789012345678901234567890123456789'],
  ])('unscaled %s scale %s → %s', (n, scale, text) => {
    expect(conv({ type: 'bytes', name: DEC, parameters: { scale: String(scale) } }, decimalB64(n))).toBe(text);
  });
  it('types numeric(p,s) from the precision parameter, numeric without', () => {
    expect(codec({ type: 'bytes', name: DEC, parameters: { scale: '2', 'connect.decimal.precision': '12' } }).pgType).toBe('numeric(12,2)');
    expect(codec({ type: 'bytes', name: DEC, parameters: { scale: '0' } }).pgType).toBe('numeric');
  });
  it('VariableScaleDecimal', () => {
    const c = codec({ type: 'struct', name: 'io.debezium.data.VariableScaleDecimal' });
    expect(c.pgType).toBe('numeric');
    expect(c.convert({ scale: 3, value: decimalB64(-1234567n) })).toBe('-1234.567');
    expect(c.convert({ scale: 0, value: decimalB64(10n ** 30n) })).toBe('1' + '0'.repeat(30));
    expect(() => c.convert({ value: 'AA==' })).toThrow(/scale, value/);
  });
  it('decimal.handling.mode string and double', () => {
    const src = { '__debezium.source.column.type': 'NUMERIC', '__debezium.source.column.length': '10', '__debezium.source.column.scale': '3' };
    const s = codec({ type: 'string', parameters: src });
    expect(s.pgType).toBe('numeric(10,3)');
    expect(s.convert('-12.345')).toBe('-12.345');
    expect(() => s.convert('12,3')).toThrow(ConvertError);
    expect(conv({ type: 'float64' }, 0.1)).toBe('0.1');
    expect(codec({ type: 'float64', parameters: src }).pgType).toBe('numeric(10,3)');
  });
});

describe('Decimal short fast path', () => {
  it('agrees with the BigInt path for every length up to 8 bytes, both signs, scales -2..6', () => {
    let seed = 7;
    const next = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) & 0xff;
    const edges = [[], [0], [0x7f], [0x80], [0xff], [0x80, 0], [0x7f, 0xff, 0xff, 0xff, 0xff, 0xff], [0x80, 0, 0, 0, 0, 0], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff]];
    const cases: number[][] = [...edges];
    for (let len = 1; len <= 8; len++) for (let i = 0; i < 200; i++) cases.push(Array.from({ length: len }, next));
    for (const bytes of cases) {
      const b64 = Buffer.from(bytes).toString('base64');
      for (let scale = -2; scale <= 6; scale++) {
        expect(decimalConverter(scale)(b64)).toBe(scaledText(unscaledFromBase64(b64), scale));
      }
    }
    expect(decimalConverter(2)(Buffer.from([0x30, 0x39]).toString('base64'))).toBe('123.45');
    expect(decimalConverter(2)(Buffer.from([0xcf, 0xc7]).toString('base64'))).toBe('-123.45');
  });

  it('leaves non-canonical padding bits to the general path (which ignores them, as Java does not write them)', () => {
    // 'AB==' carries non-zero padding bits; 'AA==' is the canonical one-byte zero.
    expect(decimalConverter(0)('AB==')).toBe(scaledText(unscaledFromBase64('AB=='), 0));
    expect(decimalConverter(1)('AA==')).toBe('0.0');
  });
});

describe('integers and floats', () => {
  it('int64 stays exact beyond 2^53', () => {
    expect(conv({ type: 'int64' }, big('9223372036854775807'))).toBe('9223372036854775807');
    expect(conv({ type: 'int64' }, big('-9223372036854775808'))).toBe('-9223372036854775808');
    expect(conv({ type: 'int16' }, -32768)).toBe('-32768');
    expect(codec({ type: 'int8' }).pgType).toBe('smallint');
    expect(codec({ type: 'int32' }).pgType).toBe('integer');
    expect(() => conv({ type: 'int32' }, 1.5)).toThrow(/expected an integer, got number 1.5/);
    expect(() => conv({ type: 'int32' }, 'x')).toThrow(ConvertError);
  });
  it('floats incl. NaN / Infinity strings', () => {
    expect(conv({ type: 'float32' }, 3.25)).toBe('3.25');
    expect(conv({ type: 'float64' }, 'NaN')).toBe('NaN');
    expect(conv({ type: 'float64' }, '-Infinity')).toBe('-Infinity');
    expect(conv({ type: 'float64' }, 1e300)).toBe('1e+300');
    expect(() => conv({ type: 'float64' }, 'abc')).toThrow(/floating-point/);
  });
  it('boolean, string', () => {
    expect(conv({ type: 'boolean' }, true)).toBe('t');
    expect(conv({ type: 'boolean' }, false)).toBe('f');
    expect(() => conv({ type: 'boolean' }, 'true')).toThrow(/boolean/);
    expect(conv({ type: 'string' }, 'a\tb')).toBe('a\tb');
  });
});

describe('dates and times', () => {
  const D = 'io.debezium.time.Date';
  it('formats days exactly: epoch, leap day, pre-1970, BC, far future', () => {
    expect(conv({ type: 'int32', name: D }, 0)).toBe('1970-01-01');
    expect(conv({ type: 'int32', name: D }, 19782)).toBe('2024-02-29');
    expect(conv({ type: 'int32', name: D }, -1)).toBe('1969-12-31');
    expect(conv({ type: 'int32', name: D }, -25567)).toBe('1900-01-01');
    expect(conv({ type: 'int32', name: D }, -719162)).toBe('0001-01-01');
    expect(conv({ type: 'int32', name: D }, -719163)).toBe('0001-12-31 BC');
    expect(conv({ type: 'int32', name: D }, 2932896)).toBe('9999-12-31');
    expect(conv({ type: 'int32', name: D }, 2932897)).toBe('10000-01-01');
    expect(formatDate(11016)).toBe('2000-02-29');
  });
  it('maps Debezium date infinity encodings back', () => {
    expect(conv({ type: 'int32', name: D }, -2147472692)).toBe('infinity');
    expect(conv({ type: 'int32', name: D }, -2147472691)).toBe('-infinity');
  });
  const MT = 'io.debezium.time.MicroTimestamp';
  it('MicroTimestamp keeps microseconds, pre-1970 and far future', () => {
    expect(conv({ type: 'int64', name: MT }, 1709200800123456)).toBe('2024-02-29 10:00:00.123456');
    expect(conv({ type: 'int64', name: MT }, -1)).toBe('1969-12-31 23:59:59.999999');
    expect(conv({ type: 'int64', name: MT }, 0)).toBe('1970-01-01 00:00:00');
    expect(conv({ type: 'int64', name: MT }, -2208988800000000)).toBe('1900-01-01 00:00:00');
    expect(conv({ type: 'int64', name: MT }, big('9224318015999999999'.slice(0, 19)))).toMatch(/^294\d{3}-/);
    expect(conv({ type: 'int64', name: MT }, big('253402300799999999'))).toBe('9999-12-31 23:59:59.999999');
    expect(conv({ type: 'int64', name: MT }, big('-62135596800000001'))).toBe('0001-12-31 23:59:59.999999 BC');
  });
  it('maps Debezium timestamp infinity encodings back', () => {
    expect(conv({ type: 'int64', name: MT }, big('9223372036825200000'))).toBe('infinity');
    expect(conv({ type: 'int64', name: MT }, big('-9223372036832400000'))).toBe('-infinity');
    expect(conv({ type: 'int64', name: 'io.debezium.time.Timestamp' }, big('9223372036825200'))).toBe('infinity');
    expect(conv({ type: 'int64', name: 'io.debezium.time.Timestamp' }, big('-9223372036832400'))).toBe('-infinity');
    // Rounded by JSON.parse: the decoder must re-parse exactly, so the codec refuses to guess.
    expect(() => conv({ type: 'int64', name: MT }, 9223372036825200000)).toThrow(InexactNumber);
    expect(() => conv({ type: 'int64' }, 2 ** 53 + 2)).toThrow(InexactNumber);
    expect(conv({ type: 'string', name: 'io.debezium.time.ZonedTimestamp' }, 'infinity')).toBe('infinity');
  });
  it('Timestamp (ms), NanoTimestamp, connect Timestamp/Date/Time', () => {
    expect(conv({ type: 'int64', name: 'io.debezium.time.Timestamp' }, -1)).toBe('1969-12-31 23:59:59.999');
    expect(conv({ type: 'int64', name: 'io.debezium.time.NanoTimestamp' }, big('1709200800123456789'))).toBe('2024-02-29 10:00:00.123456789');
    expect(conv({ type: 'int64', name: 'io.debezium.time.NanoTimestamp' }, big('-1000000000000000001'))).toBe('1938-04-24 22:13:19.999999999');
    expect(conv({ type: 'int64', name: 'org.apache.kafka.connect.data.Timestamp' }, 951782400000)).toBe('2000-02-29 00:00:00');
    expect(conv({ type: 'int32', name: 'org.apache.kafka.connect.data.Date' }, -86400000)).toBe('1969-12-31');
    expect(conv({ type: 'int32', name: 'org.apache.kafka.connect.data.Time' }, 45296789)).toBe('12:34:56.789');
  });
  it('Time, MicroTime, NanoTime', () => {
    expect(conv({ type: 'int32', name: 'io.debezium.time.Time' }, 0)).toBe('00:00:00');
    expect(conv({ type: 'int64', name: 'io.debezium.time.MicroTime' }, 86399999999)).toBe('23:59:59.999999');
    expect(conv({ type: 'int64', name: 'io.debezium.time.MicroTime' }, 86400000000)).toBe('24:00:00');
    expect(conv({ type: 'int64', name: 'io.debezium.time.NanoTime' }, 45296000000001)).toBe('12:34:56.000000001');
    expect(() => conv({ type: 'int64', name: 'io.debezium.time.MicroTime' }, -5)).toThrow(/non-negative/);
  });
  it('zoned and interval types', () => {
    expect(codec({ type: 'string', name: 'io.debezium.time.ZonedTimestamp' }).pgType).toBe('timestamptz');
    expect(conv({ type: 'string', name: 'io.debezium.time.ZonedTimestamp' }, '2024-02-29T10:00:00.123456Z')).toBe('2024-02-29T10:00:00.123456Z');
    expect(codec({ type: 'string', name: 'io.debezium.time.ZonedTime' }).pgType).toBe('timetz');
    expect(conv({ type: 'string', name: 'io.debezium.time.Interval' }, 'P1Y2M3DT4H5M6.78S')).toBe('P1Y2M3DT4H5M6.78S');
    const md = { type: 'int64', name: 'io.debezium.time.MicroDuration' };
    expect(conv(md, 3723000001)).toBe('1:02:03.000001');
    expect(conv(md, -360000000000)).toBe('-100000:00:00'.replace('100000', '100'));
    expect(conv(md, 0)).toBe('0:00:00');
    expect(codec(md).pgType).toBe('interval');
  });
});

describe('binary, bits, json-ish', () => {
  it('bytes → \\x hex; placeholder bytes → UNAVAILABLE', () => {
    expect(conv({ type: 'bytes' }, Buffer.from([0, 255, 16]).toString('base64'))).toBe('\\x00ff10');
    expect(conv({ type: 'bytes' }, '')).toBe('\\x');
    expect(conv({ type: 'bytes' }, ctx.placeholderBase64)).toBe(UNAVAILABLE);
    expect(() => conv({ type: 'bytes' }, 'not base64!')).toThrow(/base64/);
  });
  it('binary.handling.mode strings with source type bytea', () => {
    const p = { '__debezium.source.column.type': 'BYTEA' };
    expect(conv({ type: 'string', parameters: p }, 'AP8=')).toBe('\\x00ff');
    const hex = codecFor({ type: 'string', parameters: p }, { ...ctx, binaryStrings: 'hex' });
    expect(hex.pgType).toBe('bytea');
    expect(hex.convert('00FF')).toBe('\\x00ff');
  });
  it('Bits: little-endian bytes → bit string of the declared length', () => {
    const b = { type: 'bytes', name: 'io.debezium.data.Bits', parameters: { length: '10' } };
    // bits 0 and 9 set: bytes [0x01, 0x02]
    expect(conv(b, Buffer.from([0x01, 0x02]).toString('base64'))).toBe('1000000001');
    expect(conv({ ...b, parameters: { length: '3' } }, Buffer.from([0x05]).toString('base64'))).toBe('101');
    expect(codec(b).pgType).toBe('bit varying(10)');
  });
  it('bit(1) as boolean with source type bit', () => {
    const c = codec({ type: 'boolean', parameters: { '__debezium.source.column.type': 'BIT', '__debezium.source.column.length': '1' } });
    expect(c.pgType).toBe('bit(1)');
    expect(c.convert(true)).toBe('1');
  });
  it('Json, Uuid, Xml, Enum, EnumSet', () => {
    expect(codec({ type: 'string', name: 'io.debezium.data.Json' }).pgType).toBe('jsonb');
    expect(codec({ type: 'string', name: 'io.debezium.data.Uuid' }).pgType).toBe('uuid');
    expect(codec({ type: 'string', name: 'io.debezium.data.Xml' }).pgType).toBe('xml');
    expect(conv({ type: 'string', name: 'io.debezium.data.EnumSet' }, 'a,b')).toBe('a,b');
    expect(conv({ type: 'struct', name: 'io.debezium.data.geometry.Point' }, { x: 1, y: 2 })).toBe('{"x":1,"y":2}');
  });
  it('source column type propagation', () => {
    const p = (t: string, len?: string, sc?: string) => ({
      '__debezium.source.column.type': t,
      ...(len ? { '__debezium.source.column.length': len } : {}),
      ...(sc ? { '__debezium.source.column.scale': sc } : {}),
    });
    expect(codec({ type: 'string', parameters: p('VARCHAR', '40') }).pgType).toBe('varchar(40)');
    expect(codec({ type: 'int32', parameters: p('SERIAL') }).pgType).toBe('int4');
    expect(codec({ type: 'int64', name: 'io.debezium.time.MicroTimestamp', parameters: p('TIMESTAMP', '29', '3') }).pgType).toBe('timestamp(3)');
    expect(codec({ type: 'string', parameters: p('DATETIME') }).pgType).toBe('text');
    expect(codec({ type: 'array', items: { type: 'int32', optional: true }, parameters: p('_INT4') }).pgType).toBe('int4[]');
  });
});

describe('arrays', () => {
  const text = { type: 'array', items: { type: 'string', optional: true } };
  it('quotes and escapes elements, NULLs, empty arrays', () => {
    expect(conv(text, [])).toBe('{}');
    expect(conv(text, ['a', null, 'b c', 'x,y', 'q"t', 'b\\s', '', 'NULL', 'null', '{}'])).toBe(
      '{a,NULL,"b c","x,y","q\\"t","b\\\\s","","NULL","null","{}"}',
    );
    expect(quoteElement('plain')).toBe('plain');
  });
  it('one-element placeholder array → UNAVAILABLE', () => {
    expect(conv(text, ['__debezium_unavailable_value'])).toBe(UNAVAILABLE);
    const ints = Array.from(Buffer.from('__debezium_unavailable_value'));
    expect(conv({ type: 'array', items: { type: 'int32' } }, ints)).toBe(UNAVAILABLE);
    expect(conv({ type: 'array', items: { type: 'int64' } }, ints.slice(1))).toBe('{' + ints.slice(1).join(',') + '}');
  });
  it('arrays of codecs and nested arrays', () => {
    const dates = { type: 'array', items: { type: 'int32', name: 'io.debezium.time.Date', optional: true } };
    expect(codec(dates).pgType).toBe('date[]');
    expect(conv(dates, [0, null, 19782])).toBe('{1970-01-01,NULL,2024-02-29}');
    const ts = { type: 'array', items: { type: 'int64', name: 'io.debezium.time.MicroTimestamp' } };
    expect(conv(ts, [1])).toBe('{"1970-01-01 00:00:00.000001"}');
    const nested = { type: 'array', items: { type: 'array', items: { type: 'int32' } } };
    expect(codec(nested).pgType).toBe('integer[]');
    expect(conv(nested, [[1, 2], [3, null]])).toBe('{{1,2},{3,NULL}}');
    expect(() => conv({ type: 'array', items: { type: 'int32' } }, [1, 'x'])).toThrow(/array element 1/);
  });
});

describe('protectBigInts', () => {
  it('marks only standalone 16+-digit integers outside strings', () => {
    const text = '{"a":12345678901234567890,"b":-9223372036854775808,"c":"12345678901234567890","d":1.12345678901234567890,"e":1e-12345678901234567,"f":[1234567890123456],"g":"x\\"12345678901234567"}';
    expect(JSON.parse(protectBigInts(text))).toEqual({
      a: '\u000012345678901234567890', b: '\u0000-9223372036854775808', c: '12345678901234567890',
      d: 1.1234567890123457, e: 0, f: ['\u00001234567890123456'], g: 'x"12345678901234567',
    });
    expect(protectBigInts('{"a":1}')).toBe('{"a":1}');
  });
});
