/**
 * A generated workload covering every codec (the types the fidelity test
 * test/it/fidelity/fidelity.it.ts lands, plus every logical name and primitive the codec registry
 * maps and the column.propagate.source.type variants): creates, snapshot reads, updates with and
 * without before images and key changes, deletes with full and key-only before images, a truncate,
 * records without a key, unchanged-TOAST placeholders, NULLs, COPY's special characters, unicode
 * and integers beyond 2^53. Topic shop.public.wide (prefix shop).
 */
import type { RawRecord } from '../../../src/kernel/types';
import { decimalBytes } from '../../fixtures/factory';

export const PH = '__debezium_unavailable_value';
const B64 = (bytes: number[] | string): string => Buffer.from(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : Buffer.from(bytes)).toString('base64');
const PH_B64 = Buffer.from(PH).toString('base64');
const PH_BYTES = Array.from(Buffer.from(PH));
const SRC = (type: string, length?: string, scale?: string): Record<string, string> => ({
  '__debezium.source.column.type': type,
  ...(length !== undefined ? { '__debezium.source.column.length': length } : {}),
  ...(scale !== undefined ? { '__debezium.source.column.scale': scale } : {}),
});

interface Field {
  readonly name: string;
  readonly schema: Record<string, unknown>;
  readonly samples: readonly unknown[];
}
const DEC2 = { type: 'bytes', name: 'org.apache.kafka.connect.data.Decimal', parameters: { scale: '2', 'connect.decimal.precision': '12' } };
const f = (name: string, schema: Record<string, unknown>, samples: readonly unknown[]): Field => ({ name, schema: { optional: true, ...schema }, samples });
const L = (type: string, logical: string, parameters?: Record<string, string>) => ({ type, name: logical, ...(parameters ? { parameters } : {}) });
const arr = (items: Record<string, unknown>) => ({ type: 'array', items: { optional: true, ...items } });

