import { ident } from '../../pg/ident';

/** A missing target or state schema, created by `auto_create` (owned by the sink's role). */
export function createSchemaSql(schema: string): string {
  return `CREATE SCHEMA IF NOT EXISTS ${ident(schema)}`;
}
