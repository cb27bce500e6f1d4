/**
 * `nilus-pg status` and the retained-WAL gauge for a managed PostgreSQL source on the real stack:
 * the connector's and task's states from Kafka Connect and the replication slot's retained WAL
 * from the source, with the worker running (also as nilus_source_slot_retained_wal_bytes on
 * /metrics) and stopped; a stopped connector is unhealthy (exit 1) and its inactive slot's WAL grows.
 */
import { request } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Pool } from 'pg';
import { main } from '../../../src/cli/main';
import { ConnectRest } from '../../../src/managed/connect-rest';
import type { StatusReport } from '../../../src/cli/status-report';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, uniqueName } from '../../helpers/pg';
import { removeConnector } from '../../helpers/debezium';
import { connectUrl, sourcePgUrl } from '../../helpers/stack';
import { managedManifest } from '../../helpers/managed';
import { startInProcess, waitFor } from '../../helpers/pipeline';

jest.setTimeout(300_000);

function scrape(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

async function status(manifestPath: string, ...args: string[]): Promise<{ code: number; report: StatusReport }> {
  const out: string[] = [];
  const code = await main(['status', manifestPath, '--json', ...args], { out: (l) => out.push(l), err: () => undefined });
  return { code, report: JSON.parse(out.join('\n')) as StatusReport };
}

async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('nilus-pg status of a managed PostgreSQL source', () => {
  let target: Pool;
  let source: Pool;
  let schema: string;
  let srcSchema: string;
  const name = uniqueName('sts').replace(/_/g, '-');
  const connector = `nilus-${name}`;
  const slot = `nilus_${name.replace(/-/g, '_')}`;

  beforeAll(async () => {
    target = newPool();
    source = new Pool({ connectionString: sourcePgUrl(), max: 2 });
    schema = await createTestSchema(target, 'sts');
    srcSchema = await createTestSchema(source, 'stssrc');
    await source.query(`CREATE TABLE "${srcSchema}".orders (id bigint PRIMARY KEY, status text NOT NULL)`);
    await source.query(`INSERT INTO "${srcSchema}".orders SELECT g, 'new' FROM generate_series(1, 20) g`);
  });
  afterAll(async () => {
    // Never leave a slot behind: it would hold WAL on the shared PostgreSQL.
    await removeConnector(connector).catch(() => undefined);
    const c = new Client({ connectionString: sourcePgUrl() });
    await c.connect();
    for (let i = 0; i < 40; i++) {
      const r = await c.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active`, [slot]).catch(() => ({ rowCount: 0 }));
      const left = await c.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slot]);
      if ((r.rowCount ?? 0) > 0 || left.rowCount === 0) break;
      await new Promise((res) => setTimeout(res, 500));
    }
    await c.query(`DROP PUBLICATION IF EXISTS "${slot}"`).catch(() => undefined);
    await c.end();
    await dropTestSchemaUnlessFailed(target, schema);
    await dropTestSchemaUnlessFailed(source, srcSchema);
    await target.end();
    await source.end();
  });

  it('shows the connector, the task and the slot\'s retained WAL (also on /metrics); a stopped connector is exit 1 and its slot keeps WAL', async () => {
    const text = managedManifest({ name, srcSchema, dest: `${schema}.orders` });
    const manifest = join(mkdtempSync(join(tmpdir(), 'nilus-status-')), 'manifest.yaml');
    writeFileSync(manifest, text);
    const svc = await startInProcess(text);
    try {
      await waitFor(target, `SELECT id FROM "${schema}".orders`, (r) => r.length === 20, 180_000);
      const series = `nilus_source_slot_retained_wal_bytes{pipeline="${name}",slot="${slot}"}`;
      const metric = await until('the retained-WAL gauge', async () => {
        const line = (await scrape(svc.httpPort)).split('\n').find((l) => l.startsWith(`${series} `));
        return line === undefined ? undefined : Number(line.slice(series.length + 1));
      }, 30_000);
      expect(Number.isInteger(metric) && metric >= 0).toBe(true);

      const running = await until('status healthy', async () => {
        const s = await status(manifest);
        return s.code === 0 && s.report.source?.slot?.active ? s : undefined;
      }, 60_000);
      expect(running.report.source).toMatchObject({
        connector: { name: connector, state: 'RUNNING', tasks: [{ id: 0, state: 'RUNNING' }] },
        slot: { name: slot, exists: true, active: true },
      });
      expect(running.report.source!.slot!.retainedWalBytes).toEqual(expect.any(Number));
      expect(running.report.group!.members).toHaveLength(1);
    } finally {
      expect(await svc.stop()).toBe(0);
    }

    // ---- the worker stopped, the connector stopped (a paused task keeps its replication
    // connection; a stopped connector has no task): the slot is inactive and keeps WAL.
    await new ConnectRest(connectUrl()).stop(connector);
    const inactive = await until('the slot released', async () => {
      const s = await status(manifest);
      return s.report.source?.connector.state === 'STOPPED' && s.report.source.slot?.active === false ? s : undefined;
    });
    expect(inactive.code).toBe(1);
    expect(inactive.report.problems).toEqual([`source connector ${connector} is STOPPED: nothing new is captured`]);
    expect(inactive.report.group!.members).toEqual([]);
    const held = inactive.report.source!.slot!.retainedWalBytes!;
    // Writes the slot's reader does not confirm: the WAL it retains grows by at least their size
    // (pg_current_wal_lsn() is the WAL written so far: with asynchronous commit it follows shortly).
    await source.query(`INSERT INTO "${srcSchema}".orders SELECT g, repeat('x', 200) FROM generate_series(100, 5100) g`);
    const grown = await until('the retained WAL to grow by the rows written', async () => {
      const slotNow = (await status(manifest)).report.source!.slot!;
      return slotNow.retainedWalBytes! - held > 5000 * 200 ? slotNow : undefined;
    }, 30_000);
    expect(grown).toMatchObject({ exists: true, active: false });
    const direct = await source.query<{ b: string }>('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::text AS b FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    expect(Number(direct.rows[0]!.b)).toBeGreaterThanOrEqual(grown.retainedWalBytes!);
  });
});
