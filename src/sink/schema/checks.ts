/** Checks a target against what a batch needs; each failure says what to change. */
import type { ColumnSpec } from '../../kernel/types';
import { ConfigError, DataError, FatalError } from '../../kernel/errors';
import type { TargetInfo } from '../catalog';
import { ident, tableName } from '../../pg/ident';
import { typeFits } from './type-compat';
import { classifyChange } from './widen';

const list = (cols: readonly string[]): string => cols.map(ident).join(', ');
const sameSet = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((x) => b.includes(x));

export function missingTableError(name: string): ConfigError {
  return new ConfigError([
    { path: 'spec.sink.options.dest_table', message: `table ${name} does not exist; create it or set auto_create: true` },
  ]);
}

export function noKeyError(name: string): ConfigError {
  return new ConfigError([
    {
      path: 'spec.sink.options.primary_key',
      message:
        `merge into ${name} needs a primary key, but the events carry no key and none is declared; ` +
        `add primary_key to the sink options (without one, merge would duplicate rows)`,
    },
  ]);
}

/**
 * A column whose type in the target cannot hold the type the events now carry (e.g. an int32
 * column that now arrives as a string). A DataError: the rows carrying the new type can never
 * apply as they are, so they are isolated and dead-lettered (tolerance all) or stop the pipeline
 * at the first of them, named by topic, partition and offset (tolerance none). Rows of the old
 * type still apply.
 */
export class IncompatibleTypeError extends DataError {
  constructor(
    readonly table: string,
    readonly column: string,
    readonly targetType: string,
    readonly eventType: string,
    sourceType = true,
  ) {
    super(incompatibleMessage(table, column, targetType, eventType, sourceType), undefined);
  }
}

export function incompatibleMessage(table: string, column: string, targetType: string, eventType: string, sourceType = true): string {
  const change = classifyChange(targetType, eventType, sourceType);
  const why = change.kind === 'refused' ? change.reason : 'nilus applies this widening itself only with auto_evolve: true';
  return (
    `incompatible change for ${table}: column ${ident(column)} is ${targetType} in the target ` +
    `but the events now carry ${eventType}, which it cannot hold (old type ${targetType}, new type ${eventType}); ${why}. Migrate the column ` +
    `(e.g. ALTER TABLE ${table} ALTER COLUMN ${ident(column)} TYPE ${eventType}) and restart, or set ` +
    `spec.sink.options.schema_change: variant to land such values in a column ${ident(column + '__v_<type>')}`
  );
}

/** Every batch column already in the target must fit its stored type. */
export function checkColumnTypes(info: TargetInfo, columns: readonly ColumnSpec[]): void {
  for (const c of columns) {
    const have = info.byName.get(c.name);
    if (!have || typeFits(c.pgType, have.type)) continue;
    throw new IncompatibleTypeError(tableName(info.table), c.name, have.type, c.pgType, c.sourceType === true);
  }
}

/**
 * ON CONFLICT needs a unique index matching the key exactly; on a partitioned table such an index
 * must contain the partition key, so that is checked first and explained with an example.
 */
export function checkMergeKey(info: TargetInfo, keyColumns: readonly string[]): void {
  const name = tableName(info.table);
  const absent = keyColumns.filter((k) => !info.byName.has(k));
  if (absent.length > 0) {
    throw new ConfigError([
      { path: 'spec.sink.options.primary_key', message: `key column(s) ${list(absent)} do not exist in ${name}` },
    ]);
  }
  if (info.partitioned) {
    if (info.partitionExpressions > 0) {
      throw new FatalError(
        `target ${name} is partitioned by an expression; merge needs a primary key that contains the partition ` +
          `key, which an expression cannot be part of; partition by plain columns instead`,
      );
    }
    const missing = info.partitionKey.filter((p) => !keyColumns.includes(p));
    if (missing.length > 0 || info.primaryKey.length === 0) {
      const example = [...keyColumns, ...missing];
      throw new FatalError(
        `target ${name} is partitioned by (${list(info.partitionKey)}); its primary key must include the ` +
          `partition key columns (${list(info.partitionKey)}): e.g. PRIMARY KEY (${list(example)})` +
          (missing.length > 0 ? `, and declare primary_key: [${example.join(', ')}] in the sink options` : ''),
      );
    }
  }
  if (info.uniqueKeys.some((u) => sameSet(u, keyColumns))) return;
  if (info.primaryKey.length > 0) {
    throw new ConfigError([
      {
        path: 'spec.sink.options.primary_key',
        message:
          `the key columns of the events (${list(keyColumns)}) differ from the primary key of ${name} ` +
          `(${list(info.primaryKey)}); declare primary_key: [${info.primaryKey.join(', ')}] or change the table's primary key`,
      },
    ]);
  }
  throw new ConfigError([
    {
      path: 'spec.sink.options.primary_key',
      message: `${name} has no primary key or unique index on (${list(keyColumns)}); add PRIMARY KEY (${list(keyColumns)}) to it`,
    },
  ]);
}
