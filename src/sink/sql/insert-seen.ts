import { ident } from '../../pg/ident';

/** Batch merge with delete_mode soft: the keys of one staged batch, added to the run's seen keys. */
export function insertSeenSql(seen: string, staging: string, keyColumns: readonly string[]): string {
  const cols = keyColumns.map(ident).join(', ');
  return `INSERT INTO ${ident(seen)} (${cols}) SELECT ${cols} FROM ${ident(staging)}`;
}