/** bys: bytea sent as a Connect string; its samples must read in the run's binary.handling.mode. */
function fields(binary: 'base64' | 'hex'): Field[] {
  return [
    f('i8', { type: 'int8' }, [0, -128, 127, null]),
    f('i16', { type: 'int16' }, [-32768, 32767, null, 5]),
    f('i32', { type: 'int32' }, [-2147483648, 2147483647, 0, null]),
    f('i64', { type: 'int64' }, [9223372036854775807n, -9223372036854775808n, 9007199254740993n, 42, null]),
    f('f32', { type: 'float32' }, [3.4028235e38, -1.17549435e-38, 'NaN', 'Infinity', null, 1.5]),
    f('f32b', { type: 'float' }, [1.25, '-Infinity', null]),
    f('f64', { type: 'float64' }, [1.7976931348623157e308, 5e-324, -0.1, 'NaN', null, 1e21]),
    f('f64b', { type: 'double' }, [2.5, 123456789012345680000, null]),
    f('b', { type: 'boolean' }, [true, false, null]),
    f('s', { type: 'string' }, ['plain', 'tab\there', 'new\nline', 'cr\rhere', 'back\\slash', '\\N', 'NULL', '', 'é ✓ 🎉 中文', PH, null, 'all\t\n\r\\ of them', 'q"uote,comma', ' padded\r\n']),
    f('by', { type: 'bytes' }, [B64([0, 255, 16]), B64([]), B64('\\'), PH_B64, null, B64([13, 10, 9])]),
    f('dec', DEC2, [decimalBytes(12345n), decimalBytes(-1n), decimalBytes(0n), decimalBytes(999999999999n), null]),
    f('dec0', L('bytes', 'org.apache.kafka.connect.data.Decimal', { scale: '0' }), [decimalBytes(-(10n ** 37n)), decimalBytes(128n), decimalBytes(12345678901234567890123456789012345678n)]),
    f('decneg', L('bytes', 'org.apache.kafka.connect.data.Decimal', { scale: '-2' }), [decimalBytes(5n), decimalBytes(0n)]),
    f('vsd', L('struct', 'io.debezium.data.VariableScaleDecimal'), [{ scale: 3, value: decimalBytes(-1234567n) }, { scale: 0, value: decimalBytes(10n ** 30n) }, null, { scale: 50, value: decimalBytes(10n ** 50n + 15n) }]),
    f('dd', L('int32', 'io.debezium.time.Date'), [0, -1, 19782, -2147472692, -2147472691, -622191234, -625821272, -719893, null]),
    f('cd', L('int32', 'org.apache.kafka.connect.data.Date'), [0, 86_400_000 * 19782, -86_400_000, null]),
    f('tms', L('int32', 'io.debezium.time.Time'), [0, 86_399_999, 45_296_123, null]),
    f('ctm', L('int32', 'org.apache.kafka.connect.data.Time'), [1000, 0]),
    f('mt', L('int64', 'io.debezium.time.MicroTime'), [0, 86_399_999_999, 45_296_123_456, 86_400_000_000, null]),
    f('nt', L('int64', 'io.debezium.time.NanoTime'), [0, 45_296_123_456_789, null, 86_399_999_999_999n]),
    f('ts', L('int64', 'io.debezium.time.Timestamp'), [0, 1_709_210_096_789, -1, 9223372036825200n, -9223372036832400n, null]),
    f('cts', L('int64', 'org.apache.kafka.connect.data.Timestamp'), [1_709_210_096_789, -62_135_596_800_001]),
    f('mts', L('int64', 'io.debezium.time.MicroTimestamp'), [1_709_210_096_789_012, -62_135_596_800_000_000, 9223372036825200000n, -9223372036832400000n, 253_402_300_799_999_999n, null]),
    f('nts', L('int64', 'io.debezium.time.NanoTimestamp'), [1_709_210_096_789_012_345n, 0, -1, null]),
    f('zts', L('string', 'io.debezium.time.ZonedTimestamp'), ['2024-02-29T12:34:56.789012Z', 'infinity', '-infinity', null]),
    f('its', L('string', 'io.debezium.time.IsoTimestamp'), ['2024-02-29T12:34:56Z']),
    f('ztm', L('string', 'io.debezium.time.ZonedTime'), ['10:00:00.5Z', null]),
    f('itm', L('string', 'io.debezium.time.IsoTime'), ['10:00:00']),
    f('idt', L('string', 'io.debezium.time.IsoDate'), ['2024-02-29']),
    f('dur', L('int64', 'io.debezium.time.MicroDuration'), [37_090_006_789_000, -1, 0, 9223372036854775807n, null]),
    f('iv', L('string', 'io.debezium.time.Interval'), ['P1Y2M3DT4H5M6.78S', '-P1D']),
    f('yr', L('int32', 'io.debezium.time.Year'), [2024, null]),
    f('js', L('string', 'io.debezium.data.Json'), ['{"a": [1, 2.5, null], "b": "x\\ty"}', '{"k": "v\\\\q"}', null, PH, '"just a string"']),
    f('uu', L('string', 'io.debezium.data.Uuid'), ['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', null]),
    f('xm', L('string', 'io.debezium.data.Xml'), ['<a x="1">t\n&amp;</a>', '<e/>']),
    f('en', L('string', 'io.debezium.data.Enum', { allowed: 'sad,ok,happy' }), ['happy', 'sad']),
    f('es', L('string', 'io.debezium.data.EnumSet', { allowed: 'a,b' }), ['a,b', '']),
    f('lt', L('string', 'io.debezium.data.Ltree'), ['top.science']),
    f('bt', L('bytes', 'io.debezium.data.Bits', { length: '8' }), [B64([0xa5]), B64([0]), B64([0xff]), null]),
    f('vb', L('bytes', 'io.debezium.data.Bits'), [B64([5]), B64([]), B64([0, 1])]),
    f('vbig', L('bytes', 'io.debezium.data.Bits', { length: '2147483647' }), [B64([0x81, 0x02])]),
    f('bit1', { type: 'boolean', parameters: SRC('BIT', '1') }, [true, false, null]),
    f('vbs', L('bytes', 'io.debezium.data.Bits', { length: '10', ...SRC('VARBIT', '10') }), [B64([5, 0]), B64([0, 0])]),
    f('bys', { type: 'string', parameters: SRC('BYTEA') }, binary === 'hex' ? ['dead', '00FF', '', null] : ['3q0=', '', PH_B64, null]),
    f('ns', { type: 'string', parameters: SRC('NUMERIC', '10', '3') }, ['-12.345', '1e5', 'NaN', null, '.5']),
    f('mn', { type: 'string', parameters: SRC('MONEY') }, ['12.50', 7]),
    f('i4s', { type: 'int32', parameters: SRC('INT4') }, [7, -7]),
    f('bps', { type: 'string', parameters: SRC('BPCHAR', '5') }, ['ab   ']),
    f('ts6', L('int64', 'io.debezium.time.MicroTimestamp', SRC('TIMESTAMP', '29', '6')), [1_709_210_096_789_012]),
    f('bytx', { type: 'bytes', parameters: SRC('TEXT') }, [B64([1])]),
    f('ip', { type: 'string', parameters: SRC('INET') }, ['192.168.0.1/24', '::1']),
    f('mp', { type: 'map', keys: { type: 'string' }, values: { type: 'string', optional: true } }, [{ a: '1', b: 'x\ty' }, {}, null]),
    f('st', { type: 'struct', name: 'io.debezium.data.geometry.Point', fields: [{ type: 'double', field: 'x' }, { type: 'int64', field: 'n', optional: true }] }, [{ x: 1.5, n: null }, { x: -0.5, n: 12345678901234567890n }]),
    f('as', arr({ type: 'string' }), [['a,b', 'q"uote', null, '', 'NULL', 'back\\slash', '{brace}', 'tab\tx', ' lead', 'é'], [PH], [], null]),
    f('ai', arr({ type: 'int32' }), [[1, null, 3], PH_BYTES, [], null, [-2147483648, 2147483647]]),
    f('al', arr({ type: 'int64' }), [[9223372036854775807n, -1], null]),
    f('aa', arr({ type: 'array', items: { type: 'int32', optional: true } }), [[[1, 2], [3, null]], null, [[]]]),
    f('adec', arr(DEC2), [[decimalBytes(150n), null, decimalBytes(-9999999999n)]]),
    f('add', arr(L('int32', 'io.debezium.time.Date')), [[19782, -1, null]]),
    f('ats', arr(L('int64', 'io.debezium.time.MicroTimestamp')), [[1_709_210_096_789_012, -2_208_988_800_000_000]]),
    f('azt', arr(L('string', 'io.debezium.time.ZonedTimestamp')), [['2024-02-29T07:00:00Z'], null]),
    f('auu', arr(L('string', 'io.debezium.data.Uuid')), [['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11']]),
    f('ab', arr({ type: 'boolean' }), [[true, false, null]]),
    f('af', arr({ type: 'double' }), [[1.5, 'NaN', '-Infinity']]),
    f('ajs', arr(L('string', 'io.debezium.data.Json')), [['{"a":1}', '"s\\\\"']]),
    f('aby', arr({ type: 'bytes' }), [[B64([1, 92]), null]]),
  ];
}

