/**
 * SQL for the dead-letter table: events that can never apply, kept with the reason so an operator
 * can inspect, fix and replay them. Raw key/value bytes are stored unchanged; `value_text` is a
 * readable copy when the value is valid UTF-8 (most Debezium JSON), for ad-hoc queries.
 */
import type { TableRef } from '../../kernel/types';
import { ident, literal, tableName } from '../../pg/ident';

/** Column names, in insert order. `partition` is quoted like every identifier (it is a keyword). */
export const DEAD_LETTER_COLUMNS = [
  'topic',
  'partition',
  'kafka_offset',
  'key',
  'value',
  'value_text',
  'reason',
  'error_class',
] as const;

export function createDeadLetterTableSql(t: TableRef): string {
  return `CREATE TABLE IF NOT EXISTS ${tableName(t)} (
  ${ident('id')} bigserial PRIMARY KEY,
  ${ident('topic')} text NOT NULL,
  ${ident('partition')} integer NOT NULL,
  ${ident('kafka_offset')} bigint NOT NULL,
  ${ident('key')} bytea,
  ${ident('value')} bytea,
  ${ident('value_text')} text,
  ${ident('reason')} text NOT NULL,
  ${ident('error_class')} text NOT NULL,
  ${ident('created_at')} timestamptz NOT NULL DEFAULT now()
)`;
}

/**
 * The columns an existing table has, to check it before writing (a same-named table created by
 * someone else would otherwise fail on the first bad event, long after start-up).
 */
export function deadLetterColumnsSql(t: TableRef): string {
  return `SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute
 WHERE attrelid = to_regclass(${literal(tableName(t))}) AND attnum > 0 AND NOT attisdropped`;
}

/** Columns that must be bytea: raw record bytes (any bytes, NUL included) only fit there. */
export const DEAD_LETTER_BYTEA_COLUMNS = ['key', 'value'] as const;

/** Converts a text key/value column of an existing dead-letter table to bytea, keeping its content. */
export function alterToByteaSql(t: TableRef, column: string): string {
  return `ALTER TABLE ${tableName(t)} ALTER COLUMN ${ident(column)} TYPE bytea USING convert_to(${ident(column)}, 'UTF8')`;
}

/**
 * One statement for the whole batch: eight parallel arrays unnested into rows, so N dead letters
 * cost one round trip. Parameters: $1 text[] topics, $2 int[] partitions, $3 bigint[] offsets
 * (decimal strings), $4 bytea[] keys, $5 bytea[] values, $6 text[] value texts, $7 text[] reasons,
 * $8 text[] error classes.
 */
export function insertDeadLettersSql(t: TableRef): string {
  const cols = DEAD_LETTER_COLUMNS.map(ident).join(', ');
  return `INSERT INTO ${tableName(t)} (${cols})
SELECT * FROM unnest($1::text[], $2::integer[], $3::bigint[], $4::bytea[], $5::bytea[], $6::text[], $7::text[], $8::text[])`;
}
