/**
 * The tables nilus writes itself (the offsets table, a dead-letter table): the Router refuses a
 * source table that resolves to one of them, so its rows never land in nilus's own tables.
 */
import type { PipelineConfig } from '../config/types';
import type { ReservedTable } from '../engine/route';
import { offsetsTable } from './offsets';
import { REPLAYED_LETTERS_TABLE } from './sql/replayed-letters';

export function reservedTables(cfg: PipelineConfig): ReservedTable[] {
  const reserved: ReservedTable[] = [];
  try {
    const offsets = offsetsTable(cfg.sink.options);
    reserved.push({ ref: offsets, role: 'the offsets table (spec.sink.options.state_schema)' });
    if (cfg.errors.deadLetter?.kind === 'topic') {
      reserved.push({ ref: { schema: offsets.schema, table: REPLAYED_LETTERS_TABLE }, role: 'the table marking replayed dead letters (spec.sink.options.state_schema)' });
    }
  } catch {
    // No schema for the offsets table yet: start-up reports that as a configuration error.
  }
  const dl = cfg.errors.deadLetter;
  if (dl?.kind === 'table') reserved.push({ ref: dl.table, role: 'the dead-letter table (spec.sink.options.errors.deadletter.table)' });
  return reserved;
}
