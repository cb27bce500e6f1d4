/** Whether the offsets table $1 (its quoted name) has the `source_ts` column. */
export const OFFSETS_HAS_SOURCE_TS_SQL =
  "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'source_ts' AND NOT attisdropped) AS present";
