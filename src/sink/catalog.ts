/** Reads a target's shape from the catalog. */
import type { Pool, PoolClient } from 'pg';
import type { TableRef } from '../kernel/types';
import { FatalError } from '../kernel/errors';
import { DESCRIBE_TABLE_SQL } from './sql/describe-table';
import { tableName } from '../pg/ident';

export interface TargetColumn {
  readonly name: string;
  /** As format_type() prints it, e.g. 'character varying(20)', 'numeric(12,2)', 'integer[]'. */
  readonly type: string;
  readonly notNull: boolean;
  readonly hasDefault: boolean;
}

export interface TargetInfo {
  readonly table: TableRef;
  readonly columns: readonly TargetColumn[];
  readonly byName: ReadonlyMap<string, TargetColumn>;
  /** Primary-key columns in index order; empty when the table has none. */
  readonly primaryKey: readonly string[];
  /** Column sets of every plain unique index (primary key included). */
  readonly uniqueKeys: readonly (readonly string[])[];
  readonly partitioned: boolean;
  /** Partition-key columns (declarative partitioning); empty when not partitioned. */
  readonly partitionKey: readonly string[];
  /** Number of partition-key parts that are expressions rather than columns. */
  readonly partitionExpressions: number;
}

interface Raw {
  kind: string;
  columns: TargetColumn[];
  uniques: { primary: boolean; columns: string[] }[];
  partition: { count: number; columns: string[] | null } | null;
}

const KIND_NAMES: Record<string, string> = { v: 'a view', m: 'a materialized view', f: 'a foreign table' };

export async function describeTable(db: Pool | PoolClient, t: TableRef): Promise<TargetInfo | undefined> {
  const res = await db.query<Raw>(DESCRIBE_TABLE_SQL, [t.schema, t.table]);
  const raw = res.rows[0];
  if (!raw) return undefined;
  if (raw.kind !== 'r' && raw.kind !== 'p') {
    throw new FatalError(`target ${tableName(t)} is ${KIND_NAMES[raw.kind] ?? `of kind ${raw.kind}`}; nilus writes only to tables`);
  }
  const pk = raw.uniques.find((u) => u.primary);
  const partCols = raw.partition?.columns ?? [];
  return {
    table: t,
    columns: raw.columns,
    byName: new Map(raw.columns.map((c) => [c.name, c])),
    primaryKey: pk?.columns ?? [],
    uniqueKeys: raw.uniques.map((u) => u.columns),
    partitioned: raw.kind === 'p',
    partitionKey: partCols,
    partitionExpressions: raw.partition ? raw.partition.count - partCols.length : 0,
  };
}
