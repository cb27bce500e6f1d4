/** bytea (base64 bytes, or hex/base64 strings per binary.handling.mode) and Debezium Bits. */
import type { PgValue } from '../../kernel/types';
import { UNAVAILABLE } from '../../kernel/types';
import type { CodecContext } from './types';
import { fail } from './types';

const BASE64 = /^[A-Za-z0-9+/\-_]*={0,2}$/;
const HEX = /^(?:[0-9a-fA-F]{2})*$/;

export function bytesConverter(ctx: CodecContext): (v: unknown) => PgValue {
  const placeholder = ctx.placeholderBase64;
  return (v) => {
    if (typeof v !== 'string' || !BASE64.test(v)) return fail('base64 bytes', v);
    if (v === placeholder) return UNAVAILABLE;
    return '\\x' + Buffer.from(v, 'base64').toString('hex');
  };
}

/** A bytea column sent as a Connect string (binary.handling.mode=hex or base64). */
export function binaryStringConverter(ctx: CodecContext): (v: unknown) => PgValue {
  const placeholder = ctx.placeholderBase64;
  if (ctx.binaryStrings === 'hex') {
    return (v) => {
      if (typeof v !== 'string' || !HEX.test(v)) return fail('hex-encoded bytes (binary.handling.mode=hex)', v);
      return '\\x' + v.toLowerCase();
    };
  }
  return (v) => {
    if (typeof v !== 'string' || !BASE64.test(v)) return fail('base64-encoded bytes (binary.handling.mode=base64)', v);
    if (v === placeholder) return UNAVAILABLE;
    return '\\x' + Buffer.from(v, 'base64').toString('hex');
  };
}

/**
 * io.debezium.data.Bits: bytes, little-endian, bit 0 = rightmost character of the bit string.
 * `length` is the column's bit count (bit(n)): the value is padded to it. Without it (varbit) the
 * bytes do not say how many bits the value had, so leading zeros cannot be recovered: the value
 * is written without them ('0' for zero, '' for no bytes at all).
 */
export function bitsConverter(length: number | undefined): (v: unknown) => PgValue {
  return (v) => {
    if (typeof v !== 'string' || !BASE64.test(v)) return fail('base64 bytes (io.debezium.data.Bits)', v);
    const buf = Buffer.from(v, 'base64');
    const n = length ?? buf.length * 8;
    let out = '';
    for (let j = 0; j < n; j++) {
      const bit = n - 1 - j;
      const byte = bit >> 3;
      out += byte < buf.length && (buf[byte]! >> (bit & 7)) & 1 ? '1' : '0';
    }
    if (length !== undefined || out.length === 0) return out;
    const first = out.indexOf('1');
    return first < 0 ? '0' : out.slice(first);
  };
}
