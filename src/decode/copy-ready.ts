/**
 * The COPY-ready decode path: per compiled schema, a parsed payload goes straight to what apply
 * needs — the row's COPY text (schema column order), the buffer's key string, the op and the
 * unchanged-TOAST mask — without a `Row` object per event.
 *
 * It composes the very converters the general path compiled (src/decode/schema.ts, codecs/*) with
 * COPY text escaping, so values cannot drift; test/unit/decode/copy-ready*.test.ts proves the
 * output byte-identical to general decode → Row → appendRow / encodeKey / unavailableMask, and
 * test/it/fidelity/fidelity.it.ts does so on real Debezium output.
 *
 * Chosen once per (value schema, key schema, key columns): `compileCopyReady` returns null when
 * the fast path cannot reproduce the general one exactly (MongoDB, schemaless, and the structural
 * corner cases listed there). Decoder.decodeForMerge (./decoder.ts) uses it for merge: a record the
 * merge buffer can hold as its COPY line (copy-text/line.ts `holdsAsLine`) comes out as the
 * encoder's event; anything else (headers of a primary-key change, placeholders, a value that
 * fails to convert: the general path raises the error with its position) is decoded by the
 * general path from the same parse.
 */
import type { Op, PgValue, Position, Row, SourceInfo, SourceTable } from '../kernel/types';
import type { CopyReadyEvent } from '../kernel/types';
import { UNAVAILABLE } from '../kernel/types';
import { copyField, escapeSpecial, SPECIAL } from '../copy-text/encode';
import type { Convert } from './codecs/registry';
import { ConvertError } from './codecs/registry';
import type { CompiledRow, CompiledValue } from './schema';
import { decodeRow } from './schema';
import { flatSourceInfo, sourceInfo, tableFromFlat, tableFromSource } from './source';

export type { CopyReadyEvent } from '../kernel/types';

/** What an encoder is told of the record besides its payloads. */
export interface RecordInfo {
  readonly pos: Position;
  readonly bytes: number;
  /** The table the topic's name gives (used when the payload names none); undefined: it gives none. */
  readonly topicTable: SourceTable | undefined;
}

/** One compiled fast encoder. `encode` returns null when this record needs the general path. */
export interface CopyReadyEncoder {
  /** Names of the row's columns, in the order `line` and `mask` use. */
  readonly names: readonly string[];
  readonly keyColumns: readonly string[];
  /**
   * `payload`: the value's parsed payload (an object). `keyPayload`: the key's parsed payload, or
   * null/undefined when the record has no key. Throws ConvertError / InexactNumber exactly where
   * the general path would throw them.
   */
  encode(payload: Record<string, unknown>, keyPayload: unknown, rec: RecordInfo): CopyReadyEvent | null;
}

const OPS: ReadonlySet<string> = new Set(['c', 'r', 'u', 'd', 't']);

/** Names a row object built by decodeRow cannot hold faithfully (assignment to it changes the prototype). */
function unsafeNames(names: readonly string[]): boolean {
  if (new Set(names).size !== names.length) return true; // decodeRow: the last duplicate wins for both
  return names.includes('__proto__');
}

function opOf(v: unknown): Op {
  if (v === undefined || v === null) throw new ConvertError('Debezium envelope has no "op"; expected one of c, r, u, d, t');
  if (typeof v !== 'string' || !OPS.has(v)) throw new ConvertError(`unknown op ${JSON.stringify(v)}; expected one of c, r, u, d, t`);
  return v as Op;
}

/** decodeRow's error wording, so a thrown error reads the same on both paths. */
function wrap(e: unknown, c: CompiledRow, i: number, what: string): unknown {
  if (e instanceof ConvertError) {
    return new ConvertError(`${what}.${c.names[i]} (${c.columns[i]!.logical ?? c.columns[i]!.connectType}): ${e.message}`);
  }
  return e;
}

/** One field as decodeRow converts it. */
function fieldValue(v: unknown, convert: Convert, placeholder: string): PgValue {
  if (v === null || v === undefined) return null;
  if (v === placeholder) return UNAVAILABLE;
  return convert(v);
}

