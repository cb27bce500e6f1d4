/** Batch pipelines: a PostgreSQL source table into the destination with replace, append and merge. */
import { Pool } from 'pg';
import { buildConfig, parseManifest } from '../../../src/config';
import { runPipeline } from '../../../src/service/run';
import { createLogger } from '../../../src/observe/logger';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, targetPgUrl } from '../../helpers/pg';
import { sourcePgUrl } from '../../helpers/stack';

function manifest(source: string, dest: string, strategy: string, extra: Record<string, unknown> = {}, sourceExtra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    name: 'batch-test', version: 'v1alpha', type: 'nilus',
    spec: {
      type: 'batch', compute: 'test',
      source: { address: sourcePgUrl(), options: { source_table: source, ...sourceExtra } },
      sink: { address: targetPgUrl(), options: { dest_table: dest, incremental_strategy: strategy, http_port: 0, log_level: 'warn', 'batch.max_rows': 1000, ...extra } },
    },
  });
}

async function run(text: string, level: 'warn' | 'info' = 'warn'): Promise<{ code: number; logs: string }> {
  const cfg = await buildConfig(parseManifest(text).manifest, undefined, process.env);
  const lines: string[] = [];
  const code = await runPipeline(cfg, { log: createLogger({ level, name: 'batch-test', destination: { write: (l: string) => lines.push(l) } }) });
  return { code, logs: lines.join('') };
}

const CANON = (t: string) =>
  `SELECT count(*)::int AS n, coalesce(md5(string_agg(format('%s|%s|%s|%s|%s', id, name, price, tags, at), ',' ORDER BY id)), '') AS h FROM ${t}`;

