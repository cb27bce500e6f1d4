import { schemaChangeLine } from '../../../src/cli/check-schema';
import type { PipelineConfig } from '../../../src/config/types';

const cfg = (opts: { autoEvolve?: boolean; schemaChange?: 'stop' | 'deadletter' | 'variant' }, tolerance: 'none' | 'all' = 'none') =>
  ({
    sink: { options: { autoEvolve: opts.autoEvolve ?? true, ...(opts.schemaChange ? { schemaChange: opts.schemaChange } : {}) } },
    errors: { tolerance },
  }) as unknown as Pick<PipelineConfig, 'sink' | 'errors'>;

describe('check: the schema-change line', () => {
  it('unset, follows errors.tolerance as before the option', () => {
    expect(schemaChangeLine(cfg({}))).toMatch(/^schema changes: widenings applied in the flush \(ALTER COLUMN … TYPE\): smallint\/integer → integer\/bigint, .*; other type changes stop the pipeline at the first record of the new type, naming it \(schema_change unset: errors.tolerance none\); a column dropped at the source stays in the target, NULL in new rows$/);
    expect(schemaChangeLine(cfg({}, 'all'))).toMatch(/other type changes are dead-lettered, row by row \(schema_change unset: errors.tolerance all\)/);
  });
  it('names variant columns, and says what auto_evolve: false does', () => {
    expect(schemaChangeLine(cfg({ schemaChange: 'variant' }))).toMatch(/other type changes land in a column <col>__v_<type> \(the column NULL in that row\); a column dropped/);
    const off = schemaChangeLine(cfg({ schemaChange: 'variant', autoEvolve: false }));
    expect(off).toMatch(/widenings none applied \(auto_evolve is false: nilus alters no column\)/);
    expect(off).toMatch(/which auto_evolve: false will refuse to add/);
  });
});
