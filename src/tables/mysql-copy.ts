/**
 * MySQL text-protocol rows → COPY text, byte to byte: each row packet's length-coded fields are
 * written straight into a page buffer as PostgreSQL COPY text (FORMAT text), with no JS string,
 * Buffer or object per value. The mapping is ./mysql-types.ts's `valueDecoder` followed by COPY's
 * escaping, exactly (test/unit/tables/mysql-copy.test.ts compares the two over every kind):
 *  - ascii (integers, decimals, floats, time, uuid, inet): the bytes as they are (digits, signs,
 *    points, colons, letters: nothing COPY escapes);
 *  - text, json: the UTF-8 bytes with `\` TAB LF CR escaped; NUL (text) or a `\u0000` escape
 *    (json) refused; invalid UTF-8 is replaced as `toString('utf8')` would (once per page, see take());
 *  - bytes: `\\x` + hex; bits and booleans: their text; dates: checked, year 0 as 1 BC, zero dates NULL.
 */
import { isUtf8 } from 'node:buffer';
import type { CopyTextPage } from '../copy-text/page';
import type { SourceColumn } from './table-source';
import { arg, daysIn, jsonNulError, kindOf, notCalendarDateError, notDateError, textNulError, type ValueContext } from './mysql-types';

const TAB = 9;
const LF = 10;
const CR = 13;
const BSL = 92;
const HEX = Buffer.from('0123456789abcdef');

/** A growing byte buffer of whole COPY lines. */
export class CopyPageWriter {
  buf: Buffer;
  len = 0;
  rows = 0;

  constructor(private readonly initial: number) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  /** Room for `n` more bytes. */
  room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  /** The page so far (a fresh buffer starts). Text that is not valid UTF-8 is decoded and encoded again, as a string would be. */
  take(): CopyTextPage {
    let text = this.buf.subarray(0, this.len);
    if (!isUtf8(text)) text = Buffer.from(text.toString('utf8'), 'utf8');
    const page = { text, rows: this.rows };
    this.buf = Buffer.allocUnsafe(this.initial);
    this.len = 0;
    this.rows = 0;
    return page;
  }
}

/** Writes one non-NULL value `src[start, end)` to `w` (room for it already made). */
type FieldWriter = (src: Buffer, start: number, end: number, w: CopyPageWriter) => void;

function verbatim(src: Buffer, start: number, end: number, w: CopyPageWriter): void {
  if (end - start > 32) {
    src.copy(w.buf, w.len, start, end);
    w.len += end - start;
    return;
  }
  const b = w.buf;
  let o = w.len;
  for (let i = start; i < end; i++) b[o++] = src[i]!;
  w.len = o;
}

function put(w: CopyPageWriter, s: string): void {
  for (let i = 0; i < s.length; i++) w.buf[w.len++] = s.charCodeAt(i);
}

/** Writes one byte at `o`, escaped for COPY text when it must be; returns the next offset. */
function escaped(b: Buffer, o: number, c: number): number {
  switch (c) {
    case BSL:
      b[o] = BSL;
      b[o + 1] = BSL;
      return o + 2;
    case TAB:
      b[o] = BSL;
      b[o + 1] = 0x74; // t
      return o + 2;
    case LF:
      b[o] = BSL;
      b[o + 1] = 0x6e; // n
      return o + 2;
    case CR:
      b[o] = BSL;
      b[o + 1] = 0x72; // r
      return o + 2;
    default:
      b[o] = c;
      return o + 1;
  }
}

function textWriter(ctx: ValueContext): FieldWriter {
  return (src, start, end, w) => {
    const b = w.buf;
    let o = w.len;
    for (let i = start; i < end; i++) {
      const c = src[i]!;
      if (c > CR && c !== BSL) b[o++] = c;
      else if (c === 0) throw textNulError(ctx);
      else o = escaped(b, o, c);
    }
    w.len = o;
  };
}

/** JSON text: a backslash starts an escape pair, so `\u0000` is found as jsonValue's regex finds it. */
function jsonWriter(ctx: ValueContext): FieldWriter {
  return (src, start, end, w) => {
    const b = w.buf;
    let o = w.len;
    for (let i = start; i < end; i++) {
      const c = src[i]!;
      if (c === BSL && i + 1 < end) {
        if (src[i + 1] === 0x75 && end - i >= 6 && src[i + 2] === 0x30 && src[i + 3] === 0x30 && src[i + 4] === 0x30 && src[i + 5] === 0x30) throw jsonNulError(ctx);
        o = escaped(b, o, c);
        o = escaped(b, o, src[++i]!);
      } else o = escaped(b, o, c);
    }
    w.len = o;
  };
}

function bytesWriter(src: Buffer, start: number, end: number, w: CopyPageWriter): void {
  const b = w.buf;
  let o = w.len;
  b[o++] = BSL;
  b[o++] = BSL;
  b[o++] = 0x78; // x
  for (let i = start; i < end; i++) {
    const c = src[i]!;
    b[o++] = HEX[c >> 4]!;
    b[o++] = HEX[c & 15]!;
  }
  w.len = o;
}

const digit = (src: Buffer, i: number): number => {
  const d = src[i]! - 0x30;
  return d >= 0 && d <= 9 ? d : NaN;
};

