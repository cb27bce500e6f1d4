/**
 * One catalog round trip describing a table: kind, columns with their types as format_type()
 * prints them, primary-key columns, other unique (non-partial) indexes, and the partition key.
 * Parameters: $1 schema name, $2 table name (exact spelling, no folding).
 */
export const DESCRIBE_TABLE_SQL = `
SELECT c.relkind::text AS kind,
  COALESCE((SELECT json_agg(json_build_object(
      'name', a.attname, 'type', format_type(a.atttypid, a.atttypmod),
      'notNull', a.attnotnull, 'hasDefault', a.atthasdef) ORDER BY a.attnum)
    FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '[]') AS columns,
  COALESCE((SELECT json_agg(json_build_object('primary', i.indisprimary, 'columns',
      (SELECT json_agg(a.attname ORDER BY k.n) FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum)))
    FROM pg_index i WHERE i.indrelid = c.oid AND i.indisunique AND i.indpred IS NULL
      AND i.indexprs IS NULL), '[]') AS uniques,
  (SELECT json_build_object('count', p.partnatts, 'columns',
      (SELECT json_agg(a.attname ORDER BY k.n) FROM unnest(p.partattrs::int2[]) WITH ORDINALITY AS k(attnum, n)
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum))
    FROM pg_partitioned_table p WHERE p.partrelid = c.oid) AS partition
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')`;

/** Whether a schema exists ($1 name). */
export const SCHEMA_EXISTS_SQL = `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS present`;
