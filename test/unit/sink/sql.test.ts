import { addColumnsSql } from '../../../src/sink/sql/add-columns';
import { copyFromStdinSql } from '../../../src/sink/sql/copy-from-stdin';
import { createStagingSql } from '../../../src/sink/sql/create-staging';
import { createTableSql } from '../../../src/sink/sql/create-table';
import { deleteUsingStagingSql } from '../../../src/sink/sql/delete-using-staging';
import { upsertOffsetsSql } from '../../../src/sink/sql/upsert-offsets';
import { updateOffsetsFencedSql } from '../../../src/sink/sql/update-offsets-fenced';
import { addOffsetsSourceTsSql } from '../../../src/sink/sql/add-offsets-source-ts';
import { selectOffsetsSql } from '../../../src/sink/sql/select-offsets';
import { upsertFromStagingSql } from '../../../src/sink/sql/upsert-from-staging';

const t = { schema: 'Sales', table: 'order"s; drop' };
const T = '"Sales"."order""s; drop"';

describe('SQL builders', () => {
  it('upsert: updates non-key columns from EXCLUDED', () => {
    const { text, values } = upsertFromStagingSql({ target: t, staging: 'st', keyColumns: ['id'], columns: ['id', 'Name', 'v'] });
    expect(text).toBe(
      `INSERT INTO ${T} AS "_nilus_t" ("id", "Name", "v") SELECT s."id", s."Name", s."v" FROM "st" AS s ` +
        `ON CONFLICT ("id") DO UPDATE SET "Name" = EXCLUDED."Name", "v" = EXCLUDED."v"`,
    );
    expect(values).toEqual([]);
  });

  it('upsert: DO NOTHING when only key columns are written', () => {
    const { text } = upsertFromStagingSql({ target: t, staging: 'st', keyColumns: ['a', 'b'], columns: ['a', 'b'] });
    expect(text.endsWith('ON CONFLICT ("a", "b") DO NOTHING')).toBe(true);
  });

  it('upsert: filters by mask as a parameter, or IS NULL for the unmasked rows', () => {
    const masked = upsertFromStagingSql({ target: t, staging: 'st', keyColumns: ['id'], columns: ['id', 'v'], mask: { column: 'm', value: '2,3' } });
    expect(masked.text).toContain(' FROM "st" AS s WHERE s."m" = $1 ON CONFLICT');
    expect(masked.values).toEqual(['2,3']);
    const plain = upsertFromStagingSql({ target: t, staging: 'st', keyColumns: ['id'], columns: ['id', 'v'], mask: { column: 'm', value: null } });
    expect(plain.text).toContain(' WHERE s."m" IS NULL ON CONFLICT');
    expect(plain.values).toEqual([]);
  });

  it('upsert with stale guard: writes the position and only updates older or unknown rows', () => {
    const { text } = upsertFromStagingSql({
      target: t, staging: 'st', keyColumns: ['id'], columns: ['id'], guard: { stagingColumn: 'p', targetColumn: 'pos' },
    });
    expect(text).toBe(
      `INSERT INTO ${T} AS "_nilus_t" ("id", "pos") SELECT s."id", s."p" FROM "st" AS s ON CONFLICT ("id") ` +
        `DO UPDATE SET "pos" = EXCLUDED."pos" WHERE "_nilus_t"."pos" IS NULL OR "_nilus_t"."pos" <= EXCLUDED."pos"`,
    );
  });

  it('upsert leaving unchanged rows alone: the whole rows compared by binary image, alone or after the stale guard', () => {
    const plain = upsertFromStagingSql({ target: t, staging: 'st', keyColumns: ['id'], columns: ['id', 'v'], skipUnchanged: true });
    expect(plain.text.endsWith('ON CONFLICT ("id") DO UPDATE SET "v" = EXCLUDED."v" WHERE NOT ("_nilus_t" *= EXCLUDED)')).toBe(true);
    const guarded = upsertFromStagingSql({
      target: t, staging: 'st', keyColumns: ['id'], columns: ['id', 'v'], guard: { stagingColumn: 'p', targetColumn: 'pos' }, skipUnchanged: true,
    });
    expect(guarded.text.endsWith(
      'WHERE ("_nilus_t"."pos" IS NULL OR "_nilus_t"."pos" <= EXCLUDED."pos") AND (NOT ("_nilus_t" *= EXCLUDED))',
    )).toBe(true);
    // only keys written: nothing to update, nothing to compare
    expect(upsertFromStagingSql({ target: t, staging: 'st', keyColumns: ['id'], columns: ['id'], skipUnchanged: true }).text.endsWith('DO NOTHING')).toBe(true);
  });

  it('delete: joins staging on every key column with =, guard optional', () => {
    expect(deleteUsingStagingSql({ target: t, staging: 'sd', keyColumns: ['a', 'B'] })).toBe(
      `DELETE FROM ${T} AS d USING "sd" AS s WHERE d."a" = s."a" AND d."B" = s."B"`,
    );
    expect(deleteUsingStagingSql({ target: t, staging: 'sd', keyColumns: ['a'], guard: { stagingColumn: 'p', targetColumn: 'pos' } })).toBe(
      `DELETE FROM ${T} AS d USING "sd" AS s WHERE d."a" = s."a" AND (d."pos" IS NULL OR d."pos" <= s."p")`,
    );
  });

  it('staging: temp, dropped on commit, no constraints', () => {
    expect(createStagingSql('st', [{ name: 'a b', type: 'numeric(12,2)' }, { name: 'm', type: 'text' }])).toBe(
      'CREATE TEMP TABLE "st" ("a b" numeric(12,2), "m" text) ON COMMIT DROP',
    );
  });

  it('COPY into a table or a temp table, with quoted columns', () => {
    expect(copyFromStdinSql(t, ['x', 'Y"'])).toBe(`COPY ${T} ("x", "Y""") FROM STDIN`);
    expect(copyFromStdinSql('st', ['x'])).toBe('COPY "st" ("x") FROM STDIN');
  });

  it('DDL: create with primary key and defaults; add columns; both IF NOT EXISTS', () => {
    expect(createTableSql(t, [{ name: 'id', type: 'bigint' }, { name: 'at', type: 'timestamptz', defaultSql: 'now()' }], ['id'])).toBe(
      `CREATE TABLE IF NOT EXISTS ${T} ("id" bigint, "at" timestamptz DEFAULT now(), PRIMARY KEY ("id"))`,
    );
    expect(createTableSql(t, [{ name: 'id', type: 'bigint' }], [])).toBe(`CREATE TABLE IF NOT EXISTS ${T} ("id" bigint)`);
    expect(addColumnsSql(t, [{ name: 'a', type: 'text' }, { name: 'b', type: 'int' }])).toBe(
      `ALTER TABLE ${T} ADD COLUMN IF NOT EXISTS "a" text, ADD COLUMN IF NOT EXISTS "b" int`,
    );
  });

  it('offsets: one statement over arrays; select filters by group and optional topics', () => {
    const o = { schema: 'state', table: 'nilus_offsets' };
    expect(upsertOffsetsSql(o)).toContain('FROM unnest($2::text[], $3::int[], $4::bigint[], $5::float8[])');
    expect(upsertOffsetsSql(o)).toContain('ON CONFLICT (group_id, topic, partition) DO UPDATE');
    // a flush whose records carried no source time keeps the one stored
    expect(upsertOffsetsSql(o)).toContain('source_ts = COALESCE(EXCLUDED.source_ts, o.source_ts)');
    expect(updateOffsetsFencedSql(o)).toContain('source_ts = COALESCE(to_timestamp(u.source_ms / 1000.0), o.source_ts)');
    expect(addOffsetsSourceTsSql(o)).toBe('ALTER TABLE "state"."nilus_offsets" ADD COLUMN IF NOT EXISTS source_ts timestamptz');
    expect(selectOffsetsSql(o)).toContain('WHERE group_id = $1 AND ($2::text[] IS NULL OR topic = ANY ($2::text[]))');
  });
});
