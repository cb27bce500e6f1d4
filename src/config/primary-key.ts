/**
 * merge needs a key. Whether events carry one is only known when they arrive, so the pipeline
 * calls this per event (per table in practice, the answer is cached by the caller).
 */
import { DataError } from '../kernel/errors';
import type { Position, SourceTable, TableRef } from '../kernel/types';
import { resolveDestTable } from './names';
import type { PipelineConfig } from './types';

export interface PrimaryKeyContext {
  /** The record the key is resolved for; it is named in the error. */
  readonly pos?: Position;
  /** The resolved destination table (else resolved here from dest_table and the source table). */
  readonly target?: TableRef;
}

const q = (s: string): string => `"${s.replace(/"/g, '""')}"`;

/**
 * The key columns to merge on: the manifest's primary_key, else the event key. When neither
 * exists this one record cannot be merged: a DataError naming the target table (dest_table's
 * placeholders filled in), the source table and, with `ctx.pos`, the record. Under
 * errors.tolerance all it is dead-lettered; under none the pipeline stops at it.
 */
export function requirePrimaryKey(
  config: PipelineConfig,
  eventKeyColumns: readonly string[],
  table: SourceTable | string,
  ctx: PrimaryKeyContext = {},
): readonly string[] {
  const declared = config.sink.options.primaryKey;
  if (declared && declared.length > 0) return declared;
  if (eventKeyColumns.length > 0) return eventKeyColumns;
  if (config.sink.options.strategy !== 'merge') return [];
  const src: SourceTable = typeof table === 'string' ? splitSource(table) : table;
  const name = `${src.schema}.${src.table}`;
  let target = ctx.target;
  if (target === undefined) {
    try {
      target = resolveDestTable(config.sink.options.destTable, src);
    } catch {
      target = undefined;
    }
  }
  const into = target ? `${q(target.schema)}.${q(target.table)}` : config.sink.options.destTable;
  throw new DataError(
    `cannot merge this event of ${name} into ${into}: it carries no key (a null or empty Kafka record key) and the manifest ` +
      `declares no primary_key, so there is no row to upsert or delete. Add \`primary_key\` to the manifest's dataset spec ` +
      `(spec.sink.options.primary_key: <column> or [<col>, …]) if the source table has no primary key; if it has one, ` +
      `this record was produced without its key`,
    ctx.pos,
  );
}

function splitSource(s: string): SourceTable {
  const dot = s.indexOf('.');
  return dot > 0 ? { schema: s.slice(0, dot), table: s.slice(dot + 1) } : { schema: '', table: s };
}
