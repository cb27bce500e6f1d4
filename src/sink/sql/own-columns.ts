import { ident } from '../../pg/ident';

/**
 * A column nilus fills itself on a merge target (metadata, the soft-delete mark): from the
 * staging column of the same name, with now(), with NULL, or with a query parameter ($n).
 */
export interface OwnColumn {
  readonly column: string;
  readonly value: 'staging' | 'now' | 'null' | { readonly param: number };
}

/** The value expression of an own column, `s` naming the staging table. */
export function ownValueSql(c: OwnColumn): string {
  const v = c.value;
  if (v === 'staging') return `s.${ident(c.column)}`;
  if (v === 'now') return 'now()';
  if (v === 'null') return 'NULL';
  return `$${Math.trunc(v.param)}`;
}