/** JSON text with bigint values written as bare integer literals (as Debezium writes int64). */
function toJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `\u0001BIG${x}` : x)).replace(/"\\u0001BIG(-?\d+)"/g, '$1');
}

type Values = Record<string, unknown>;
const TOPIC = 'shop.public.wide';

export class Workload {
  readonly fs: Field[];
  private readonly rowSchema: Record<string, unknown>[];
  private offset = 0;

  constructor(binary: 'base64' | 'hex') {
    this.fs = fields(binary);
    this.rowSchema = [{ type: 'int64', optional: false, field: 'id' }, ...this.fs.map((x) => ({ ...x.schema, field: x.name }))];
  }

  row(id: number | string, variant: number): Values {
    const r: Values = { id };
    this.fs.forEach((x, j) => {
      r[x.name] = x.samples[(variant + j) % x.samples.length];
    });
    return r;
  }

  private record(key: Values | null, value: string): RawRecord {
    const keyText = key === null ? null : toJson({ schema: { type: 'struct', optional: false, fields: [{ type: 'int64', optional: false, field: 'id' }] }, payload: key });
    return { topic: TOPIC, partition: 0, offset: String(this.offset++), key: keyText === null ? null : Buffer.from(keyText), value: Buffer.from(value) };
  }

  envelope(op: string, before: Values | null, after: Values | null, key: Values | null, lsn: number | bigint): RawRecord {
    const row = (field: string) => ({ type: 'struct', optional: true, name: 'shop.public.wide.Value', fields: this.rowSchema, field });
    const schema = {
      type: 'struct',
      name: 'shop.public.wide.Envelope',
      fields: [
        row('before'), row('after'),
        { type: 'struct', optional: false, field: 'source', fields: [{ type: 'string', field: 'schema' }, { type: 'string', field: 'table' }, { type: 'int64', field: 'ts_ms' }, { type: 'int64', field: 'lsn' }, { type: 'string', field: 'snapshot' }] },
        { type: 'string', optional: false, field: 'op' },
        { type: 'int64', optional: true, field: 'ts_ms' },
      ],
    };
    const payload = { before, after, source: { schema: 'public', table: 'wide', ts_ms: 1_700_000_000_000, lsn, snapshot: op === 'r' ? 'true' : 'false' }, op, ts_ms: 1_700_000_000_001 };
    return this.record(key, `{"schema":${JSON.stringify(schema)},"payload":${toJson(payload)}}`);
  }

