/**
 * Columns nilus adds to targets it writes. Names and types are part of the product's contract:
 *
 * append targets (one row per event):
 *   _nilus_op          char(1)      c | r | u | d | t (Debezium op)
 *   _nilus_source_ts   timestamptz  source commit time (source.ts_ms), NULL when unknown
 *   _nilus_source_lsn  bigint       source PostgreSQL LSN as a number, NULL when unknown
 *   _nilus_topic       text         Kafka topic
 *   _nilus_partition   integer      Kafka partition
 *   _nilus_offset      bigint       Kafka offset
 *   _nilus_applied_at  timestamptz  DEFAULT now(): when the flush wrote it
 *
 * merge targets with the stale-event guard on:
 *   _nilus_source_pos  bigint       LSN of the last applied change, else its source ts_ms
 *
 * merge targets with delete_mode soft:
 *   _nilus_deleted_at  timestamptz  NULL while the row lives; the delete's (or truncate's) source
 *                                   commit time once deleted, the flush's time when unknown
 *
 * merge targets with metadata_columns: the chosen append columns, holding the row's last change
 * (its delete's, with delete_mode soft).
 */
import type { Op, Position, SourceInfo } from '../kernel/types';
import { copyField } from '../copy-text/encode';
import type { NewColumn } from './sql/create-table';

export const APPEND_METADATA: readonly NewColumn[] = [
  { name: '_nilus_op', type: 'character(1)' },
  { name: '_nilus_source_ts', type: 'timestamp with time zone' },
  { name: '_nilus_source_lsn', type: 'bigint' },
  { name: '_nilus_topic', type: 'text' },
  { name: '_nilus_partition', type: 'integer' },
  { name: '_nilus_offset', type: 'bigint' },
  { name: '_nilus_applied_at', type: 'timestamp with time zone', defaultSql: 'now()' },
];

/** Metadata columns the append COPY fills (the last one takes its default). */
export const APPEND_COPIED = APPEND_METADATA.slice(0, 6).map((c) => c.name);

export const SOURCE_POS: NewColumn = { name: '_nilus_source_pos', type: 'bigint' };

export const DELETED_AT: NewColumn = { name: '_nilus_deleted_at', type: 'timestamp with time zone' };

/** The column filled with now() rather than from the event. */
export const APPLIED_AT = '_nilus_applied_at';

/** The values of APPEND_COPIED for one event (null: unknown), as query parameters. */
export function metadataValues(op: Op, source: SourceInfo | undefined, pos: Position | undefined): (string | null)[] {
  return [
    op,
    source?.tsMs !== undefined ? new Date(source.tsMs).toISOString() : null,
    source?.lsn !== undefined ? source.lsn.toString() : null,
    pos?.topic ?? null,
    pos !== undefined ? String(pos.partition) : null,
    pos?.offset ?? null,
  ];
}

/** The same values as COPY text fields, tab-separated (append's rows, merge's staging). */
export function metadataText(op: Op, source: SourceInfo | undefined, pos: Position | undefined): string {
  const ts = sourceTimeText(source);
  const lsn = source?.lsn !== undefined ? source.lsn.toString() : '\\N';
  if (pos === undefined) return `${op}\t${ts}\t${lsn}\t\\N\t\\N\t\\N`;
  return `${op}\t${ts}\t${lsn}\t${copyField(pos.topic)}\t${pos.partition}\t${pos.offset}`;
}

/** The source commit time as COPY text (NULL when unknown): a soft delete's mark, append's _nilus_source_ts. */
export function sourceTimeText(source: SourceInfo | undefined): string {
  return source?.tsMs !== undefined ? new Date(source.tsMs).toISOString() : '\\N';
}

/** Staging-only columns (never in a target): the unavailable-column mask and the incoming position. */
export const STAGE_MASK = '_nilus_mask';
export const STAGE_POS = '_nilus_pos';
/** Staging-only: the row holds unchanged-TOAST placeholders (present only when some row does). */
export const STAGE_CARRY = '_nilus_carry';
/** Staging-only prefix: the old key a moved row's placeholders are filled from (`_nilus_from_0`, …). */
export const STAGE_FROM = '_nilus_from_';
