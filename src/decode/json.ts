/**
 * JSON helpers for the hot path: split a JsonConverter message into its schema text (a cache key,
 * parsed once) and payload text (parsed per message), and keep 64-bit integers exact.
 */

/** A run of 16+ digits somewhere: only then can a number lose precision in a double. */
const LONG_DIGITS = /\d{16}/;

/** A whole string literal (skipped as is), or an integer literal of 16+ digits standing alone. */
const STRING_OR_BIG = /"[^"\\]*(?:\\.[^"\\]*)*"|(?<![\w.+-])-?\d{16,}(?![\d.eE])/g;

/**
 * Rewrite integer literals of 16+ digits (outside strings) as strings marked with BIG_MARK so
 * JSON.parse keeps them exact (int64 ids, nanosecond timestamps). Numbers with a fraction or
 * exponent are floats anyway and are left alone.
 */
export function protectBigInts(text: string): string {
  if (!LONG_DIGITS.test(text)) return text;
  return text.replace(STRING_OR_BIG, (m) => (m.charCodeAt(0) === 34 ? m : '"\\u0000' + m + '"'));
}

/** exact: keep 16+-digit integers as marked text (the retry after an InexactNumber). */
export function parseJson(text: string, exact: boolean): unknown {
  return JSON.parse(exact ? protectBigInts(text) : text);
}

const SCHEMA_HEAD = '{"schema":';
const PAYLOAD_SEP = ',"payload":';

export type Split =
  /** Compact JsonConverter layout: schema text (cache key) and payload text, not yet parsed. */
  | { readonly kind: 'text'; readonly schemaText: string; readonly payloadText: string }
  /** Anything else, parsed whole; `schema` present when the message had a schema envelope. */
  | { readonly kind: 'parsed'; readonly payload: unknown; readonly schema?: unknown; readonly hasSchema: boolean };

/**
 * JsonConverter writes `{"schema":…,"payload":…}` compactly, schema first. Find the boundary
 * without parsing the schema; the caller validates the schema text when it first meets it (a
 * false boundary inside the schema cannot parse as a whole value) and falls back to
 * `parseWhole`. Anything else — whitespace, other key order, schemaless — is parsed whole.
 */
export function splitEnvelope(text: string, exact: boolean): Split {
  if (text.startsWith(SCHEMA_HEAD)) {
    const sep = text.indexOf(PAYLOAD_SEP, SCHEMA_HEAD.length);
    if (sep > 0 && text.charCodeAt(text.length - 1) === 125 /* } */) {
      return {
        kind: 'text',
        schemaText: text.slice(SCHEMA_HEAD.length, sep),
        payloadText: text.slice(sep + PAYLOAD_SEP.length, text.length - 1),
      };
    }
  }
  return parseWhole(text, exact);
}

export function parseWhole(text: string, exact: boolean): Split {
  const whole = parseJson(text, exact);
  if (whole !== null && typeof whole === 'object' && !Array.isArray(whole)) {
    const o = whole as Record<string, unknown>;
    if ('schema' in o && 'payload' in o && Object.keys(o).length === 2) {
      return { kind: 'parsed', payload: o.payload, schema: o.schema, hasSchema: true };
    }
  }
  return { kind: 'parsed', payload: whole, hasSchema: false };
}

const HEAD_BYTES = Buffer.from(SCHEMA_HEAD);
const SEP_BYTES = Buffer.from(PAYLOAD_SEP);

/** Byte offsets of the schema and payload inside a compact JsonConverter message. */
export interface ByteSplit {
  readonly schemaStart: number;
  readonly schemaEnd: number;
  readonly payloadStart: number;
  readonly payloadEnd: number;
}

/** `bytes` at `at` in `buf`: a plain loop, cheaper than a native compare for a few bytes. */
function bytesAt(buf: Buffer, at: number, bytes: Buffer): boolean {
  if (at < 0 || at + bytes.length > buf.length) return false;
  for (let i = 0; i < bytes.length; i++) if (buf[at + i] !== bytes[i]) return false;
  return true;
}

/** Like splitEnvelope but on the raw bytes, so the schema never becomes a JS string on a cache hit. */
export function splitBytes(buf: Buffer, hintSchemaLength = -1): ByteSplit | null {
  if (buf.length < HEAD_BYTES.length + SEP_BYTES.length + 1 || !bytesAt(buf, 0, HEAD_BYTES)) return null;
  if (buf[buf.length - 1] !== 125 /* } */) return null;
  // Consecutive messages mostly share a schema: try the last one's length before searching
  // kilobytes of schema for the separator.
  const hinted = HEAD_BYTES.length + hintSchemaLength;
  const sep = hintSchemaLength > 0 && hinted + SEP_BYTES.length < buf.length && bytesAt(buf, hinted, SEP_BYTES)
    ? hinted
    : buf.indexOf(SEP_BYTES, HEAD_BYTES.length);
  if (sep < 0) return null;
  return { schemaStart: HEAD_BYTES.length, schemaEnd: sep, payloadStart: sep + SEP_BYTES.length, payloadEnd: buf.length - 1 };
}

/**
 * Compiled schemas keyed by their exact bytes. Lookup is by length, then memcmp against the few
 * schemas of that length: no string decoding or hashing of multi-kilobyte schema text per message.
 */
export class SchemaCache<T> {
  private readonly byLength = new Map<number, { bytes: Buffer; value: T }[]>();
  private size = 0;

  constructor(private readonly max: number) {}

  get(buf: Buffer, start: number, end: number): T | undefined {
    const list = this.byLength.get(end - start);
    if (list === undefined) return undefined;
    for (const e of list) {
      if (buf.compare(e.bytes, 0, e.bytes.length, start, end) === 0) return e.value;
    }
    return undefined;
  }

  set(buf: Buffer, start: number, end: number, value: T): void {
    if (this.size >= this.max) {
      this.byLength.clear();
      this.size = 0;
    }
    const bytes = Buffer.from(buf.subarray(start, end)); // a copy: the record's buffer is reused
    const list = this.byLength.get(bytes.length);
    if (list) list.push({ bytes, value });
    else this.byLength.set(bytes.length, [{ bytes, value }]);
    this.size++;
  }
}
