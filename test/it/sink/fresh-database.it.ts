/**
 * A first run on a fresh database with auto_create: the state schema (where the offsets live) and
 * the target schema are created when the sink's role holds CREATE on the database; a role without
 * it is refused, naming the GRANT that would let it go on (the state schema at start-up, the target
 * schema at the first flush). A database and two roles of their own, dropped afterwards.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { main } from '../../../src/cli/main';
import { createTopics } from '../../helpers/kafka';
import { newPool, uniqueName, targetPgUrl } from '../../helpers/pg';
import { cdcManifest, produceMany, startInProcess, waitFor } from '../../helpers/pipeline';
import { EventFactory, orderRow, ordersTable } from '../../fixtures/factory';

const PW = 'Fr3sh-db-pw';

describe('a first run on a fresh database (auto_create)', () => {
  const id = uniqueName('fresh');
  const database = `nilus_${id}`;
  const may = `${id}_may`;
  const mayNot = `${id}_maynot`;
  let admin: Pool;
  let fresh: Pool;

  const urlFor = (role: string): string => {
    const u = new URL(targetPgUrl());
    u.username = role;
    u.password = PW;
    u.pathname = `/${database}`;
    return u.toString();
  };

  /** A merge pipeline into `dest` as `role`, its offsets in `stateSchema`, fed 3 creates. */
  async function pipeline(role: string, dest: string, stateSchema: string) {
    const prefix = uniqueName('fresh');
    const f = new EventFactory(ordersTable(prefix));
    await createTopics([f.topic]);
    await produceMany(f.topic, [1, 2, 3].flatMap((i) => f.create(orderRow(i, 0))));
    const m = JSON.parse(cdcManifest({ name: prefix, prefix, dest, strategy: 'merge', include: 'public.orders', options: { state_schema: stateSchema } }));
    m.spec.sink.address = urlFor(role);
    return startInProcess(JSON.stringify(m));
  }

  /** The messages of the pipeline's error log lines. */
  const errors = (logs: string): string[] =>
    logs.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as { level: string; msg: string }).filter((l) => l.level === 'error').map((l) => l.msg);

  const schemas = async (): Promise<Record<string, string>> =>
    Object.fromEntries(
      (await fresh.query<{ nspname: string; owner: string }>(`SELECT nspname, pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname NOT IN ('public', 'information_schema')`)).rows.map((r) => [r.nspname, r.owner]),
    );

  beforeAll(async () => {
    admin = newPool();
    await admin.query(`CREATE DATABASE "${database}"`);
    await admin.query(`CREATE ROLE "${may}" LOGIN PASSWORD '${PW}'`);
    await admin.query(`CREATE ROLE "${mayNot}" LOGIN PASSWORD '${PW}'`);
    await admin.query(`GRANT CREATE ON DATABASE "${database}" TO "${may}"`);
    const u = new URL(targetPgUrl());
    u.pathname = `/${database}`;
    fresh = new Pool({ connectionString: u.toString(), max: 2 });
  });

  afterAll(async () => {
    await fresh?.end();
    // Once every session of ours has really gone (a FORCE would terminate one still closing, and
    // its client would raise that as an unhandled error).
    for (let i = 0; i < 100; i++) {
      const open = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [database]);
      if (open.rows[0]!.n === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    await admin.query(`DROP ROLE IF EXISTS "${may}"`);
    await admin.query(`DROP ROLE IF EXISTS "${mayNot}"`);
    await admin.end();
  });

  it('check says whether the missing schema of dest_table will be created, or names the grant', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nilus-fresh-'));
    const schemaLine = async (role: string): Promise<string[]> => {
      const m = JSON.parse(cdcManifest({ name: 'fresh-check', prefix: uniqueName('fresh'), dest: 'planned.orders', strategy: 'merge', include: 'public.orders' }));
      m.spec.sink.address = urlFor(role);
      const file = join(dir, `${role}.json`);
      writeFileSync(file, JSON.stringify(m));
      const lines: string[] = [];
      await main(['check', file], { out: (l) => lines.push(l), err: (l) => lines.push(l) });
      return lines.filter((l) => l.includes(`"planned"`));
    };
    expect(await schemaLine(may)).toEqual([`[ok]   schema "planned" does not exist yet: auto_create creates it (CREATE on database ${database})`]);
    expect(await schemaLine(mayNot)).toEqual([
      `[FAIL] schema "planned" does not exist and ${mayNot} may not create it — GRANT CREATE ON DATABASE "${database}" TO "${mayNot}", or CREATE SCHEMA "planned" and grant USAGE, CREATE on it to ${mayNot}`,
    ]);
  }, 60_000);

  it('with CREATE on the database: the state and target schemas are created and the rows land', async () => {
    const svc = await pipeline(may, 'app.orders', 'nilus_state');
    try {
      const rows = await waitFor<{ id: number }>(fresh, 'SELECT id::int AS id FROM app.orders ORDER BY id', (r) => r.length === 3, 60_000);
      expect(rows.map((r) => r.id)).toEqual([1, 2, 3]);
    } finally {
      expect(await svc.stop()).toBe(0);
    }
    expect(await schemas()).toEqual({ app: may, nilus_state: may });
    const stored = await fresh.query<{ n: string }>('SELECT sum(next_offset)::bigint AS n FROM nilus_state.nilus_offsets');
    expect(Number(stored.rows[0]!.n)).toBe(3);
  }, 120_000);

  it('without CREATE on the database: the state schema is refused at start-up, naming the grant', async () => {
    const svc = await pipeline(mayNot, 'other.orders', 'other_state');
    expect(await svc.done).toBe(1);
    expect(errors(svc.logs())).toContain(
      `spec.sink.options.state_schema: schema "other_state" for the offsets table does not exist and role "${mayNot}" may not create it (no CREATE on database "${database}"): ` +
        `GRANT CREATE ON DATABASE "${database}" TO "${mayNot}" so that auto_create creates it, or create it beforehand (CREATE SCHEMA "other_state") or set state_schema to an existing schema`,
    );
    expect(Object.keys(await schemas())).not.toContain('other_state');
  }, 120_000);

  it('without CREATE on the database: a missing target schema is refused at the first flush, naming the grant', async () => {
    // The offsets have a home the role owns; the target schema is missing.
    await fresh.query(`CREATE SCHEMA own_state AUTHORIZATION "${mayNot}"`);
    const svc = await pipeline(mayNot, 'other.orders', 'own_state');
    expect(await svc.done).toBe(1);
    expect(errors(svc.logs())).toContain(
      `spec.sink.options.dest_table: schema "other" for table "other"."orders" does not exist and role "${mayNot}" may not create it (no CREATE on database "${database}"): ` +
        `GRANT CREATE ON DATABASE "${database}" TO "${mayNot}" so that auto_create creates it, or create it beforehand (CREATE SCHEMA "other")`,
    );
    expect(Object.keys(await schemas())).not.toContain('other');
    // Nothing was applied: the offsets table is there, empty.
    expect((await fresh.query('SELECT count(*)::int AS n FROM own_state.nilus_offsets')).rows[0].n).toBe(0);
  }, 120_000);
});
