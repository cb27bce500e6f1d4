/**
 * metadata_columns (merge): `true` stands for every `_nilus_*` metadata column append targets
 * carry, a list for `_nilus_<name>` of each name, in the order append targets have them.
 */
import type { MetadataColumnName } from './raw-manifest';

export const METADATA_NAMES: readonly MetadataColumnName[] = ['op', 'source_ts', 'source_lsn', 'topic', 'partition', 'offset', 'applied_at'];

/** The target column names `metadata_columns` asks for (none for false). */
export function metadataColumnNames(v: boolean | readonly MetadataColumnName[]): string[] {
  if (v === false) return [];
  const want = new Set<string>(v === true ? METADATA_NAMES : v);
  return METADATA_NAMES.filter((n) => want.has(n)).map((n) => `_nilus_${n}`);
}
