/**
 * merge needs a key. Whether events carry one is only known when they arrive, so the pipeline
 * calls this per table before its first merge flush.
 */
import { ConfigError } from '../core/errors';
import type { SourceTable } from '../core/types';
import type { PipelineConfig } from './types';

/** The key columns to merge on: the manifest's primary_key, else the event key; throws when neither exists. */
export function requirePrimaryKey(config: PipelineConfig, eventKeyColumns: readonly string[], table: SourceTable | string): readonly string[] {
  const declared = config.sink.options.primaryKey;
  if (declared && declared.length > 0) return declared;
  if (eventKeyColumns.length > 0) return eventKeyColumns;
  if (config.sink.options.strategy !== 'merge') return [];
  const name = typeof table === 'string' ? table : `${table.schema}.${table.table}`;
  throw new ConfigError([
    {
      path: 'spec.sink.options.primary_key',
      message: `merge into ${config.sink.options.destTable} needs a primary key, but events of ${name} carry no key and the manifest declares none — without one, merge runs duplicate rows over time. Add \`primary_key\` to the manifest's dataset spec (spec.sink.options.primary_key: <column> or [<col>, …])`,
    },
  ]);
}
