/**
 * A full disk under the target table: the table lives in a tablespace on a small tmpfs of a
 * throwaway PostgreSQL cluster (the shared server is not touched), a continuous workload keeps
 * arriving, the test fills the file system mid-stream and frees it again a few seconds later.
 *
 * What must happen: PostgreSQL refuses to extend the table (53100 disk_full, "could not extend
 * file … No space left on device"); the flush is rolled back and retried with backoff; /readyz
 * answers 503 while it lasts, nilus_retries_total{operation="apply"} counts, nothing is
 * dead-lettered (errors.tolerance all, so a misclassified row would show up in the dead-letter
 * table) and nothing is stored past the last commit; once space is freed the pipeline goes on by
 * itself and the target equals the workload's final state, offsets at the topic's end.
 * Slow: about 40 s (a cluster's initdb, the workload, 6 s of full disk).
 */
import { execFileSync } from 'node:child_process';
import { chownSync, closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createTopics } from '../../helpers/kafka';
import { uniqueName } from '../../helpers/pg';
import { cdcManifest, produceMany, startInProcess } from '../../helpers/pipeline';
import { EventFactory, ordersTable } from '../../fixtures/factory';
import { churn, expectedOrders, httpGet, metricSum, ORDERS_TEXT, ordersRows, scrape, sleep, until } from '../ops/support';
import { highWatermarks, storedOffsets, storedTotal } from '../ops/group';
import { startCluster, type Cluster } from '../pg/clusters';

const FS_SIZE = '16m';
const FULL_MS = 6_000;

/** Writes `path` until the file system says ENOSPC; returns the bytes written. */
function fill(path: string): number {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 0x5a);
  let written = 0;
  try {
    for (;;) {
      try {
        written += writeSync(fd, chunk);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOSPC') return written;
        throw e;
      }
    }
  } finally {
    closeSync(fd);
  }
}

