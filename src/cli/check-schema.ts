/**
 * The `check` line saying what the pipeline does with schema changes of its tables' columns: which
 * type changes it would apply itself, what happens to the others, and to a dropped column. The
 * rule itself is src/sink/schema/widen.ts (docs/types.md, "Schema evolution", has the full table).
 */
import type { PipelineConfig } from '../config/types';
import { WIDENINGS } from '../sink/schema/widen';

export function schemaChangeLine(cfg: Pick<PipelineConfig, 'sink' | 'errors'>): string {
  const o = cfg.sink.options;
  const mode = o.schemaChange ?? (cfg.errors.tolerance === 'all' ? 'deadletter' : 'stop');
  const applied = o.autoEvolve
    ? `applied in the flush (ALTER COLUMN … TYPE): ${WIDENINGS} (varchar and timestamp precision only when the events carry the source column type)`
    : 'none applied (auto_evolve is false: nilus alters no column)';
  const refused = {
    stop: 'stop the pipeline at the first record of the new type, naming it',
    deadletter: 'are dead-lettered, row by row',
    variant: `land in a column <col>__v_<type> (the column NULL in that row)${o.autoEvolve ? '' : ', which auto_evolve: false will refuse to add'}`,
  }[mode];
  const why = o.schemaChange === undefined ? ` (schema_change unset: errors.tolerance ${cfg.errors.tolerance})` : '';
  return `schema changes: widenings ${applied}; other type changes ${refused}${why}; a column dropped at the source stays in the target, NULL in new rows`;
}
