/**
 * delete_mode soft through real Debezium (a managed PostgreSQL source, pgoutput), with the
 * stale-event guard on and one target partitioned: deletes keep their rows marked with the source
 * commit time (a row created and deleted between two flushes too), a re-insert clears the mark, a
 * key change marks the old key, a truncate marks every
 * live row with its own commit time; `verify` compares the live rows and is equal (and still finds
 * a difference planted among them).
 */
import { Client, Pool, type PoolClient } from 'pg';
import { buildConfig, parseManifest } from '../../../src/config';
import type { PipelineConfig } from '../../../src/config/types';
import { verifyPipeline } from '../../../src/verify/run';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, uniqueName } from '../../helpers/pg';
import { removeConnector } from '../../helpers/debezium';
import { managedManifest } from '../../helpers/managed';
import { startInProcess, waitFor } from '../../helpers/pipeline';
import { sourcePgUrl } from '../../helpers/stack';

jest.setTimeout(240_000);

/** Runs `sql` in one source transaction; resolves with the source clock just before and just after its COMMIT. */
async function committed(c: PoolClient, ...sql: string[]): Promise<{ before: number; after: number }> {
  await c.query('BEGIN');
  for (const s of sql) await c.query(s);
  const before = (await c.query<{ t: Date }>('SELECT clock_timestamp() AS t')).rows[0]!.t.getTime();
  await c.query('COMMIT');
  const after = (await c.query<{ t: Date }>('SELECT clock_timestamp() AS t')).rows[0]!.t.getTime();
  return { before, after };
}