/** What a row's line function reports besides the text. */
interface LineState {
  /** unavailableMask's text: indexes of the placeholder columns, comma-joined; null when none. */
  mask: string | null;
  /** A key column of the row is a placeholder. */
  keyUnavailable: boolean;
  /** Index of the column being converted (read when a converter throws). */
  at: number;
}

type LineFn = (src: Record<string, unknown>, st: LineState) => string;

/**
 * The row's COPY line as one straight-line function generated per schema: one property read per
 * column at a fixed name (a monomorphic inline cache over JSON.parse's objects of one shape) and one
 * call site per converter, instead of a loop over names and converters. Field names enter the
 * source only as JSON string literals; converters are passed in, never written into the text.
 * Same rules as decodeRow + appendRow + unavailableMask: null/absent → \N; the placeholder, or a
 * converter's UNAVAILABLE → \N and the column's index in the mask; else the text, COPY-escaped.
 */
function compileLine(names: readonly string[], converts: readonly Convert[], placeholder: string, isKeyIdx: Uint8Array): LineFn {
  let body = 'let out = "", mask = null, ku = false, v, t, i = 0;\ntry {\n';
  for (let j = 0; j < names.length; j++) {
    const sep = j > 0 ? '\\t' : '';
    const unavailable = `{ out += "${sep}\\\\N"; mask = mask === null ? "${j}" : mask + ",${j}";${isKeyIdx[j] === 1 ? ' ku = true;' : ''} }`;
    body +=
      `i = ${j}; v = src[${JSON.stringify(names[j])}];\n` +
      `if (v === null || v === undefined) out += "${sep}\\\\N";\n` +
      `else if (v === ph) ${unavailable}\n` +
      `else { t = c${j}(v); if (t === null) out += "${sep}\\\\N"; else if (t === U) ${unavailable} ` +
      `else out += ${sep ? '"\\t" + ' : ''}(S.test(t) ? esc(t) : t); }\n`;
  }
  body += '} catch (e) { st.at = i; throw e; }\nst.mask = mask; st.keyUnavailable = ku;\nout.charCodeAt(0);\nreturn out;';
  const locals = names.map((_, j) => `c${j} = c[${j}]`).join(', ');
  const factory = new Function('c', 'ph', 'U', 'S', 'esc', `${locals ? `const ${locals};\n` : ''}return function line(src, st) {\n${body}\n};`) as (
    c: readonly Convert[], ph: string, U: typeof UNAVAILABLE, S: RegExp, esc: (t: string) => string,
  ) => LineFn;
  return factory(converts, placeholder, UNAVAILABLE, SPECIAL, escapeSpecial);
}

/**
 * The fast encoder for messages of one value schema whose keys carry `key` (null: no key schema;
 * a record whose key is then an object needs the general path), merged on `keyColumns` (the
 * buffer's: the table's primary key). null when the fast path must not be used for this schema:
 *  - MongoDB envelopes (extended-JSON documents, inferred shapes) and value schemas without rows;
 *  - a row or key schema with a duplicate field name or a field named `__proto__` (the general
 *    path's Row object cannot hold those faithfully, so there is nothing exact to reproduce);
 *  - a row with `_id` and no `id` (a MongoDB-style `{"id": …}` key is read as `_id` there).
 */