/** date, datetime, timestamp (`suffix` '+00': the session is UTC). Zero dates are NULL. */
function dateWriter(ctx: ValueContext, suffix: string): FieldWriter {
  return (src, start, end, w) => {
    const ok = end - start >= 10 && src[start + 4] === 0x2d && src[start + 7] === 0x2d;
    const y = digit(src, start) * 1000 + digit(src, start + 1) * 100 + digit(src, start + 2) * 10 + digit(src, start + 3);
    const mo = digit(src, start + 5) * 10 + digit(src, start + 6);
    const d = digit(src, start + 8) * 10 + digit(src, start + 9);
    if (!ok || Number.isNaN(y + mo + d)) throw notDateError(src.toString('latin1', start, end), ctx);
    if (mo === 0 || d === 0) {
      ctx.onZeroDate?.(ctx.table, ctx.column);
      put(w, '\\N');
      return;
    }
    if (mo > 12 || d > daysIn(y, mo)) throw notCalendarDateError(src.toString('latin1', start, end), ctx);
    if (y === 0) {
      put(w, '0001');
      verbatim(src, start + 4, end, w);
      put(w, ' BC');
    } else verbatim(src, start, end, w);
    put(w, suffix);
  };
}

function intBool(src: Buffer, start: number, end: number, w: CopyPageWriter): void {
  let i = start;
  if (i < end && (src[i] === 0x2b || src[i] === 0x2d)) i++;
  let zero = i < end;
  for (; i < end && zero; i++) zero = src[i] === 0x30;
  w.buf[w.len++] = zero ? 0x66 : 0x74; // f : t
}

function bitBool(src: Buffer, start: number, end: number, w: CopyPageWriter): void {
  let set = false;
  for (let i = start; i < end && !set; i++) set = src[i] !== 0;
  w.buf[w.len++] = set ? 0x74 : 0x66;
}

function bitsWriter(n: number): FieldWriter {
  return (src, start, end, w) => {
    // the low n bits of the big-endian value, most significant first; missing high bits are 0
    const have = (end - start) * 8;
    for (let k = n - 1; k >= 0; k--) {
      let bit = 0;
      if (k < have) {
        const byte = src[end - 1 - (k >> 3)]!;
        bit = (byte >> (k & 7)) & 1;
      }
      w.buf[w.len++] = 0x30 + bit;
    }
  };
}

/** Per column: how to write its values, and how many bytes a value of `len` bytes may take. */
interface ColumnWriter {
  readonly write: FieldWriter;
  /** Output bytes per input byte, at most (escapes double a byte, hex doubles it). */
  readonly factor: number;
}

function columnWriter(col: SourceColumn, ctx: ValueContext): ColumnWriter {
  switch (kindOf(col)) {
    case 'ascii':
      return { write: verbatim, factor: 1 };
    case 'int-bool':
      return { write: intBool, factor: 1 };
    case 'bit-bool':
      return { write: bitBool, factor: 1 };
    case 'bits':
      return { write: bitsWriter(arg(col.sourceType, 1)), factor: 1 };
    case 'text':
      return { write: textWriter(ctx), factor: 2 };
    case 'json':
      return { write: jsonWriter(ctx), factor: 2 };
    case 'bytes':
      return { write: bytesWriter, factor: 2 };
    case 'date':
    case 'datetime':
      return { write: dateWriter(ctx, ''), factor: 1 };
    case 'timestamp':
      return { write: dateWriter(ctx, '+00'), factor: 1 };
  }
}

/** Beyond `len * factor`: `\N`, ` BC`, `+00`, a bit string of up to 64 bits, the separator. */
const SLACK = 80;

/**
 * An encoder of row packets (the payload of a text-protocol result row: one length-coded string
 * or 0xFB NULL per column, in `columns` order) into COPY lines on `w`.
 */
export function rowPacketEncoder(table: string, columns: readonly SourceColumn[], onZeroDate?: (table: string, column: string) => void): (src: Buffer, offset: number, w: CopyPageWriter) => void {
  const writers = columns.map((c) => columnWriter(c, { table, column: c.name, ...(onZeroDate ? { onZeroDate } : {}) }));
  const n = writers.length;
  return (src, offset, w) => {
    let off = offset;
    for (let i = 0; i < n; i++) {
      const cw = writers[i]!;
      let len = src[off++]!;
      if (len === 0xfb) {
        w.room(4);
        if (i > 0) w.buf[w.len++] = TAB;
        put(w, '\\N');
        continue;
      }
      if (len === 0xfc) {
        len = src[off]! | (src[off + 1]! << 8);
        off += 2;
      } else if (len === 0xfd) {
        len = src[off]! | (src[off + 1]! << 8) | (src[off + 2]! << 16);
        off += 3;
      } else if (len === 0xfe) {
        len = src.readUInt32LE(off) + src.readUInt32LE(off + 4) * 2 ** 32;
        off += 8;
      }
      w.room(len * cw.factor + SLACK);
      if (i > 0) w.buf[w.len++] = TAB;
      cw.write(src, off, off + len, w);
      off += len;
    }
    w.room(1);
    w.buf[w.len++] = LF;
    w.rows++;
  };
}
