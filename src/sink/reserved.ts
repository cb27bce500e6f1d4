/**
 * The tables nilus writes itself (the offsets table, a dead-letter table): the Router refuses a
 * source table that resolves to one of them, so its rows never land in nilus's own tables.
 */
import type { PipelineConfig } from '../config/types';
import type { ReservedTable } from '../engine/route';
import { offsetsTable } from './offsets';

export function reservedTables(cfg: PipelineConfig): ReservedTable[] {
  const reserved: ReservedTable[] = [];
  try {
    reserved.push({ ref: offsetsTable(cfg.sink.options), role: 'the offsets table (spec.sink.options.state_schema)' });
  } catch {
    // No schema for the offsets table yet: start-up reports that as a configuration error.
  }
  const dl = cfg.errors.deadLetter;
  if (dl?.kind === 'table') reserved.push({ ref: dl.table, role: 'the dead-letter table (spec.sink.options.errors.deadletter.table)' });
  return reserved;
}