export function compileCopyReady(value: CompiledValue, key: CompiledRow | null, keyColumns: readonly string[], placeholder: string): CopyReadyEncoder | null {
  if (value.kind === 'mongo' || value.row === null) return null;
  const row = value.row;
  const names = row.names;
  if (unsafeNames(names)) return null;
  if (key !== null && unsafeNames(key.names)) return null;
  if (names.includes('_id') && !names.includes('id')) return null;

  const converts = row.converts;
  const n = names.length;
  const columns = row.columns;
  const flat = value.kind === 'flat';
  const nk = keyColumns.length;
  /** Per key column: its index in the key schema (-1: not there) and in the row (-1: not there). */
  const kIdx = keyColumns.map((c) => (key === null ? -1 : key.names.indexOf(c)));
  const rIdx = keyColumns.map((c) => names.indexOf(c));
  const keyInRowSchema = rIdx.every((i) => i >= 0);
  const isKeyIdx = new Uint8Array(n);
  for (const i of rIdx) if (i >= 0) isKeyIdx[i] = 1;
  const keyVals: PgValue[] = new Array<PgValue>(key === null ? 0 : key.names.length).fill(null);

  const rowLine = compileLine(names, converts, placeholder, isKeyIdx);
  // Per-encode results of `line`, read by encode (no result object per row).
  const st: LineState = { mask: null, keyUnavailable: false, at: 0 };
  let mask: string | null = null;
  let keyUnavailable = false;

  /** The row's COPY text; sets `mask` and `keyUnavailable`. */
  function line(src: Record<string, unknown>, what: string): string {
    let out: string;
    try {
      out = rowLine(src, st);
    } catch (e) {
      throw wrap(e, row, st.at, what);
    }
    mask = st.mask;
    keyUnavailable = st.keyUnavailable;
    return out;
  }

  /** Every key-schema field converted into keyVals (as decodeRow(key) would, errors included). */
  function readKey(kp: Record<string, unknown>): void {
    const kn = key!.names;
    const kc = key!.converts;
    let i = 0;
    try {
      for (; i < kn.length; i++) keyVals[i] = fieldValue(kp[kn[i]!], kc[i]!, placeholder);
    } catch (e) {
      throw wrap(e, key!, i, 'key');
    }
  }

  /**
   * Key column j's value: from the key when it has the column, else from the row image (`src`,
   * the after payload, or `image`, a decoded Row); undefined when neither has it.
   */
  function keyPart(j: number, hasKey: boolean, src: Record<string, unknown> | null, image: Row | null): PgValue | undefined {
    if (hasKey && kIdx[j]! >= 0) return keyVals[kIdx[j]!]!;
    const r = rIdx[j]!;
    if (r < 0) return undefined;
    if (image !== null) return image[names[r]!];
    if (src !== null) return fieldValue(src[names[r]!], converts[r]!, placeholder);
    return undefined;
  }

  /** encodeKey's encoding of the key columns' values. */
  function keyString(hasKey: boolean, src: Record<string, unknown> | null, image: Row | null): string | undefined {
    if (nk === 1) {
      const v = keyPart(0, hasKey, src, image);
      if (v === undefined || v === UNAVAILABLE) return undefined;
      return v === null ? 'n' : 's' + v;
    }
    if (nk === 0) return undefined;
    let out = '';
    for (let j = 0; j < nk; j++) {
      const v = keyPart(j, hasKey, src, image);
      if (v === undefined || v === UNAVAILABLE) return undefined;
      if (j > 0) out += ',';
      out += v === null ? 'null' : JSON.stringify(v);
    }
    return out;
  }

  /** COPY text of the key columns (apply's delete staging row). Only after keyString succeeded. */
  function keyLineOf(hasKey: boolean, image: Row | null): string {
    let out = '';
    for (let j = 0; j < nk; j++) {
      if (j > 0) out += '\t';
      out += copyField(keyPart(j, hasKey, null, image)!);
    }
    return out;
  }

  function image(p: Record<string, unknown>, field: 'before' | 'after'): Row | null {
    const v = p[field];
    return v === null || v === undefined ? null : decodeRow(row, v, placeholder, field);
  }

  /** A 'c' | 'r' | 'u' event from `line`'s output (taken before anything else runs `line`). */
  function upsert(op: Op, text: string, m: string | null, ku: boolean, after: Record<string, unknown>, before: Row | null, hasKey: boolean, source: SourceInfo, table: SourceTable | undefined, rec: RecordInfo): CopyReadyEvent | null {
    const t = table ?? rec.topicTable;
    if (t === undefined) return null; // the general path names the problem
    return {
      copyReady: true,
      op,
      key: keyString(hasKey, after, null),
      line: text,
      mask: m,
      keyInRow: keyInRowSchema && !ku,
      keyLine: null,
      beforeKey: op === 'u' && before !== null ? keyString(false, null, before) : undefined,
      columns,
      source,
      table: t,
      pos: rec.pos,
      bytes: rec.bytes,
      names,
      keyColumns,
    };
  }

  function remove(before: Row | null, hasKey: boolean, source: SourceInfo, table: SourceTable | undefined, rec: RecordInfo): CopyReadyEvent | null {
    const t = table ?? rec.topicTable;
    if (t === undefined) return null;
    const k = keyString(hasKey, null, before);
    return {
      copyReady: true, op: 'd', key: k, line: null, mask: null, keyInRow: false, keyLine: k === undefined ? null : keyLineOf(hasKey, before), beforeKey: undefined,
      columns, source, table: t, pos: rec.pos, bytes: rec.bytes, names, keyColumns,
    };
  }

  function truncate(source: SourceInfo, table: SourceTable | undefined, rec: RecordInfo): CopyReadyEvent | null {
    const t = table ?? rec.topicTable;
    if (t === undefined) return null;
    return {
      copyReady: true, op: 't', key: undefined, line: null, mask: null, keyInRow: false, keyLine: null, beforeKey: undefined,
      columns, source, table: t, pos: rec.pos, bytes: rec.bytes, names, keyColumns,
    };
  }

  /** The key as the general path reads it: false = no key; null = needs the general path. */
  function keyState(kp: unknown): boolean | null {
    if (kp === null || kp === undefined || typeof kp !== 'object' || Array.isArray(kp)) return false;
    if (key === null) return null; // an object key without a struct schema: inferred there
    return true;
  }

  return {
    names,
    keyColumns,
    encode(p, kp, rec) {
      const ks = keyState(kp);
      if (ks === null) return null;
      if (!flat) {
        // Decoder.envelope: op, source, table; after (not for deletes), then before; then the key.
        const op = opOf(p.op);
        const source = sourceInfo(p.source, p.ts_ms);
        const table = tableFromSource(p.source);
        if (op === 't') {
          if (ks) readKey(kp as Record<string, unknown>);
          return truncate(source, table, rec);
        }
        if (op === 'd') {
          const before = image(p, 'before');
          if (ks) readKey(kp as Record<string, unknown>);
          return remove(before, ks, source, table, rec);
        }
        const after = p.after;
        if (after === null || after === undefined) {
          throw new ConvertError(`op "${op}" without "after"; expected the new row`);
        }
        if (typeof after !== 'object' || Array.isArray(after)) throw new ConvertError('"after" is not an object');
        // Convert after first (the general path's order of errors), then before, then the key.
        const text = line(after as Record<string, unknown>, 'after');
        const m = mask;
        const ku = keyUnavailable;
        const before = image(p, 'before');
        if (ks) readKey(kp as Record<string, unknown>);
        return upsert(op, text, m, ku, after as Record<string, unknown>, before, ks, source, table, rec);
      }
      // Decoder.flat: ExtractNewRecordState's row, `__deleted` / `__op` metadata.
      const deleted = p.__deleted === 'true' || p.__deleted === true;
      let op: Op = deleted ? 'd' : 'c';
      if (p.__op !== undefined && p.__op !== null) op = opOf(p.__op);
      if (op === 'd') {
        // delete.handling.mode=rewrite: the row carries the deleted row's last values.
        const before = decodeRow(row, p, placeholder, 'value');
        const source = flatSourceInfo(p);
        const table = tableFromFlat(p);
        if (ks) readKey(kp as Record<string, unknown>);
        return remove(before, ks, source, table, rec);
      }
      if (op === 't') {
        decodeRow(row, p, placeholder, 'value'); // converted (and checked) there too
        const source = flatSourceInfo(p);
        const table = tableFromFlat(p);
        if (ks) readKey(kp as Record<string, unknown>);
        return truncate(source, table, rec);
      }
      const text = line(p, 'value');
      const m = mask;
      const ku = keyUnavailable;
      const source = flatSourceInfo(p);
      const table = tableFromFlat(p);
      if (ks) readKey(kp as Record<string, unknown>);
      return upsert(op, text, m, ku, p, null, ks, source, table, rec);
    },
  };
}