describe('batch pipelines', () => {
  let source: Pool;
  let target: Pool;
  let src: string;
  let dst: string;
  beforeAll(async () => {
    source = new Pool({ connectionString: sourcePgUrl(), max: 2 });
    target = newPool();
    src = await createTestSchema(source, 'bsrc');
    dst = await createTestSchema(target, 'bdst');
    await source.query(`CREATE TABLE "${src}".items (id int PRIMARY KEY, name text, price numeric(10,2), tags text[], at timestamptz)`);
    // 2,500 rows: several chunks of batch.max_rows; awkward text on purpose
    await source.query(`INSERT INTO "${src}".items SELECT g, CASE WHEN g % 50 = 0 THEN NULL ELSE E'item\\t' || g || E'\\n"q"\\\\' END,
      g * 0.5, ARRAY['a' || g, NULL, 'x,y'], '2024-02-29 12:00:00+00'::timestamptz + g * interval '1 minute' FROM generate_series(1, 2500) g`);
  });
  afterAll(async () => {
    await dropTestSchemaUnlessFailed(source, src);
    await dropTestSchemaUnlessFailed(target, dst);
    await source.end();
    await target.end();
  });

  it('replace creates the target from the source and, run again, replaces its content atomically', async () => {
    const m = manifest(`${src}.items`, `${dst}.items_copy`, 'replace');
    expect((await run(m)).code).toBe(0);
    const want = (await source.query(CANON(`"${src}".items`))).rows[0];
    expect((await target.query(CANON(`"${dst}".items_copy`))).rows[0]).toEqual(want);
    expect(want.n).toBe(2500);
    await source.query(`DELETE FROM "${src}".items WHERE id > 2000`);
    await target.query(`INSERT INTO "${dst}".items_copy (id, name) VALUES (999999, 'stale')`);
    expect((await run(m)).code).toBe(0);
    expect((await target.query(CANON(`"${dst}".items_copy`))).rows[0]).toEqual((await source.query(CANON(`"${src}".items`))).rows[0]);
  });

  it('append adds every source row on each run', async () => {
    const m = manifest(`${src}.items`, `${dst}.items_log`, 'append');
    expect((await run(m)).code).toBe(0);
    expect((await run(m)).code).toBe(0);
    const n = (await source.query(`SELECT count(*)::int AS n FROM "${src}".items`)).rows[0].n;
    expect((await target.query(`SELECT count(*)::int AS n, count(DISTINCT id)::int AS d FROM "${dst}".items_log`)).rows[0]).toEqual({ n: 2 * n, d: n });
  });

  it('merge upserts by the source primary key', async () => {
    const m = manifest(`${src}.items`, `${dst}.items_m`, 'merge');
    expect((await run(m)).code).toBe(0);
    await source.query(`UPDATE "${src}".items SET price = price + 1 WHERE id % 2 = 0`);
    await source.query(`INSERT INTO "${src}".items (id, name) VALUES (5000, 'new')`);
    expect((await run(m)).code).toBe(0);
    expect((await target.query(CANON(`"${dst}".items_m`))).rows[0]).toEqual((await source.query(CANON(`"${src}".items`))).rows[0]);
  });

  it('merge into an empty target copies the rows straight in; run again, it rewrites only the rows that changed', async () => {
    const m = manifest(`${src}.items`, `${dst}.items_fresh`, 'merge', { log_level: 'info' });
    const first = await run(m, 'info');
    expect(first.code).toBe(0);
    expect(first.logs).toContain('merge into an empty target: rows copied straight in');
    expect((await target.query(CANON(`"${dst}".items_fresh`))).rows[0]).toEqual((await source.query(CANON(`"${src}".items`))).rows[0]);
    const versions = async (): Promise<Map<number, string>> =>
      new Map((await target.query<{ id: number; v: string }>(`SELECT id, xmin::text AS v FROM "${dst}".items_fresh`)).rows.map((r) => [r.id, r.v]));
    const before = await versions();
    await source.query(`UPDATE "${src}".items SET name = coalesce(name, '') || '+' WHERE id % 7 = 0`);
    const second = await run(m, 'info');
    expect(second.code).toBe(0);
    expect(second.logs).not.toContain('copied straight in');
    expect((await target.query(CANON(`"${dst}".items_fresh`))).rows[0]).toEqual((await source.query(CANON(`"${src}".items`))).rows[0]);
    const after = await versions();
    const rewritten = [...after].filter(([id, v]) => before.get(id) !== v).map(([id]) => id);
    const changed = (await source.query<{ id: number }>(`SELECT id FROM "${src}".items WHERE id % 7 = 0 ORDER BY id`)).rows.map((r) => r.id);
    expect(changed.length).toBeGreaterThan(200);
    expect(rewritten.sort((a, b) => a - b)).toEqual(changed);
  });

  it('merge on a declared primary_key that is not the source\'s upserts even into an empty target: a key repeated across pages ends as one row', async () => {
    await source.query(`CREATE TABLE "${src}".by_group (id int PRIMARY KEY, grp int NOT NULL, v text)`);
    // grp repeats every 100 ids: each page of 100 rows holds each grp once, every page holds them all
    await source.query(`INSERT INTO "${src}".by_group SELECT g, g % 100, 'v' || g FROM generate_series(1, 1000) g`);
    const m = manifest(`${src}.by_group`, `${dst}.by_group`, 'merge', { primary_key: ['grp'], log_level: 'info' }, { page_size: 100 });
    const r = await run(m, 'info');
    expect(r.code).toBe(0);
    expect(r.logs).not.toContain('copied straight in');
    const got = (await target.query(`SELECT count(*)::int AS n, count(DISTINCT grp)::int AS d FROM "${dst}".by_group`)).rows[0];
    expect(got).toEqual({ n: 100, d: 100 });
    // every row holds a source row whole
    const stray = await target.query(`SELECT grp FROM "${dst}".by_group WHERE v <> 'v' || id OR grp <> id % 100`);
    expect(stray.rows).toEqual([]);
  });

  it('a missing source table fails with the field and the fix', async () => {
    const r = await run(manifest(`${src}.nope`, `${dst}.x`, 'replace'));
    expect(r.code).toBe(1);
    expect(r.logs).toMatch(/spec\.source\.options\.source_table.*does not exist/);
  });
});
