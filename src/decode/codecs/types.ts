/**
 * The codec contract: one codec per Debezium/Connect logical name (or primitive type), compiled
 * once per distinct schema. `convert` turns one JSON value into PostgreSQL text input form.
 */
import type { PgValue } from '../../kernel/types';

/** A Connect schema node as JsonConverter serialises it. */
export interface FieldSchema {
  readonly type: string;
  readonly optional?: boolean;
  readonly name?: string;
  readonly version?: number;
  readonly field?: string;
  readonly parameters?: Readonly<Record<string, string>>;
  readonly fields?: readonly FieldSchema[];
  readonly items?: FieldSchema;
  readonly keys?: FieldSchema;
  readonly values?: FieldSchema;
}

export type Convert = (v: unknown) => PgValue;

export interface Codec {
  /** PostgreSQL type to create the column with. */
  readonly pgType: string;
  readonly convert: Convert;
}

export interface CodecContext {
  /** Unchanged-TOAST placeholder text, e.g. '__debezium_unavailable_value'. */
  readonly placeholder: string;
  /** The placeholder's UTF-8 bytes in base64: how it arrives in a bytea column. */
  readonly placeholderBase64: string;
  /** How binary values sent as Connect strings are encoded (binary.handling.mode). */
  readonly binaryStrings: 'base64' | 'hex';
}

/**
 * The context both decoders compile with. `owner` names the options type in the error for an
 * empty placeholder (e.g. 'DecoderOptions').
 */
export function codecContext(opts: { unavailablePlaceholder?: string; binaryStringMode?: 'base64' | 'hex' }, owner: string): CodecContext {
  const placeholder = opts.unavailablePlaceholder ?? '__debezium_unavailable_value';
  if (placeholder.length === 0) throw new TypeError(`${owner}.unavailablePlaceholder must not be empty`);
  return {
    placeholder,
    placeholderBase64: Buffer.from(placeholder, 'utf8').toString('base64'),
    binaryStrings: opts.binaryStringMode ?? 'base64',
  };
}

/** A value that does not fit its schema. The decoder adds the column and Kafka position. */
export class ConvertError extends Error {}

/**
 * Thrown when an integer met as a JS number is beyond 2^53 (JSON.parse already rounded it). The
 * decoder then re-parses that one message with big integers kept as text: the common case pays
 * nothing, the rare one is exact.
 */
export class InexactNumber extends Error {}
export const INEXACT = new InexactNumber('integer beyond 2^53 met as a double');

export function checkExact(v: number): void {
  if (!Number.isSafeInteger(v) && Number.isInteger(v)) throw INEXACT;
}

/**
 * Integer literals too long for a double arrive from the JSON pre-pass as strings starting with
 * NUL (a character PostgreSQL text can never hold, so no real value is mistaken for one).
 */
export const BIG_MARK = '\u0000';

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') {
    const s = v.charCodeAt(0) === 0 ? v.slice(1) : v;
    return `string "${s.length > 40 ? s.slice(0, 40) + '…' : s}"`;
  }
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

export function fail(expected: string, v: unknown): never {
  throw new ConvertError(`expected ${expected}, got ${describe(v)}`);
}

const MARKED_NUMBER = /"\\u0000(-?\d+)"/g;

function exactNumbers(_k: string, x: unknown): unknown {
  if (typeof x === 'number') checkExact(x);
  return x;
}

/**
 * jsonb text of a parsed value: big integers the exact pre-pass kept as marked strings go back to
 * bare numbers (JSON.stringify writes the NUL mark as \u0000, which no jsonb string may hold), and a
 * rounded one asks for the exact re-parse.
 */
export function plainJson(v: unknown): string {
  const s = JSON.stringify(v, exactNumbers);
  return s.includes('\\u0000') ? s.replace(MARKED_NUMBER, '$1') : s;
}
