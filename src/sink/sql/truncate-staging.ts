import { ident } from '../../pg/ident';

/** Empties a temp staging table (by its bare name) for the next page of a batch run. */
export function truncateStagingSql(name: string): string {
  return `TRUNCATE TABLE ${ident(name)}`;
}