describe('a full disk under the target table', () => {
  let cluster: Cluster;
  let mount: string;
  let pool: pg.Pool;
  const schema = 'disk';
  beforeAll(async () => {
    cluster = await startCluster({ hba: ['host all postgres 127.0.0.1/32 trust'] });
    mount = mkdtempSync(join(tmpdir(), 'nilus-disk-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${FS_SIZE}`, 'tmpfs', mount]);
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
    mkdirSync(join(mount, 'ts'));
    chownSync(join(mount, 'ts'), uid, gid);
    await cluster.sql(`CREATE TABLESPACE small LOCATION '${join(mount, 'ts')}'`);
    await cluster.sql(`CREATE SCHEMA ${schema}`);
    pool = new pg.Pool({ host: '127.0.0.1', port: cluster.port, user: 'postgres', database: 'postgres', max: 2 });
  });
  afterAll(async () => {
    await pool?.end();
    try {
      cluster?.stop();
    } finally {
      if (mount) {
        execFileSync('umount', [mount]);
        rmSync(mount, { recursive: true, force: true });
      }
    }
  });

  it('53100 is retried with backoff (503, nilus_retries_total), nothing dead-lettered, resumes by itself once space is freed; exact', async () => {
    const prefix = uniqueName('fltdisk');
    const groupId = `${prefix}_g`;
    const f = new EventFactory(ordersTable(prefix));
    await createTopics([f.topic], 2);
    // Many keys, so the table keeps growing (new rows need new pages) while the disk is full.
    const { state, messages } = churn(f, 30_000, 20_000, 2);
    const url = `postgresql://postgres@127.0.0.1:${cluster.port}/postgres?sslmode=disable`;
    const m = JSON.parse(cdcManifest({
      name: prefix, prefix, groupId, dest: `${schema}.orders`, strategy: 'merge', include: 'public.orders',
      options: {
        'batch.max_rows': 1_000,
        'errors.tolerance': 'all',
        'errors.deadletter.table': `${schema}.dead_letters`,
        'errors.retry.initial_ms': 200,
        'errors.retry.max_ms': 1_000,
      },
    }));
    m.spec.sink.address = url;
    const svc = await startInProcess(JSON.stringify(m));
    const filler = join(mount, 'filler');
    let filledAt = 0;
    try {
      const slices = 60;
      const per = Math.ceil(messages.length / slices);
      const producing = (async () => {
        for (let i = 0; i < slices; i++) {
          await produceMany(f.topic, messages.slice(i * per, (i + 1) * per));
          await sleep(250);
        }
      })();
      await until('the first flushes to commit', async () => ((await storedTotal(pool, schema, groupId)) > 2_000 ? true : undefined), 60_000, 50);
      // The target moves onto the small file system (the DBA's ALTER waits for the flush in progress), which then fills.
      await pool.query(`ALTER TABLE ${schema}.orders SET TABLESPACE small`);
      const filled = fill(filler);
      filledAt = Date.now();
      await until('the worker to meet the full disk', async () => (/No space left on device/.test(svc.logs()) ? true : undefined), 30_000, 50);
      const detectedMs = Date.now() - filledAt;
      const retryLine = svc.logs().split('\n').find((l) => l.includes('"msg":"retrying apply"') && l.includes('No space left on device'));
      expect(retryLine).toBeDefined();
      expect(retryLine).toContain('"code":"53100"');
      const ready = await httpGet(svc.httpPort, '/readyz');
      expect({ readyz: ready.status, postgresqlMissing: (JSON.parse(ready.body).missing as string[]).includes('postgresql') }).toEqual({ readyz: 503, postgresqlMissing: true });
      expect({ healthz: (await httpGet(svc.httpPort, '/healthz')).status }).toEqual({ healthz: 200 });
      const first = metricSum(await scrape(svc.httpPort), 'nilus_retries_total', { operation: 'apply' });
      const storedWhileFull = await storedTotal(pool, schema, groupId);
      await sleep(FULL_MS - (Date.now() - filledAt));
      expect(await storedTotal(pool, schema, groupId)).toBe(storedWhileFull);
      const second = metricSum(await scrape(svc.httpPort), 'nilus_retries_total', { operation: 'apply' });
      expect({ retriesGrowing: second > first }).toEqual({ retriesGrowing: true });

      rmSync(filler);
      const freedAt = Date.now();
      await until('a flush to commit once space is freed', async () => ((await storedTotal(pool, schema, groupId)) > storedWhileFull ? true : undefined), 30_000, 50);
      const recoveredMs = Date.now() - freedAt;
      await producing;
      await until('every event to be applied', async () => ((await storedTotal(pool, schema, groupId)) === messages.length ? true : undefined), 90_000);
      await until('/readyz to answer 200', async () => ((await httpGet(svc.httpPort, '/readyz')).status === 200 ? true : undefined), 30_000);
      const errors = svc.logs().split('\n').filter((l) => /"level":"(error|fatal)"/.test(l));
      expect(errors).toEqual([]);
      expect({ deadLettered: metricSum(await scrape(svc.httpPort), 'nilus_dead_lettered_total') }).toEqual({ deadLettered: 0 });
      console.log(
        `disk full: ${filled} bytes of filler, 53100 seen ${detectedMs} ms after the disk filled (${retryLine!.match(/"message":"((?:[^"\\]|\\.)*)"/)?.[1]}), ` +
          `${second} apply retries while full, first commit ${recoveredMs} ms after space was freed`,
      );
    } finally {
      rmSync(filler, { force: true });
      expect({ exitCode: await svc.stop() }).toEqual({ exitCode: 0 });
    }
    expect(ordersRows((await pool.query(ORDERS_TEXT(schema))).rows)).toEqual(expectedOrders(state));
    expect(await storedOffsets(pool as never, schema, groupId, f.topic)).toEqual(await highWatermarks(f.topic));
    expect((await pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${schema}.dead_letters`)).rows[0]!.n).toBe('0');
    const where = await pool.query<{ t: string }>(`SELECT coalesce(t.spcname, 'default') AS t FROM pg_class c LEFT JOIN pg_tablespace t ON t.oid = c.reltablespace WHERE c.oid = '${schema}.orders'::regclass`);
    expect(where.rows[0]!.t).toBe('small');
  }, 180_000);
});
