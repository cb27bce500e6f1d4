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
 */
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

/** Staging-only columns (never in a target): the unavailable-column mask and the incoming position. */
export const STAGE_MASK = '_nilus_mask';
export const STAGE_POS = '_nilus_pos';
/** Staging-only: the row holds unchanged-TOAST placeholders (present only when some row does). */
export const STAGE_CARRY = '_nilus_carry';
/** Staging-only prefix: the old key a moved row's placeholders are filled from (`_nilus_from_0`, …). */
export const STAGE_FROM = '_nilus_from_';
