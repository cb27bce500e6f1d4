/**
 * The target truncated under a managed PostgreSQL CDC pipeline (a real source table, Debezium,
 * Kafka): a truncate of the target is not an event, so the sink cannot see it. The pipeline goes
 * on; the target then holds only the rows changed since; `nilus-pg verify` reports every other row
 * as missing, by key, and exits 1. (test/it/faults/dba.it.ts checks the same content rule by Kafka
 * position with a synthetic stream.)
 * Slow: about 20 s (a connector and its snapshot).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Pool } from 'pg';
import { buildConfig, parseManifest } from '../../../src/config';
import type { PipelineConfig } from '../../../src/config/types';
import { main } from '../../../src/cli/main';
import { verifyPipeline } from '../../../src/verify/run';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, uniqueName } from '../../helpers/pg';
import { removeConnector } from '../../helpers/debezium';
import { managedManifest } from '../../helpers/managed';
import { startInProcess, waitFor } from '../../helpers/pipeline';
import { sourcePgUrl } from '../../helpers/stack';
import { httpGet, sleep } from '../ops/support';

const HASH = (schema: string, where = 'true') =>
  `SELECT count(*)::int AS n, coalesce(md5(string_agg(format('%s|%s|%s|%s', id, status, amount, note), ',' ORDER BY id)), '') AS h FROM "${schema}".orders WHERE ${where}`;

describe('the target truncated under a managed CDC pipeline', () => {
  let source: Pool;
  let target: Pool;
  let src: string;
  let dst: string;
  let cfg: PipelineConfig;
  let file: string;
  let svc: Awaited<ReturnType<typeof startInProcess>> | undefined;
  const name = uniqueName('ftrunc').replace(/_/g, '-');
  const connector = `nilus-${name}`;
  const slot = `nilus_${name.replace(/-/g, '_')}`;

  beforeAll(async () => {
    source = new Pool({ connectionString: sourcePgUrl(), max: 2 });
    target = newPool();
    src = await createTestSchema(source, 'ftruncsrc');
    dst = await createTestSchema(target, 'ftrunc');
    await source.query(`CREATE TABLE "${src}".orders (id bigint PRIMARY KEY, status text NOT NULL, amount numeric(12,2), note text)`);
    await source.query(`INSERT INTO "${src}".orders SELECT g, 'new', g * 1.25, 'note ' || g FROM generate_series(1, 400) g`);
    const text = managedManifest({ name, srcSchema: src, dest: `${dst}.{table}` });
    cfg = await buildConfig(parseManifest(text).manifest, undefined, process.env);
    file = join(mkdtempSync(join(tmpdir(), 'nilus-trunc-')), 'manifest.yaml');
    writeFileSync(file, text);
    svc = await startInProcess(text);
  });

  afterAll(async () => {
    if (svc) await svc.stop();
    // Never leave a slot behind: it would hold WAL on the shared PostgreSQL.
    await removeConnector(connector).catch(() => undefined);
    const c = new Client({ connectionString: sourcePgUrl() });
    await c.connect();
    for (let i = 0; i < 40; i++) {
      const r = await c.query('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [slot]);
      if (r.rowCount === 0) break;
      if (!r.rows[0].active) {
        await c.query('SELECT pg_drop_replication_slot($1)', [slot]);
        break;
      }
      await sleep(250);
    }
    await c.query(`DROP PUBLICATION IF EXISTS "${slot}"`);
    await c.end();
    await dropTestSchemaUnlessFailed(target, dst);
    await dropTestSchemaUnlessFailed(source, src);
    await source.end();
    await target.end();
  });

  /** Changes at the source, a statement every 100 ms: updates of ids [from, to], then inserts from `next`. */
  async function workload(from: number, to: number, next: number, rounds: number): Promise<void> {
    for (let i = 0; i < rounds; i++) {
      await source.query(`UPDATE "${src}".orders SET status = 'round ${i}', amount = amount + 1 WHERE id BETWEEN $1 AND $2 AND id % 5 = $3`, [from, to, i % 5]);
      await source.query(`INSERT INTO "${src}".orders VALUES ($1::bigint, 'late', $1::bigint * 0.5, 'inserted')`, [next + i]);
      await sleep(100);
    }
  }

  it('the pipeline goes on, the target holds only the rows changed since, verify reports the others missing', async () => {
    const live = async () => (await source.query(HASH(src))).rows[0];
    const snapshot = await live();
    await waitFor(target, HASH(dst), (r) => r[0]?.h === snapshot.h, 120_000);
    // Changes to every row, landed; then the DBA's TRUNCATE, then changes to ids 1-50 and 20 new rows.
    await workload(1, 400, 1_000, 20);
    let want = await live();
    await waitFor(target, HASH(dst), (r) => r[0]?.h === want.h, 60_000);
    await target.query(`TRUNCATE "${dst}".orders`);
    await workload(1, 50, 2_000, 20);
    // What the target must hold: exactly the rows changed since the truncate.
    const changed = `id <= 50 OR id >= 2000`;
    want = (await source.query(HASH(src, changed))).rows[0];
    await waitFor(target, HASH(dst), (r) => r[0]?.h === want.h && r[0]?.n === want.n, 60_000);
    expect({ n: want.n }).toEqual({ n: 70 });
    // Still running and ready: nothing the sink could see went wrong.
    expect({ readyz: (await httpGet(svc!.httpPort, '/readyz')).status }).toEqual({ readyz: 200 });

    const total = Number((await live()).n);
    const [orders] = await verifyPipeline(cfg, { settleQuietMs: 2_000, settleTimeoutMs: 20_000 });
    expect(orders!.ok).toBe(false);
    const v = orders!.verdict!;
    expect({ missing: v.missing.count, extra: v.extra.count, differing: v.differing.count, source: v.sourceRows, target: v.targetRows })
      .toEqual({ missing: total - 70, extra: 0, differing: 0, source: total, target: 70 });
    expect(v.missing.samples.every((k) => Number(k) > 50 && Number(k) < 2_000)).toBe(true);
    const out: string[] = [];
    const code = await main(['verify', file, '--settle-quiet', '1'], { out: (l) => out.push(l), err: (l) => out.push(l) });
    expect({ code }).toEqual({ code: 1 });
    expect(out.join('\n')).toMatch(new RegExp(`orders: DIFFERENT: ${total - 70} missing \\[`));
    console.log(`truncate under a managed pipeline: verify: ${orders!.line}`);
  }, 240_000);
});
