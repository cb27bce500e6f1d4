/**
 * The general path's answer for one record, computed with the functions the buffer and apply use
 * today (decode → Row → encodeKey / appendRow / unavailableMask / keyRow), for the COPY-ready path
 * to be compared against byte for byte.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChangeEvent, RawRecord } from '../../../src/kernel/types';
import { UNAVAILABLE } from '../../../src/kernel/types';
import { Decoder, type DecoderOptions } from '../../../src/decode/decoder';
import type { CopyReadyEvent } from '../../../src/decode/copy-ready';
import { appendRow, unavailableMask } from '../../../src/copy-text/encode';
import { encodeKey, keyRow, keyValue } from '../../../src/buffer/keys';

export interface Expected {
  op: string;
  key: string | undefined;
  line: string | null;
  mask: string | null;
  keyInRow: boolean;
  keyLine: string | null;
  beforeKey: string | undefined;
}

/** What TableBuffer.addMerge and applyMerge derive from a decoded event, merged on `cols`. */
export function expectedOf(ev: ChangeEvent, cols: readonly string[]): Expected {
  const names = ev.columns.map((c) => c.name);
  if (ev.op === 't') return { op: 't', key: undefined, line: null, mask: null, keyInRow: false, keyLine: null, beforeKey: undefined };
  if (ev.op === 'd') {
    const key = encodeKey(cols, ev.key, ev.before);
    return {
      op: 'd', key, line: null, mask: null, keyInRow: false, beforeKey: undefined,
      keyLine: key === undefined ? null : appendRow('', keyRow(cols, ev.key, ev.before), cols),
    };
  }
  const after = ev.after!;
  return {
    op: ev.op,
    key: encodeKey(cols, ev.key, after),
    line: appendRow('', after, names),
    mask: unavailableMask(after, names),
    keyInRow: cols.every((c) => {
      const v = keyValue(c, null, after);
      return v !== undefined && v !== UNAVAILABLE;
    }),
    keyLine: null,
    beforeKey: ev.op === 'u' && ev.before !== null ? encodeKey(cols, null, ev.before) : undefined,
  };
}

export function actualOf(f: CopyReadyEvent): Expected {
  return { op: f.op, key: f.key, line: f.line, mask: f.mask, keyInRow: f.keyInRow, keyLine: f.keyLine, beforeKey: f.beforeKey };
}

export interface Compared {
  /** Records both paths decoded (the fast path did not defer to the general one). */
  fast: number;
  /** Records the fast path handed to the general path (null) that the general path decoded. */
  deferred: RawRecord[];
  /** Tombstones: null on both paths. */
  tombstones: number;
  /** Records the general path rejected (the fast path must have returned null for them). */
  rejected: number;
}

/**
 * Decodes every record on both paths and expects the fast path's output byte-identical to the
 * general path's (and its columns, source and table to equal the event's).
 */
export function compareAll(records: readonly RawRecord[], opts: DecoderOptions, keyColumns?: readonly string[]): Compared {
  const general = new Decoder(opts);
  const fast = new Decoder(opts);
  const out: Compared = { fast: 0, deferred: [], tombstones: 0, rejected: 0 };
  const seen = new WeakMap<object, object>();
  for (const rec of records) {
    let ev: ChangeEvent | null;
    try {
      ev = general.decode(rec);
    } catch {
      expect(fast.encodeOnly(rec, keyColumns)).toBeNull();
      out.rejected++;
      continue;
    }
    const f = fast.encodeOnly(rec, keyColumns);
    if (ev === null) {
      expect(f).toBeNull();
      out.tombstones++;
      continue;
    }
    if (f === null) {
      out.deferred.push(rec);
      continue;
    }
    const cols = keyColumns ?? ev.keyColumns;
    const where = `${rec.topic}@${rec.offset}`;
    expect({ where, ...actualOf(f) }).toEqual({ where, ...expectedOf(ev, cols) });
    if (seen.get(f.columns) !== ev.columns) {
      // Each schema's columns compared once: equal specs (the instances are each path's own).
      expect(f.columns.map((c) => ({ ...c }))).toEqual(ev.columns.map((c) => ({ ...c })));
      seen.set(f.columns, ev.columns);
    }
    expect(f.source).toEqual(ev.source);
    expect(f.table).toEqual(ev.table);
    expect(f.pos).toEqual(ev.pos);
    expect(f.bytes).toBe(ev.bytes);
    expect(f.names).toEqual(ev.columns.map((c) => c.name));
    expect(f.keyColumns).toEqual(cols);
    out.fast++;
  }
  return out;
}

const REAL = join(__dirname, '../../fixtures/debezium-real');
interface IndexEntry { file: string; op: string; topic: string; partition: number; offset: string }

/** The records of one table of test/fixtures/debezium-real, in topic order. */
export function realRecords(table: string): RawRecord[] {
  const index = JSON.parse(readFileSync(join(REAL, `${table}.index.json`), 'utf8')) as IndexEntry[];
  return index.map((e) => {
    const key = readFileSync(join(REAL, `${e.file}.key.json`));
    const raw = readFileSync(join(REAL, `${e.file}.value.json`));
    return { topic: e.topic, partition: e.partition, offset: e.offset, key, value: raw.toString().trim() === 'null' ? null : raw };
  });
}
