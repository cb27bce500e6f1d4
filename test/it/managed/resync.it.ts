/**
 * Issue 29, item 3: `nilus-pg resync` on the real stack. A managed PostgreSQL pipeline lands a
 * table; its target rows are deleted by hand while inserts continue at the source; verify says
 * they differ; resync asks Debezium for an incremental snapshot of that one table through the
 * signal table, the running pipeline applies the re-read rows, and verify says equal.
 */
import { Client, Pool } from 'pg';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../../src/cli/main';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, uniqueName } from '../../helpers/pg';
import { removeConnector } from '../../helpers/debezium';
import { sourcePgUrl } from '../../helpers/stack';
import { deleteManagedTopics, managedManifest } from '../../helpers/managed';
import { startInProcess, waitFor } from '../../helpers/pipeline';

async function cli(args: string[]): Promise<{ code: number; out: string[] }> {
  const out: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => out.push(l) });
  return { code, out };
}

describe('nilus-pg resync of a managed PostgreSQL source', () => {
  let target: Pool;
  let source: Pool;
  let schema: string;
  let srcSchema: string;
  const name = uniqueName('rsy').replace(/_/g, '-');
  const connector = `nilus-${name}`;
  const slot = `nilus_${name.replace(/-/g, '_')}`;

  beforeAll(async () => {
    target = newPool();
    source = new Pool({ connectionString: sourcePgUrl(), max: 2 });
    schema = await createTestSchema(target, 'rsy');
    srcSchema = await createTestSchema(source, 'rsysrc');
    await source.query(`CREATE TABLE "${srcSchema}".orders (id bigint PRIMARY KEY, status text NOT NULL, amount numeric(12,2))`);
    await source.query(`INSERT INTO "${srcSchema}".orders (id, status, amount) SELECT g, 'new', g * 1.25 FROM generate_series(1, 2500) g`);
  });
  afterAll(async () => {
    // Never leave a slot behind: it would hold WAL on the shared PostgreSQL.
    await removeConnector(connector).catch(() => undefined);
    const c = new Client({ connectionString: sourcePgUrl() });
    await c.connect();
    await c.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active`, [slot]).catch(() => undefined);
    await c.query(`DROP PUBLICATION IF EXISTS "${slot}"`).catch(() => undefined);
    await c.query(`DROP TABLE IF EXISTS public."${slot}_signal"`).catch(() => undefined);
    await c.end();
    await deleteManagedTopics(name, name);
    await dropTestSchemaUnlessFailed(target, schema);
    await dropTestSchemaUnlessFailed(source, srcSchema);
    await target.end();
    await source.end();
  });

  it('rows deleted from the target by hand come back while inserts continue; verify equal afterwards', async () => {
    const text = managedManifest({ name, srcSchema, dest: `${schema}.orders` });
    const file = join(mkdtempSync(join(tmpdir(), 'nilus-resync-')), 'manifest.yaml');
    writeFileSync(file, text);
    const svc = await startInProcess(text);
    let inserting = true;
    let next = 100_000;
    const inserts = (async () => {
      while (inserting) {
        await source.query(`INSERT INTO "${srcSchema}".orders (id, status, amount) VALUES ($1, 'live', 1)`, [next++]);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    try {
      await waitFor(target, `SELECT count(*)::int AS n FROM "${schema}".orders WHERE id <= 2500`, (r) => r[0]?.n === 2500, 150_000);
      // damage the target by hand: a third of the snapshot gone
      const deleted = await target.query(`DELETE FROM "${schema}".orders WHERE id % 3 = 0 AND id <= 2500`);
      expect(deleted.rowCount).toBe(833);
      const before = await cli(['verify', file, '--settle-quiet', '2', '--settle-timeout', '20']);
      expect(before.code).toBe(1);
      expect(before.out.join('\n')).toMatch(/missing/);

      const r = await cli(['resync', file, '--table', `${srcSchema}.orders`, '--wait', '--timeout', '180']);
      expect(r.out.join('\n')).toMatch(new RegExp(`incremental snapshot of ${srcSchema}\\.orders requested: signal [0-9a-f-]{36} in public\\.${slot}_signal`));
      expect(r.out).toContain('chunks read: 3 of 3');
      expect(r.code).toBe(0);

      inserting = false;
      await inserts;
      const after = await cli(['verify', file, '--settle-quiet', '5', '--settle-timeout', '180']);
      expect(after.out.join('\n')).toMatch(/equal/);
      expect(after.code).toBe(0);
      expect((await target.query(`SELECT count(*)::int AS n FROM "${schema}".orders WHERE id % 3 = 0 AND id <= 2500`)).rows[0].n).toBe(833);
    } finally {
      inserting = false;
      await inserts;
      expect(await svc.stop()).toBe(0);
    }
  });
});
