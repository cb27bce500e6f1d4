/**
 * Batch merge with delete_mode soft: a run that reads the whole source table marks the target's
 * rows whose key it no longer found (_nilus_deleted_at = when the run started), clears the mark of
 * a key that is back, and `verify` compares the live rows only (equal, and a planted difference
 * among them still found). A run on an incremental cursor reads part of the table and marks nothing.
 */
import { Pool } from 'pg';
import { buildConfig, parseManifest } from '../../../src/config';
import { runPipeline } from '../../../src/service/run';
import { verifyPipeline } from '../../../src/verify/run';
import { createLogger } from '../../../src/observe/logger';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, targetPgUrl } from '../../helpers/pg';
import { sourcePgUrl } from '../../helpers/stack';

function manifest(source: string, dest: string, extra: Record<string, unknown> = {}, sourceExtra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    name: 'batch-soft', version: 'v1alpha', type: 'nilus',
    spec: {
      type: 'batch', compute: 'test',
      source: { address: sourcePgUrl(), options: { source_table: source, ...sourceExtra } },
      sink: { address: targetPgUrl(), options: { dest_table: dest, incremental_strategy: 'merge', delete_mode: 'soft', http_port: 0, log_level: 'warn', 'batch.max_rows': 300, ...extra } },
    },
  });
}

/** The log of the last run (info and above). */
let lastLog = '';

async function run(text: string): Promise<number> {
  const cfg = await buildConfig(parseManifest(text).manifest, undefined, process.env);
  const lines: string[] = [];
  const code = await runPipeline(cfg, { log: createLogger({ level: 'info', name: 'batch-soft', destination: { write: (l: string) => lines.push(l) } }) });
  lastLog = lines.join('');
  if (code !== 0) console.error(lastLog);
  return code;
}

describe('batch merge with delete_mode soft', () => {
  let source: Pool;
  let target: Pool;
  let src: string;
  let dst: string;
  beforeAll(async () => {
    source = new Pool({ connectionString: sourcePgUrl(), max: 2 });
    target = newPool();
    src = await createTestSchema(source, 'bssrc');
    dst = await createTestSchema(target, 'bsdst');
    await source.query(`CREATE TABLE "${src}".items (id int PRIMARY KEY, name text, seq int NOT NULL)`);
    await source.query(`INSERT INTO "${src}".items SELECT g, 'item ' || g, g FROM generate_series(1, 1000) g`);
  });
  afterAll(async () => {
    await dropTestSchemaUnlessFailed(source, src);
    await dropTestSchemaUnlessFailed(target, dst);
    await source.end();
    await target.end();
  });

  const marks = async (table: string) =>
    (await target.query<{ live: number; marked: number }>(`SELECT count(*) FILTER (WHERE _nilus_deleted_at IS NULL)::int AS live, count(*) FILTER (WHERE _nilus_deleted_at IS NOT NULL)::int AS marked FROM "${dst}".${table}`)).rows[0];

  it('a full run marks the rows gone from the source at the run start, clears a key that is back; verify is equal on the live rows', async () => {
    const m = manifest(`${src}.items`, `${dst}.items`, { log_level: 'info' });
    expect(await run(m)).toBe(0);
    // into the empty target: one COPY, and nothing marked (every row is one the run read)
    expect(lastLog).toContain('merge into an empty target: rows copied straight in');
    expect(await marks('items')).toEqual({ live: 1000, marked: 0 });

    await source.query(`DELETE FROM "${src}".items WHERE id % 10 = 3`);
    const before = (await target.query<{ t: Date }>('SELECT clock_timestamp() AS t')).rows[0]!.t;
    expect(await run(m)).toBe(0);
    expect(lastLog).not.toContain('copied straight in');
    const after = (await target.query<{ t: Date }>('SELECT clock_timestamp() AS t')).rows[0]!.t;
    expect(await marks('items')).toEqual({ live: 900, marked: 100 });
    const r = (await target.query(`SELECT array_agg(id ORDER BY id) FILTER (WHERE _nilus_deleted_at IS NOT NULL) AS ids, count(DISTINCT _nilus_deleted_at)::int AS times, min(_nilus_deleted_at) AS at FROM "${dst}".items`)).rows[0];
    expect(r.ids).toEqual(Array.from({ length: 100 }, (_, i) => i * 10 + 3));
    expect(r.times).toBe(1);
    // the run's start: within the run, not at its commit (rounded to ms on both sides)
    expect(r.at.getTime()).toBeGreaterThanOrEqual(before.getTime() - 1);
    expect(r.at.getTime()).toBeLessThanOrEqual(after.getTime());

    const cfg = await buildConfig(parseManifest(m).manifest, undefined, process.env);
    const [rep] = await verifyPipeline(cfg);
    expect(rep!.line).toMatch(/: equal, 900 rows/);
    expect(rep!.ok).toBe(true);

    // a key back at the source lives again; a marked row keeps its time on the next run
    await source.query(`INSERT INTO "${src}".items VALUES (3, 'back', 3)`);
    expect(await run(m)).toBe(0);
    expect(await marks('items')).toEqual({ live: 901, marked: 99 });
    expect((await target.query(`SELECT name, _nilus_deleted_at FROM "${dst}".items WHERE id = 3`)).rows[0]).toEqual({ name: 'back', _nilus_deleted_at: null });
    expect((await target.query(`SELECT count(DISTINCT _nilus_deleted_at)::int AS n, min(_nilus_deleted_at) AS at FROM "${dst}".items`)).rows[0]).toEqual({ n: 1, at: r.at });

    // verify still finds a difference among live rows: a marked row un-marked in the target is extra
    await target.query(`UPDATE "${dst}".items SET _nilus_deleted_at = NULL WHERE id = 13`);
    const [bad] = await verifyPipeline(cfg);
    expect(bad!.ok).toBe(false);
    expect(bad!.verdict!.extra).toEqual({ count: 1, samples: ['13'] });
  });

  it('an empty source marks every live row', async () => {
    await source.query(`CREATE TABLE "${src}".few (id int PRIMARY KEY, v text)`);
    await source.query(`INSERT INTO "${src}".few VALUES (1, 'a'), (2, 'b')`);
    const m = manifest(`${src}.few`, `${dst}.few`);
    expect(await run(m)).toBe(0);
    await source.query(`DELETE FROM "${src}".few`);
    expect(await run(m)).toBe(0);
    expect(await marks('few')).toEqual({ live: 0, marked: 2 });
  });

  it('a run on an incremental cursor marks nothing (it does not read the whole table)', async () => {
    await source.query(`CREATE TABLE "${src}".inc (id int PRIMARY KEY, seq int NOT NULL)`);
    await source.query(`INSERT INTO "${src}".inc SELECT g, g FROM generate_series(1, 50) g`);
    const m = manifest(`${src}.inc`, `${dst}.inc`, {}, { incremental_key: 'seq' });
    expect(await run(m)).toBe(0);
    await source.query(`DELETE FROM "${src}".inc WHERE id <= 10`);
    await source.query(`INSERT INTO "${src}".inc VALUES (51, 51)`);
    expect(await run(m)).toBe(0);
    expect(await marks('inc')).toEqual({ live: 51, marked: 0 });
  });
});
