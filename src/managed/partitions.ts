/**
 * A partitioned PostgreSQL table captured by a managed source: pgoutput reports each change under
 * the leaf partition that holds the row, so Debezium would write one topic per partition. Debezium's
 * ByLogicalTableRouter sends them to the partitioned table's own topic (`<prefix>.<schema>.<table>`),
 * adding `__dbz__physicalTableIdentifier` to the key (key.enforce.uniqueness, kept on): the decoder
 * takes the table from the topic for such records and keys them by the table's primary key
 * (decode/schema.ts ROUTER_KEY_FIELD). The partitions are added to the include list so that the
 * connector captures them (and its filtered publication holds them).
 */
import type { ManagedSource } from '../config/types';
import { connectPg } from '../pg/pool';
import { PARTITIONED_TABLES } from '../tables/sql/postgresql';

export const ROUTER_CLASS = 'io.debezium.transforms.ByLogicalTableRouter';
/** Our transforms are named `nilus_partitions_<n>`, after any the manifest declares. */
export const ROUTER_PREFIX = 'nilus_partitions_';

export interface PartitionedTable {
  readonly schema: string;
  readonly table: string;
  readonly partitions: readonly { readonly schema: string; readonly table: string }[];
}

const escape = (s: string): string => s.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
/** A Java regex replacement string: `$` and `\` are special. */
const literal = (s: string): string => s.replace(/[\\$]/g, '\\$&');

/** Debezium's list of anchored, case-insensitive regexes over `<schema>.<table>`. */
function patterns(list: string | undefined): RegExp[] | undefined {
  if (list === undefined || list.trim() === '') return undefined;
  return list.split(',').map((p) => p.trim()).filter((p) => p !== '').map((p) => new RegExp(`^(?:${p})$`, 'i'));
}

/**
 * The connector config with a router per captured partitioned table (pure). A table is captured
 * when `table.include.list` (if set) matches it and `table.exclude.list` does not.
 */
export function withPartitionRouting(config: Readonly<Record<string, string>>, tables: readonly PartitionedTable[]): Record<string, string> {
  const include = patterns(config['table.include.list']);
  const exclude = patterns(config['table.exclude.list']) ?? [];
  const matches = (res: RegExp[], s: string, t: string): boolean => res.some((r) => r.test(`${s}.${t}`));
  const captured = tables.filter((t) => t.partitions.length > 0 && (include === undefined || matches(include, t.schema, t.table)) && !matches(exclude, t.schema, t.table));
  if (captured.length === 0) return { ...config };
  const out: Record<string, string> = { ...config };
  const prefix = escape(config['topic.prefix'] ?? '');
  const names: string[] = [];
  const extraIncludes: string[] = [];
  captured.forEach((t, i) => {
    const name = `${ROUTER_PREFIX}${i}`;
    names.push(name);
    const leaves = t.partitions.map((p) => `${escape(p.schema)}\\.${escape(p.table)}`);
    out[`transforms.${name}.type`] = ROUTER_CLASS;
    out[`transforms.${name}.topic.regex`] = `${prefix}\\.(?:${leaves.join('|')})`;
    out[`transforms.${name}.topic.replacement`] = literal(`${config['topic.prefix'] ?? ''}.${t.schema}.${t.table}`);
    out[`transforms.${name}.key.enforce.uniqueness`] = 'true';
    if (include !== undefined) extraIncludes.push(...t.partitions.filter((p) => !matches(include, p.schema, p.table)).map((p) => `${escape(p.schema)}\\.${escape(p.table)}`));
  });
  const declared = (config.transforms ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '' && !s.startsWith(ROUTER_PREFIX));
  out.transforms = [...declared, ...names].join(',');
  if (extraIncludes.length > 0) out['table.include.list'] = [config['table.include.list'], ...extraIncludes].join(',');
  return out;
}

/** Reads the source's partitioned tables and returns the managed source with its routers configured. */
export async function routePartitions(m: ManagedSource & { kind: 'postgresql' }): Promise<ManagedSource> {
  const c = await connectPg(m.db);
  try {
    const tables = (await c.query<PartitionedTable>(PARTITIONED_TABLES)).rows;
    return { ...m, connectorConfig: withPartitionRouting(m.connectorConfig, tables) };
  } finally {
    await c.end().catch(() => undefined);
  }
}