describe('delete_mode soft through real Debezium', () => {
  let source: Pool;
  let target: Pool;
  let src: string;
  let dst: string;
  let cfg: PipelineConfig;
  let svc: Awaited<ReturnType<typeof startInProcess>> | undefined;
  const name = uniqueName('soft').replace(/_/g, '-');
  const connector = `nilus-${name}`;
  const slot = `nilus_${name.replace(/-/g, '_')}`;

  beforeAll(async () => {
    source = new Pool({ connectionString: sourcePgUrl(), max: 2 });
    target = newPool();
    src = await createTestSchema(source, 'softsrc');
    dst = await createTestSchema(target, 'soft');
    await source.query(`CREATE TABLE "${src}".orders (id bigint PRIMARY KEY, status text NOT NULL, amount numeric(12,2), note text)`);
    await source.query(`INSERT INTO "${src}".orders SELECT g, 'new', g * 1.25, 'note ' || g FROM generate_series(1, 200) g`);
    await source.query(`CREATE TABLE "${src}".parts (id int, region text, v text, PRIMARY KEY (id, region))`);
    await source.query(`INSERT INTO "${src}".parts SELECT g, CASE WHEN g % 2 = 0 THEN 'eu' ELSE 'us' END, 'v' || g FROM generate_series(1, 40) g`);
    // the partitioned target exists before the pipeline starts (auto_create makes plain tables)
    await target.query(`CREATE TABLE "${dst}".parts (id int NOT NULL, region text NOT NULL, v text, PRIMARY KEY (id, region)) PARTITION BY LIST (region)`);
    await target.query(`CREATE TABLE "${dst}".parts_eu PARTITION OF "${dst}".parts FOR VALUES IN ('eu')`);
    await target.query(`CREATE TABLE "${dst}".parts_us PARTITION OF "${dst}".parts FOR VALUES IN ('us')`);
    const text = managedManifest({ name, srcSchema: src, dest: `${dst}.{table}`, include: `${src}\\.(orders|parts)`, options: { delete_mode: 'soft', stale_guard: true } });
    cfg = await buildConfig(parseManifest(text).manifest, undefined, process.env);
    svc = await startInProcess(text);
    await waitFor(target, `SELECT (SELECT count(*) FROM "${dst}".orders)::int AS o, (SELECT count(*) FROM "${dst}".parts)::int AS p`, (r) => r[0]?.o === 200 && r[0]?.p === 40, 150_000);
  });

  afterAll(async () => {
    if (svc) expect(await svc.stop()).toBe(0);
    // never leave a slot behind: it would hold WAL on the shared PostgreSQL
    await removeConnector(connector).catch(() => undefined);
    const c = new Client({ connectionString: sourcePgUrl() });
    await c.connect();
    for (let i = 0; i < 40; i++) {
      const r = await c.query('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [slot]);
      if (r.rowCount === 0) break;
      if (!r.rows[0].active) {
        await c.query('SELECT pg_drop_replication_slot($1)', [slot]).catch(() => undefined);
        break;
      }
      await new Promise((res) => setTimeout(res, 250));
    }
    await c.query(`DROP PUBLICATION IF EXISTS "${slot}"`).catch(() => undefined);
    await c.end();
    await dropTestSchemaUnlessFailed(target, dst);
    await dropTestSchemaUnlessFailed(source, src);
    await source.end();
    await target.end();
  });

  const marked = (table: string) => `SELECT count(*) FILTER (WHERE _nilus_deleted_at IS NOT NULL)::int AS marked, count(*)::int AS n,
    count(DISTINCT _nilus_deleted_at)::int AS times, min(_nilus_deleted_at) AS at FROM "${dst}".${table}`;

  it('deletes, a re-insert and a key change: rows kept and marked with the commit time; verify equal on live rows', async () => {
    const c = await source.connect();
    let del: { before: number; after: number };
    try {
      del = await committed(c, `DELETE FROM "${src}".orders WHERE id % 10 = 7`, `DELETE FROM "${src}".parts WHERE id % 4 = 0`);
    } finally {
      c.release();
    }
    const [o] = await waitFor<{ marked: number; n: number; times: number; at: Date }>(target, marked('orders'), (r) => r[0]?.marked === 20, 60_000);
    expect(o).toMatchObject({ marked: 20, n: 200, times: 1 });
    // the source's commit time (ts_ms: whole ms), not the time the flush ran
    expect(o!.at.getTime()).toBeGreaterThanOrEqual(del.before - 1);
    expect(o!.at.getTime()).toBeLessThanOrEqual(del.after);
    const [p] = await waitFor<{ marked: number; n: number; times: number; at: Date }>(target, marked('parts'), (r) => r[0]?.marked === 10);
    expect(p).toMatchObject({ marked: 10, n: 40, times: 1, at: o!.at });
    expect((await target.query(`SELECT DISTINCT tableoid::regclass::text AS t FROM "${dst}".parts WHERE _nilus_deleted_at IS NOT NULL`)).rows.map((r) => r.t)).toEqual([`${dst}.parts_eu`]);

    await source.query(`INSERT INTO "${src}".orders VALUES (7, 'back', 7.77, 'again')`);
    await source.query(`UPDATE "${src}".orders SET id = 5000 WHERE id = 20`);
    const rows = await waitFor<{ id: string; status: string; gone: boolean }>(
      target, `SELECT id, status, _nilus_deleted_at IS NOT NULL AS gone FROM "${dst}".orders WHERE id IN (7, 20, 5000) ORDER BY id`,
      (r) => r.length === 3 && r[0]!.gone === false,
    );
    expect(rows).toEqual([{ id: '7', status: 'back', gone: false }, { id: '20', status: 'new', gone: true }, { id: '5000', status: 'new', gone: false }]);
    // a row created and deleted in one transaction (its events most likely in one flush) is kept, marked
    await source.query(`BEGIN; INSERT INTO "${src}".orders VALUES (7777, 'brief', 1.00, 'gone soon'); DELETE FROM "${src}".orders WHERE id = 7777; COMMIT`);
    const brief = await waitFor<{ status: string; gone: boolean }>(target, `SELECT status, _nilus_deleted_at IS NOT NULL AS gone FROM "${dst}".orders WHERE id = 7777`, (r) => r.length === 1);
    expect(brief).toEqual([{ status: 'brief', gone: true }]);

    const reports = await verifyPipeline(cfg, { settleQuietMs: 2000 });
    expect(reports.map((r) => r.line)).toEqual([
      expect.stringMatching(new RegExp(`^${src}\\.orders → ${dst}\\.orders: equal, 181 rows`)),
      expect.stringMatching(new RegExp(`^${src}\\.parts → ${dst}\\.parts: equal, 30 rows`)),
    ]);
    // a deleted row un-marked in the target is a difference: verify reads the live rows, not all
    await target.query(`UPDATE "${dst}".orders SET _nilus_deleted_at = NULL WHERE id = 17`);
    const [bad] = await verifyPipeline(cfg, { settleTimeoutMs: 0 });
    expect(bad!.verdict!.extra).toEqual({ count: 1, samples: ['17'] });
    await target.query(`UPDATE "${dst}".orders SET _nilus_deleted_at = $1 WHERE id = 17`, [o!.at]);
  });

  it('a truncate marks every live row with its commit time; rows inserted after it live; verify equal', async () => {
    const c = await source.connect();
    let tr: { before: number; after: number };
    const earlier = (await target.query<{ at: Date }>(`SELECT min(_nilus_deleted_at) AS at FROM "${dst}".orders`)).rows[0]!.at;
    try {
      tr = await committed(c, `TRUNCATE "${src}".orders`);
      await c.query(`INSERT INTO "${src}".orders VALUES (1, 'after', 1.00, NULL), (9999, 'after', 2.00, 'x')`);
    } finally {
      c.release();
    }
    const live = await waitFor<{ id: string }>(target, `SELECT id FROM "${dst}".orders WHERE _nilus_deleted_at IS NULL ORDER BY id`, (r) => r.length === 2 && r[0]!.id === '1');
    expect(live).toEqual([{ id: '1' }, { id: '9999' }]);
    const times = (await target.query<{ at: Date; n: number }>(`SELECT _nilus_deleted_at AS at, count(*)::int AS n FROM "${dst}".orders WHERE _nilus_deleted_at IS NOT NULL GROUP BY 1 ORDER BY 1`)).rows;
    // rows deleted before keep their times: the 19 deletes (7 came back), the old key 20 (the key
    // change's commit), 7777; the 181 rows live until the truncate carry its time, but key 1, inserted after it
    expect(times.map((t) => t.n)).toEqual([19, 1, 1, 180]);
    expect(times[0]!.at).toEqual(earlier);
    expect(times[3]!.at.getTime()).toBeGreaterThanOrEqual(tr.before - 1);
    expect(times[3]!.at.getTime()).toBeLessThanOrEqual(tr.after);
    const reports = await verifyPipeline(cfg, { settleQuietMs: 2000 });
    expect(reports[0]!.line).toMatch(new RegExp(`^${src}\\.orders → ${dst}\\.orders: equal, 2 rows`));
    expect(reports.every((r) => r.ok)).toBe(true);
  });
});
