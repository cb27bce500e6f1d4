import { ident } from '../../pg/ident';

export interface StagingColumn {
  readonly name: string;
  /** A type as PostgreSQL's format_type() prints it, or a built-in type name. */
  readonly type: string;
}

/**
 * A per-transaction staging table. No constraints at all (no NOT NULL): rows whose columns are
 * unavailable carry NULL there and the statements reading staging decide what that means.
 * `type` comes from the catalog (format_type output, already valid SQL) or from our own constants.
 */
export function createStagingSql(name: string, columns: readonly StagingColumn[]): string {
  const cols = columns.map((c) => `${ident(c.name)} ${c.type}`).join(', ');
  return `CREATE TEMP TABLE ${ident(name)} (${cols}) ON COMMIT DROP`;
}
