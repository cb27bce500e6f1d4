/**
 * The type registry: a Connect field schema → { pgType, convert }. Looked up by logical name
 * first, then by primitive type; done once per distinct schema, never per message.
 */
import type { PgValue } from '../../kernel/types';
import { arrayConverter } from './array';
import { binaryStringConverter, bitsConverter, bytesConverter } from './binary';
import { convertFloat, convertInt, convertNumericString, convertVariableScaleDecimal, decimalConverter, parseScale } from './numeric';
import { sourcePgType } from './pgtype';
import {
  convertConnectDate, convertEpochDays, convertIsoString, convertMicroDuration, convertMicroTime,
  convertMicroTimestamp, convertNanoTime, convertNanoTimestamp, convertTimeMs, convertTimestampMs,
} from './time';
import type { Codec, CodecContext, Convert, FieldSchema } from './types';
import { ConvertError, fail, plainJson } from './types';

export type { Codec, CodecContext, Convert, FieldSchema } from './types';
export { codecContext } from './types';
export { ConvertError, BIG_MARK } from './types';

function convertString(v: unknown): PgValue {
  if (typeof v === 'string') return v;
  return fail('a string', v);
}

function convertBoolean(v: unknown): PgValue {
  if (v === true) return 't';
  if (v === false) return 'f';
  return fail('a boolean', v);
}

/** bit(1) columns arrive as Connect booleans; PostgreSQL's bit input wants '1'/'0'. */
function convertBooleanBit(v: unknown): PgValue {
  if (v === true) return '1';
  if (v === false) return '0';
  return fail('a boolean', v);
}

/** Structs and maps without a more specific codec (geometry, hstore as map, …) land as jsonb. */
function convertJsonValue(v: unknown): PgValue {
  if (typeof v === 'object' && v !== null) return plainJson(v);
  return fail('an object', v);
}

type Factory = (s: FieldSchema, ctx: CodecContext) => Codec;

const c = (pgType: string, convert: Convert): Codec => ({ pgType, convert });

const LOGICAL: Record<string, Factory> = {
  'org.apache.kafka.connect.data.Decimal': (s) => {
    const scale = parseScale(s.parameters, 'scale');
    const precision = s.parameters?.['connect.decimal.precision'];
    const pgType = precision !== undefined && Number(precision) > 0 && Number(precision) <= 1000 && scale >= 0
      ? `numeric(${precision},${scale})` : 'numeric';
    return c(pgType, decimalConverter(scale));
  },
  'io.debezium.data.VariableScaleDecimal': () => c('numeric', convertVariableScaleDecimal),
  'io.debezium.time.Date': () => c('date', convertEpochDays),
  'org.apache.kafka.connect.data.Date': () => c('date', convertConnectDate),
  'io.debezium.time.Time': () => c('time', convertTimeMs),
  'org.apache.kafka.connect.data.Time': () => c('time', convertTimeMs),
  'io.debezium.time.MicroTime': () => c('time', convertMicroTime),
  'io.debezium.time.NanoTime': () => c('time', convertNanoTime),
  'io.debezium.time.Timestamp': () => c('timestamp', convertTimestampMs),
  'org.apache.kafka.connect.data.Timestamp': () => c('timestamp', convertTimestampMs),
  'io.debezium.time.MicroTimestamp': () => c('timestamp', convertMicroTimestamp),
  'io.debezium.time.NanoTimestamp': () => c('timestamp', convertNanoTimestamp),
  'io.debezium.time.ZonedTimestamp': () => c('timestamptz', convertIsoString),
  'io.debezium.time.IsoTimestamp': () => c('timestamptz', convertIsoString),
  'io.debezium.time.ZonedTime': () => c('timetz', convertIsoString),
  'io.debezium.time.IsoTime': () => c('time', convertIsoString),
  'io.debezium.time.IsoDate': () => c('date', convertIsoString),
  'io.debezium.time.MicroDuration': () => c('interval', convertMicroDuration),
  'io.debezium.time.Interval': () => c('interval', convertIsoString),
  'io.debezium.time.Year': () => c('integer', convertInt),
  'io.debezium.data.Json': () => c('jsonb', convertString),
  'io.debezium.data.Uuid': () => c('uuid', convertString),
  'io.debezium.data.Xml': () => c('xml', convertString),
  'io.debezium.data.Enum': () => c('text', convertString),
  'io.debezium.data.EnumSet': () => c('text', convertString),
  'io.debezium.data.Ltree': () => c('text', convertString),
  'io.debezium.data.Bits': (s) => {
    const len = s.parameters?.['length'];
    const n = len === undefined ? undefined : Number(len);
    // Unconstrained varbit arrives with length 2^31-1: beyond PostgreSQL's bit length limit, and
    // a converter writing that many bits would exhaust memory. Treat it as "length unknown".
    const known = n !== undefined && Number.isInteger(n) && n > 0 && n <= MAX_BIT_LENGTH;
    return known ? c(`bit varying(${n})`, bitsConverter(n)) : c('bit varying', bitsConverter(undefined));
  },
};

/** PostgreSQL's largest bit/varbit length (VARBITMAXLEN). */
const MAX_BIT_LENGTH = 83_886_080;

function primitive(s: FieldSchema, ctx: CodecContext): Codec {
  switch (s.type) {
    case 'int8':
    case 'int16':
      return c('smallint', convertInt);
    case 'int32':
      return c('integer', convertInt);
    case 'int64':
      return c('bigint', convertInt);
    case 'float32':
    case 'float': // JsonConverter spells Connect's FLOAT32/FLOAT64 as "float"/"double"
      return c('real', convertFloat);
    case 'float64':
    case 'double':
      return c('double precision', convertFloat);
    case 'boolean':
      return c('boolean', convertBoolean);
    case 'string':
      return c('text', convertString);
    case 'bytes':
      return c('bytea', bytesConverter(ctx));
    case 'array': {
      if (!s.items) throw new ConvertError('array schema without "items"');
      const el = codecFor(s.items, ctx);
      return c(el.pgType.endsWith('[]') ? el.pgType : el.pgType + '[]', arrayConverter(el.convert, s.items.type === 'array', ctx.placeholder));
    }
    case 'map':
    case 'struct':
      return c('jsonb', convertJsonValue);
    default:
      throw new ConvertError(`unknown Connect type "${s.type}"`);
  }
}

/** Adjust the codec to the source column type when propagated (bit(1), bytea as string, numeric as string). */
function withSourceType(base: Codec, s: FieldSchema, ctx: CodecContext): Codec {
  const src = sourcePgType(s.parameters);
  if (src === undefined) return base;
  if (s.type === 'boolean' && (src.startsWith('bit(') || src.startsWith('varbit') || src === 'bit')) return c(src, convertBooleanBit);
  // varbit(n): `length` is the maximum, not the value's length, so it must not pad to it.
  if (s.name === 'io.debezium.data.Bits' && src.startsWith('varbit')) return c(src, bitsConverter(undefined));
  if (s.type === 'string' && s.name === undefined) {
    if (src === 'bytea') return c(src, binaryStringConverter(ctx));
    if (src.startsWith('numeric') || src === 'money') return c(src, convertNumericString);
  }
  if (s.type === 'bytes' && s.name === undefined && src !== 'bytea') return base;
  return c(src, base.convert);
}

export function codecFor(s: FieldSchema, ctx: CodecContext): Codec {
  const factory = s.name !== undefined ? LOGICAL[s.name] : undefined;
  const base = factory ? factory(s, ctx) : primitive(s, ctx);
  return withSourceType(base, s, ctx);
}
