/**
 * append: every event becomes one row, COPYed straight into the target (no staging: nothing is
 * matched), followed by the metadata columns described in metadata.ts. Creates, reads and updates
 * write `after`; deletes write `before` (or just the key); truncates write a row of NULLs with op
 * 't'. Unavailable (unchanged TOAST) values are written as NULL: an event row has no stored value
 * to keep.
 */
import { rowOf as heldRow } from '../copy-text/line';
import type { PoolClient } from 'pg';
import type { ChangeEvent, Row, TableBatch } from '../kernel/types';
import { appendRow, copyChunks } from '../copy-text/encode';
import { copyInto } from './copy-into';
import { APPEND_COPIED, metadataText } from './metadata';
import { copyFromStdinSql } from './sql/copy-from-stdin';

const EMPTY: Row = {};

function rowOf(ev: ChangeEvent): Row {
  switch (ev.op) {
    case 'd':
      return ev.before ?? ev.key ?? EMPTY;
    case 't':
      return EMPTY;
    default:
      return ev.after ?? EMPTY;
  }
}

/** Returns the number of rows written. */
export async function applyAppend(client: PoolClient, batch: TableBatch): Promise<number> {
  const dataCols = batch.columns.map((c) => c.name);
  const events = batch.events;
  return copyInto(
    client,
    copyFromStdinSql(batch.target, [...dataCols, ...APPEND_COPIED]),
    copyChunks(events.length, (i, out) => {
      const ev = events[i]!;
      if (dataCols.length > 0) out = appendRow(out, rowOf(ev), dataCols) + '\t';
      return out + metadataText(ev.op, ev.source, ev.pos);
    }),
  );
}

/**
 * replace (batch mode): the flush's rows become the table's content. TRUNCATE and COPY share
 * the flush transaction, so readers see the old content or the new, never a mix.
 */
export async function applyReplaceRows(client: PoolClient, batch: TableBatch): Promise<number> {
  const dataCols = batch.columns.map((c) => c.name);
  const rows = batch.upserts;
  return copyInto(
    client,
    copyFromStdinSql(batch.target, dataCols),
    copyChunks(rows.length, (i, out) => appendRow(out, heldRow(rows[i]!), dataCols)),
  );
}
