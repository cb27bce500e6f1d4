/**
 * Issue 12, case 2: two source tables whose names are 70 characters long and share the first 63
 * resolve through dest_table `<schema>.{table}` to one PostgreSQL table (PostgreSQL cuts names to
 * 63 bytes). The pipeline stops with an error naming both source tables, both full names and the
 * fix, before anything is written into the shared table.
 */
import type { Pool } from 'pg';
import { createTopics, produce } from '../../helpers/kafka';
import { uniqueName, useTestSchema } from '../../helpers/pg';
import { items, runUntilStopped } from './support';

describe('hostile input: target names that collide after PostgreSQL truncates them', () => {
  let pool: Pool;
  let schema: string;
  useTestSchema('hname', (p, s) => ((pool = p), (schema = s)));

  it('70-character table names sharing 63 characters: a clear stop naming both, nothing written', async () => {
    const prefix = uniqueName('hname');
    const shared = 't'.repeat(63);
    const a = items(prefix, `${shared}_orders`);
    const b = items(prefix, `${shared}_refund`);
    expect(a.def.table).toHaveLength(70);
    await createTopics([a.topic, b.topic]);
    await produce(a.topic, [1, 2, 3].flatMap((id) => a.create({ id, name: `a${id}`, qty: id })));
    await produce(b.topic, [1, 2, 3].flatMap((id) => b.create({ id, name: `b${id}`, qty: id })));

    const out = await runUntilStopped({
      name: prefix, prefix, dest: `${schema}.{table}`, strategy: 'merge', include: `public\\.${shared}_.*`,
      options: { 'errors.tolerance': 'all', 'errors.deadletter.table': `${schema}.dead_letters` },
    });
    expect(out.stoppedWith).toBe(1);
    const log = out.logs;
    expect(log).toContain(`public.${shared}_orders`);
    expect(log).toContain(`public.${shared}_refund`);
    expect(log).toContain(`\\"${schema}\\".\\"${shared}_orders\\"`);
    expect(log).toContain(`\\"${schema}\\".\\"${shared}_refund\\"`);
    expect(log).toMatch(/63 bytes/);
    expect(log).toMatch(/shorter dest_table pattern/);
    // Not dead-lettered: a collision is not a bad record, errors.tolerance all does not skip it.
    const dead = await pool.query(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = $1 AND tablename = 'dead_letters'`, [schema]);
    if (dead.rows[0].n > 0) expect((await pool.query(`SELECT count(*)::int AS n FROM "${schema}".dead_letters`)).rows[0].n).toBe(0);
    // Detected before any write: the shared (truncated) table was never created.
    const tables = (await pool.query(`SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY 1`, [schema])).rows.map((r) => r.tablename);
    expect(tables).not.toContain(shared);
  });

  it('a source table that resolves to the offsets table or the dead-letter table stops, naming it, and leaves both alone', async () => {
    const prefix = uniqueName('hname');
    const offsets = items(prefix, 'nilus_offsets');
    const normal = items(prefix, 'orders');
    await createTopics([normal.topic, offsets.topic]);
    await produce(normal.topic, [1, 2].flatMap((id) => normal.create({ id, name: `o${id}`, qty: id })));
    await produce(offsets.topic, [1, 2].flatMap((id) => offsets.create({ id, name: `x${id}`, qty: id })));
    const out = await runUntilStopped({
      name: prefix, prefix, dest: `${schema}.{table}`, strategy: 'merge',
      options: { 'errors.tolerance': 'all', 'errors.deadletter.table': `${schema}.dead_letters` },
    });
    expect(out.stoppedWith).toBe(1);
    expect(out.logs).toMatch(/source table public\.nilus_offsets resolves to .*nilus_offsets.*the offsets table/);
    // The offsets table kept its own shape: no column of the source table was added to it.
    const cols = (await pool.query(`SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'nilus_offsets' ORDER BY ordinal_position`, [schema])).rows.map((r) => r.column_name);
    expect(cols).not.toContain('name');
    expect(cols).not.toContain('qty');
  });
});
