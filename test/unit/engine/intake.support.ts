/**
 * A merge Intake over the real Decoder with unbounded buffers, for tests that compare two ways of
 * taking the same records (general vs COPY-ready path, main thread vs decode threads).
 */
import { BufferSet } from '../../../src/buffer';
import { rowOf } from '../../../src/copy-text/line';
import { DataError } from '../../../src/kernel/errors';
import { Intake } from '../../../src/engine/intake';
import type { ChangeEvent, RawRecord, SourceTable, TableBatch, TableRef } from '../../../src/kernel/types';
import { Decoder, type DecoderOptions } from '../../../src/decode/decoder';

/** One TableRef object per destination, as the Router hands out. */
export function router(): (src: SourceTable) => TableRef {
  const refs = new Map<string, TableRef>();
  return (src) => {
    const id = `${src.schema}.${src.table}`;
    let t = refs.get(id);
    if (t === undefined) refs.set(id, (t = { schema: 'dst', table: src.table }));
    return t;
  };
}

/** `fast`: with Decoder.decodeForMerge (rows held as COPY lines); else the general decoder alone. */
export function intake(opts: DecoderOptions, fast: boolean, declared?: readonly string[]): { intake: Intake; buffers: BufferSet } {
  const buffers = new BufferSet({ maxRows: Number.MAX_SAFE_INTEGER, maxBytes: Number.MAX_SAFE_INTEGER, maxAgeMs: Number.MAX_SAFE_INTEGER });
  const decoder = new Decoder(opts);
  const keys = (ev: ChangeEvent): readonly string[] => {
    if (declared) return declared;
    if (ev.keyColumns.length > 0) return ev.keyColumns;
    throw new DataError('no key', ev.pos);
  };
  return {
    buffers,
    intake: new Intake({
      decoder: fast ? decoder : { decode: (r: RawRecord) => decoder.decode(r) },
      router: { route: router() },
      keys,
      strategy: 'merge',
      ...(declared ? { primaryKey: declared } : {}),
      buffers,
    }),
  };
}

/** A batch with every held row read back as a Row, comparable with toEqual. */
export function plain(b: TableBatch): unknown {
  return {
    ...b,
    upserts: b.upserts.map((r) => ({ ...rowOf(r) })),
    deletes: b.deletes.map((r) => ({ ...r })),
    columns: b.columns.map((c) => ({ ...c })),
    upsertColumns: b.upsertColumns?.map((cs) => cs.map((c) => c.name)),
  };
}
