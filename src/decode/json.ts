/**
 * JSON helpers for the hot path: split a JsonConverter message into its schema text (a cache key,
 * parsed once) and payload text (parsed per message), and keep 64-bit integers exact.
 */
import { BIG_MARK } from './codecs/types';

/** A run of 16+ digits somewhere: only then can a number lose precision in a double. */
const LONG_DIGITS = /\d{16}/;

/**
 * Rewrite integer literals of 16+ digits (outside strings) as strings marked with BIG_MARK so
 * JSON.parse keeps them exact (int64 ids, nanosecond timestamps). Numbers with a fraction or
 * exponent are floats anyway and are left alone.
 */
export function protectBigInts(text: string): string {
  if (!LONG_DIGITS.test(text)) return text;
  let out = '';
  let last = 0;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const ch = text.charCodeAt(i);
    if (ch === 34 /* " */) {
      i++;
      while (i < n) {
        const c = text.charCodeAt(i);
        if (c === 92 /* \ */) i += 2;
        else if (c === 34) break;
        else i++;
      }
      i++;
      continue;
    }
    if ((ch >= 48 && ch <= 57) || ch === 45 /* - */) {
      const start = i;
      i++;
      while (i < n && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
      const next = text.charCodeAt(i);
      const isFloat = next === 46 || next === 101 || next === 69;
      const digits = i - start - (ch === 45 ? 1 : 0);
      if (!isFloat && digits >= 16) {
        out += text.slice(last, start) + '"\\u0000' + text.slice(start, i) + '"';
        last = i;
      }
      continue;
    }
    i++;
  }
  return last === 0 ? text : out + text.slice(last);
}

export function parseJson(text: string): unknown {
  return JSON.parse(protectBigInts(text));
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
export function splitEnvelope(text: string): Split {
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
  return parseWhole(text);
}

export function parseWhole(text: string): Split {
  const whole = parseJson(text);
  if (whole !== null && typeof whole === 'object' && !Array.isArray(whole)) {
    const o = whole as Record<string, unknown>;
    if ('schema' in o && 'payload' in o && Object.keys(o).length === 2) {
      return { kind: 'parsed', payload: o.payload, schema: o.schema, hasSchema: true };
    }
  }
  return { kind: 'parsed', payload: whole, hasSchema: false };
}