  /** ExtractNewRecordState output: the row with `__` metadata (add.fields=op,table,lsn,source.ts_ms). */
  flat(row: Values, meta: Values, key: Values | null): RawRecord {
    const schema = {
      type: 'struct',
      name: 'shop.public.wide.Value',
      fields: [...this.rowSchema, { type: 'string', optional: true, field: '__op' }, { type: 'string', optional: true, field: '__table' }, { type: 'int64', optional: true, field: '__lsn' }, { type: 'int64', optional: true, field: '__source_ts_ms' }, { type: 'string', optional: true, field: '__deleted' }],
    };
    return this.record(key, `{"schema":${JSON.stringify(schema)},"payload":${toJson({ ...row, ...meta })}}`);
  }

  /** Every kind of envelope, cycling the samples so each one of every field appears many times. */
  envelopes(n: number): RawRecord[] {
    const out: RawRecord[] = [];
    for (let i = 0; i < n; i++) {
      const id = 1000 + i;
      const after = this.row(id, i);
      const prev = this.row(id, i + 1);
      const key = { id };
      const lsn = i % 9 === 0 ? 9007199254740993n + BigInt(i) : 10_000 + i;
      switch (i % 10) {
        case 0: out.push(this.envelope('c', null, after, key, lsn)); break;
        case 1: out.push(this.envelope('r', null, after, key, lsn)); break;
        case 2: out.push(this.envelope('u', null, after, key, lsn)); break;
        case 3: out.push(this.envelope('u', prev, after, key, lsn)); break; // REPLICA IDENTITY FULL
        case 4: out.push(this.envelope('u', { ...prev, id: id - 500 }, after, key, lsn)); break; // key changed in one event
        case 5: out.push(this.envelope('d', prev, null, key, lsn), { ...this.record(key, 'null'), value: null }); break;
        case 6: out.push(this.envelope('d', { ...Object.fromEntries(this.fs.map((x) => [x.name, null])), id }, null, key, lsn)); break; // key-only before
        case 7: out.push(this.envelope('c', null, after, null, lsn)); break; // no Kafka key: key from after
        case 8: out.push(this.envelope('d', null, null, key, lsn)); break; // delete without before
        default: out.push(this.envelope('c', null, { ...after, id: PH }, key, lsn)); // key column a placeholder in the row
      }
    }
    out.push(this.envelope('t', null, null, null, 1));
    return out;
  }

  flats(n: number): RawRecord[] {
    const out: RawRecord[] = [];
    for (let i = 0; i < n; i++) {
      const id = 5000 + i;
      const row = this.row(id, i);
      const meta = (op: string | null, deleted: string | boolean) => ({ ...(op === null ? {} : { __op: op }), __table: 'wide', __lsn: 20_000 + i, __source_ts_ms: 1_700_000_000_000 + i, __deleted: deleted });
      switch (i % 6) {
        case 0: out.push(this.flat(row, meta('c', 'false'), { id })); break;
        case 1: out.push(this.flat(row, meta('u', 'false'), { id })); break;
        case 2: out.push(this.flat(row, meta('d', 'true'), { id })); break; // delete.handling.mode=rewrite
        case 3: out.push(this.flat(row, meta(null, true), { id })); break; // __deleted alone
        case 4: out.push(this.flat(row, meta('r', 'false'), null)); break;
        default: out.push(this.flat(row, meta(null, 'false'), { id }));
      }
    }
    return out;
  }
}

