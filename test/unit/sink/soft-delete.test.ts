/** The pure parts of delete_mode soft and metadata_columns: their SQL, the metadata values, the option's names. */
import { softDeleteUsingStagingSql } from '../../../src/sink/sql/soft-delete';
import { markLiveRowsSql } from '../../../src/sink/sql/mark-live-rows';
import { insertSeenSql } from '../../../src/sink/sql/insert-seen';
import { upsertFromStagingSql } from '../../../src/sink/sql/upsert-from-staging';
import { metadataText, metadataValues, sourceTimeText, APPEND_COPIED } from '../../../src/sink/metadata';
import { metadataOwn, metadataStaging, upsertOwn } from '../../../src/sink/soft-delete';
import { metadataColumnNames } from '../../../src/config/metadata-columns';

const t = { schema: 'Sales', table: 'order"s' };
const T = '"Sales"."order""s"';
const pos = { topic: 'a\tb', partition: 3, offset: '42' };
const src = { lsn: 123n, tsMs: Date.parse('2024-02-29T12:00:00.5Z') };

describe('soft delete SQL', () => {
  it('a soft delete updates the mark from staging (now() when NULL) on every key column', () => {
    expect(softDeleteUsingStagingSql({ target: t, staging: 'sd', keyColumns: ['a', 'B'], deletedAt: '_nilus_deleted_at', set: [] })).toBe(
      `UPDATE ${T} AS d SET "_nilus_deleted_at" = COALESCE(s."_nilus_deleted_at", now()) FROM "sd" AS s WHERE d."a" = s."a" AND d."B" = s."B"`,
    );
  });

  it('with the guard it moves the stored position and skips newer rows; metadata from staging or now()', () => {
    const sql = softDeleteUsingStagingSql({
      target: t, staging: 'sd', keyColumns: ['id'], deletedAt: '_nilus_deleted_at',
      set: [{ column: '_nilus_op', value: 'staging' }, { column: '_nilus_applied_at', value: 'now' }],
      guard: { stagingColumn: 'p', targetColumn: 'pos' },
    });
    expect(sql).toBe(
      `UPDATE ${T} AS d SET "_nilus_deleted_at" = COALESCE(s."_nilus_deleted_at", now()), "_nilus_op" = s."_nilus_op", "_nilus_applied_at" = now(), "pos" = s."p" ` +
        `FROM "sd" AS s WHERE d."id" = s."id" AND (d."pos" IS NULL OR d."pos" <= s."p")`,
    );
  });

  it('marking live rows: a truncate (parameters, the guard raised never lowered), a batch run (keys not read)', () => {
    expect(markLiveRowsSql({ target: t, deletedAt: 'm', set: [{ column: 'o', value: { param: 2 } }], guard: { column: 'pos', param: 3 } })).toBe(
      `UPDATE ${T} AS d SET "m" = COALESCE($1::timestamptz, now()), "o" = $2, "pos" = GREATEST("pos", $3::bigint) WHERE "m" IS NULL`,
    );
    expect(markLiveRowsSql({ target: t, deletedAt: 'm', set: [], notIn: { table: 'seen', keyColumns: ['a', 'b'] } })).toBe(
      `UPDATE ${T} AS d SET "m" = COALESCE($1::timestamptz, now()) WHERE "m" IS NULL AND NOT EXISTS (SELECT 1 FROM "seen" AS k WHERE k."a" = d."a" AND k."b" = d."b")`,
    );
    expect(insertSeenSql('seen', 'st', ['a', 'b'])).toBe('INSERT INTO "seen" ("a", "b") SELECT "a", "b" FROM "st"');
  });

  it('an upsert writes own columns on insert and on update (a cleared mark, metadata), after the guard', () => {
    const { text } = upsertFromStagingSql({
      target: t, staging: 'st', keyColumns: ['id'], columns: ['id'], guard: { stagingColumn: 'p', targetColumn: 'pos' },
      own: [{ column: '_nilus_offset', value: 'staging' }, { column: '_nilus_applied_at', value: 'now' }, { column: '_nilus_deleted_at', value: 'null' }],
    });
    expect(text).toBe(
      `INSERT INTO ${T} AS "_nilus_t" ("id", "pos", "_nilus_offset", "_nilus_applied_at", "_nilus_deleted_at") SELECT s."id", s."p", s."_nilus_offset", now(), NULL FROM "st" AS s ` +
        `ON CONFLICT ("id") DO UPDATE SET "pos" = EXCLUDED."pos", "_nilus_offset" = EXCLUDED."_nilus_offset", "_nilus_applied_at" = EXCLUDED."_nilus_applied_at", "_nilus_deleted_at" = EXCLUDED."_nilus_deleted_at" ` +
        `WHERE "_nilus_t"."pos" IS NULL OR "_nilus_t"."pos" <= EXCLUDED."pos"`,
    );
    // keys only and a soft delete mode: a re-created key is still updated (its mark cleared), not DO NOTHING
    const keysOnly = upsertFromStagingSql({ target: t, staging: 'st', keyColumns: ['id'], columns: ['id'], own: [{ column: 'm', value: 'null' }] });
    expect(keysOnly.text).toMatch(/DO UPDATE SET "m" = EXCLUDED."m"$/);
  });
});

describe('metadata values (append rows, merge staging, a truncate)', () => {
  it('as COPY text: op, source time, LSN, topic escaped, partition, offset; unknowns as \\N', () => {
    expect(metadataText('u', src, pos)).toBe('u\t2024-02-29T12:00:00.500Z\t123\ta\\tb\t3\t42');
    expect(metadataText('d', {}, undefined)).toBe('d\t\\N\t\\N\t\\N\t\\N\t\\N');
    expect(sourceTimeText(src)).toBe('2024-02-29T12:00:00.500Z');
    expect(sourceTimeText(undefined)).toBe('\\N');
  });

  it('as parameters, the same values in the order of the copied columns', () => {
    expect(APPEND_COPIED).toEqual(['_nilus_op', '_nilus_source_ts', '_nilus_source_lsn', '_nilus_topic', '_nilus_partition', '_nilus_offset']);
    expect(metadataValues('t', src, pos)).toEqual(['t', '2024-02-29T12:00:00.500Z', '123', 'a\tb', '3', '42']);
    expect(metadataValues('t', undefined, undefined)).toEqual(['t', null, null, null, null, null]);
  });

  it('merge stages every copied column when any is chosen, and writes only the chosen ones', () => {
    const x = { soft: true, guard: false, metadata: ['_nilus_op', '_nilus_applied_at'] };
    expect(metadataStaging(x).map((c) => c.name)).toEqual(APPEND_COPIED);
    expect(metadataStaging({ ...x, metadata: [] })).toEqual([]);
    expect(metadataOwn(x)).toEqual([{ column: '_nilus_op', value: 'staging' }, { column: '_nilus_applied_at', value: 'now' }]);
    expect(upsertOwn(x)).toEqual([...metadataOwn(x), { column: '_nilus_deleted_at', value: 'null' }]);
    expect(upsertOwn({ ...x, soft: false, metadata: [] })).toEqual([]);
  });
});

describe('metadata_columns names', () => {
  it('true is every column, a list its own in append order, false none', () => {
    expect(metadataColumnNames(true)).toEqual(['_nilus_op', '_nilus_source_ts', '_nilus_source_lsn', '_nilus_topic', '_nilus_partition', '_nilus_offset', '_nilus_applied_at']);
    expect(metadataColumnNames(['offset', 'op'])).toEqual(['_nilus_op', '_nilus_offset']);
    expect(metadataColumnNames(false)).toEqual([]);
  });
});
