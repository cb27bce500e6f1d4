/** Integers, floats and exact decimals (Connect Decimal, Debezium VariableScaleDecimal). */
import type { PgValue } from '../../kernel/types';
import { checkExact, ConvertError, fail } from './types';

const INT_TEXT = /^-?\d+$/;

/** An integer as text, exact for any size (big literals arrive marked by the JSON pre-pass). */
export function intText(v: unknown, what: string): string {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) return String(v);
    checkExact(v);
    return fail(what, v);
  }
  if (typeof v === 'string') {
    const s = v.charCodeAt(0) === 0 ? v.slice(1) : v;
    if (INT_TEXT.test(s)) return s;
  }
  return fail(what, v);
}

/** An integer as number when safe, else bigint: for time arithmetic. */
export function intValue(v: unknown, what: string): number | bigint {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) return v;
    checkExact(v);
    return fail(what, v);
  }
  if (typeof v === 'string') {
    const s = v.charCodeAt(0) === 0 ? v.slice(1) : v;
    if (INT_TEXT.test(s)) return BigInt(s);
  }
  return fail(what, v);
}

export function convertInt(v: unknown): PgValue {
  return intText(v, 'an integer');
}

/** float32/float64: JSON numbers, or Jackson's "NaN"/"Infinity"/"-Infinity" strings. */
export function convertFloat(v: unknown): PgValue {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') {
    if (v === 'NaN' || v === 'Infinity' || v === '-Infinity') return v;
    // A huge integral double written without exponent arrives marked by the pre-pass.
    if (v.charCodeAt(0) === 0) return v.slice(1);
  }
  return fail('a floating-point number', v);
}

/** decimal.handling.mode=string (and similar): a numeric literal as text. */
const NUMERIC_TEXT = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|NaN|[+-]?Infinity)$/;
export function convertNumericString(v: unknown): PgValue {
  if (typeof v === 'string' && NUMERIC_TEXT.test(v)) return v;
  if (typeof v === 'number') return String(v);
  return fail('a numeric string', v);
}

/** Value of each base64 character, -1 for anything else ('=' included). */
const B64_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64_VALUE['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.charCodeAt(i)] = i;

/**
 * Hot path for the common short decimal: base64 of at most 6 bytes (8 characters) decoded
 * straight into a double (48 bits, exact) without a Buffer or a BigInt. undefined when the text
 * is longer or not canonical base64, for unscaledFromBase64 to handle.
 */
function unscaledSmall(b64: string): number | undefined {
  const len = b64.length;
  if (len === 0 || len > 8 || (len & 3) !== 0) return undefined;
  const pad = b64.charCodeAt(len - 1) !== 61 ? 0 : b64.charCodeAt(len - 2) === 61 ? 2 : 1;
  let bits = 0;
  let n = 0;
  for (let i = 0; i < len - pad; i++) {
    const c = b64.charCodeAt(i);
    const v = c < 128 ? B64_VALUE[c]! : -1;
    if (v < 0) return undefined;
    n = n * 64 + v;
    bits += 6;
  }
  const bytes = (len / 4) * 3 - pad;
  const extra = bits - bytes * 8; // 0, 2 or 4 leftover bits of padding
  const rest = n % 2 ** extra;
  if (rest !== 0) return undefined; // non-zero padding bits: not what a Decimal writes
  n = (n - rest) / 2 ** extra;
  const top = 2 ** (bytes * 8);
  return n >= top / 2 ? n - top : n; // two's complement
}

/** Big-endian two's-complement bytes → BigInt. */
export function unscaledFromBase64(b64: string): bigint {
  const buf = Buffer.from(b64, 'base64');
  if (buf.length === 0) return 0n;
  let n = BigInt('0x' + buf.toString('hex'));
  if (buf[0]! & 0x80) n -= 1n << BigInt(buf.length * 8);
  return n;
}

/** Unscaled value (a safe integer or any bigint) → text with the decimal point placed. */
function unscaledText(b64: string, scale: number): string {
  const small = unscaledSmall(b64);
  return small === undefined ? scaledText(unscaledFromBase64(b64), scale) : scaledText(small, scale);
}

/** Place the decimal point: unscaled 12345, scale 2 → '123.45'; exact at any size. */
export function scaledText(unscaled: bigint | number, scale: number): string {
  const neg = unscaled < 0;
  let digits = (neg ? -unscaled : unscaled).toString();
  if (scale > 0) {
    if (digits.length <= scale) digits = '0'.repeat(scale - digits.length + 1) + digits;
    digits = digits.slice(0, digits.length - scale) + '.' + digits.slice(digits.length - scale);
  } else if (scale < 0) {
    digits = digits === '0' ? '0' : digits + '0'.repeat(-scale);
  }
  return neg ? '-' + digits : digits;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function decimalConverter(scale: number): (v: unknown) => PgValue {
  return (v) => {
    if (typeof v === 'string' && BASE64.test(v)) return unscaledText(v, scale);
    // Some producers send decimals as JSON numbers (e.g. schemaless JsonConverter settings).
    if (typeof v === 'number') return String(v);
    return fail('a base64 decimal (org.apache.kafka.connect.data.Decimal)', v);
  };
}

export function convertVariableScaleDecimal(v: unknown): PgValue {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as { scale?: unknown; value?: unknown };
    if (typeof o.scale === 'number' && Number.isInteger(o.scale) && typeof o.value === 'string' && BASE64.test(o.value)) {
      return unscaledText(o.value, o.scale);
    }
  }
  return fail('{scale, value} (io.debezium.data.VariableScaleDecimal)', v);
}

export function parseScale(p: Readonly<Record<string, string>> | undefined, key: string): number {
  const raw = p?.[key];
  if (raw === undefined) return 0;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw new ConvertError(`schema parameter ${key}="${raw}" is not an integer`);
  return n;
}
