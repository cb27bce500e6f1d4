/**
 * Issue 12: hostile input makes nilus run no SQL it does not mean to. The pipeline writes to a
 * database of its own for this test, where event triggers log every DDL command and every dropped
 * object. Records whose source table and column names carry quotes, semicolons and `DROP TABLE`
 * text, NUL bytes and undecodable bytes go through it (errors.tolerance all); afterwards:
 *  - the only objects created outside temporary schemas are the ones the pipeline meant to create
 *    (the targets, the offsets table, the dead-letter table, with their keys and sequence);
 *  - nothing was dropped except nilus's temporary staging tables;
 *  - every other relation of the database is still there, unchanged (a canary row included).
 */
import { Pool } from 'pg';
import { EventFactory } from '../../fixtures/factory';
import { createTopics, produce, type TestMessage } from '../../helpers/kafka';
import { dropDatabaseWhenIdle, targetPgUrl, uniqueName } from '../../helpers/pg';
import { deadLetters, runUntilApplied } from './support';

const AUDIT = `
CREATE SCHEMA audit;
CREATE TABLE audit.ddl (n bigserial, tag text, object_type text, schema_name text, identity text, dropped boolean, is_temp boolean);
CREATE TABLE audit.canary (id int PRIMARY KEY, v text);
INSERT INTO audit.canary VALUES (1, 'still here');
CREATE FUNCTION audit.on_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
  FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
    INSERT INTO audit.ddl (tag, object_type, schema_name, identity, dropped, is_temp)
      VALUES (r.command_tag, r.object_type, r.schema_name, r.object_identity, false, coalesce(r.schema_name LIKE 'pg_temp%', false));
  END LOOP;
END $$;
CREATE FUNCTION audit.on_drop() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
  FOR r IN SELECT * FROM pg_event_trigger_dropped_objects() LOOP
    INSERT INTO audit.ddl (tag, object_type, schema_name, identity, dropped, is_temp)
      VALUES (tg_tag, r.object_type, r.schema_name, r.object_identity, true, r.is_temporary);
  END LOOP;
END $$;
CREATE EVENT TRIGGER audit_ddl ON ddl_command_end EXECUTE FUNCTION audit.on_ddl();
CREATE EVENT TRIGGER audit_drop ON sql_drop EXECUTE FUNCTION audit.on_drop();
`;

/** Relations outside temporary and system schemas, as `schema.name:kind`. */
const RELATIONS = `SELECT n.nspname || '.' || c.relname || ':' || c.relkind::text AS r FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema' ORDER BY 1`;

describe('hostile input: no SQL the pipeline did not mean to run', () => {
  const db = uniqueName('hcat');
  const url = new URL(targetPgUrl());
  const dbUrl = (() => { const u = new URL(targetPgUrl()); u.pathname = `/${db}`; return u.toString(); })();
  let admin: Pool;
  let pool: Pool;
  const savedUrl = process.env.NILUS_TEST_PG_URL;

  beforeAll(async () => {
    admin = new Pool({ connectionString: url.toString(), max: 1 });
    await admin.query(`CREATE DATABASE "${db}" TEMPLATE template0`);
    pool = new Pool({ connectionString: dbUrl, max: 4 });
    await pool.query(AUDIT);
    process.env.NILUS_TEST_PG_URL = dbUrl; // the pipeline's sink address (test/helpers/pipeline.ts)
  });
  afterAll(async () => {
    process.env.NILUS_TEST_PG_URL = savedUrl;
    await pool.end();
    if (!((globalThis as Record<string, unknown>).__nilusTestFailed === true)) await dropDatabaseWhenIdle(admin, db);
    else console.warn(`keeping database "${db}" for inspection`);
    await admin.end();
  });

  it('hostile names, NUL bytes and garbage: only the expected tables are created, nothing else is touched', async () => {
    const schema = 'landing';
    await pool.query(`CREATE SCHEMA ${schema}`);
    const before = (await pool.query<{ r: string }>(RELATIONS)).rows.map((x) => x.r);

    const prefix = uniqueName('hcat');
    const evil = 'x"; DROP TABLE audit.canary; --';
    const evilCol = `c'); DELETE FROM audit.canary; --`;
    const plain = new EventFactory({ prefix, schema: 'public', table: 'items', key: ['id'], fields: [
      { name: 'id', type: 'int32', optional: false }, { name: 'name', type: 'string', optional: true },
    ] });
    // Its topic name is plain (Kafka allows no quotes); the source block carries the hostile names.
    const hostile = new EventFactory({ prefix, schema: 'public', table: evil, key: ['id'], fields: [
      { name: 'id', type: 'int32', optional: false }, { name: evilCol, type: 'string', optional: true },
    ] });
    const hostileTopic = `${prefix}.public.evil`;
    const msgs: Record<string, TestMessage[]> = { [plain.topic]: [], [hostileTopic]: [] };
    for (let id = 1; id <= 20; id++) {
      msgs[plain.topic]!.push(...plain.create({ id, name: id % 7 === 0 ? `nul\u0000${id}` : `n${id}` }));
      msgs[hostileTopic]!.push(...hostile.create({ id, [evilCol]: `v${id}'; DROP TABLE audit.ddl; --` }));
    }
    msgs[plain.topic]!.push({ key: Buffer.from([0xff, 0x00, 0x7b]), value: Buffer.from([0, 0, 0, 0, 7, 0x41, 0x00]) });
    await createTopics(Object.keys(msgs));
    for (const [t, m] of Object.entries(msgs)) await produce(t, m);

    const out = await runUntilApplied(pool, schema, {
      name: prefix, prefix, dest: `${schema}.{table}`, strategy: 'merge',
      options: { 'errors.tolerance': 'all', 'errors.deadletter.table': `${schema}.dead_letters` },
    }, Object.fromEntries(Object.entries(msgs).map(([t, m]) => [t, m.length])));
    if (out.stoppedWith !== undefined) throw new Error(`the pipeline stopped (exit ${out.stoppedWith}); log:\n${out.logs}`);

    // The data went where it should, under its hostile names, quoted.
    expect((await pool.query(`SELECT count(*)::int AS n FROM ${schema}."${evil.replace(/"/g, '""')}"`)).rows[0].n).toBe(20);
    expect((await pool.query(`SELECT "${evilCol}" AS v FROM ${schema}."${evil.replace(/"/g, '""')}" WHERE id = 3`)).rows[0].v).toBe(`v3'; DROP TABLE audit.ddl; --`);
    expect((await pool.query(`SELECT count(*)::int AS n FROM ${schema}.items`)).rows[0].n).toBe(20 - 2);
    expect((await deadLetters(pool, schema)).length).toBe(3); // 2 NUL rows, the binary record
    expect((await pool.query('SELECT v FROM audit.canary')).rows).toEqual([{ v: 'still here' }]);

    // Catalog: exactly the expected relations were added; none vanished.
    const after = (await pool.query<{ r: string }>(RELATIONS)).rows.map((x) => x.r);
    const added = after.filter((r) => !before.includes(r)).sort();
    expect(after.filter((r) => before.includes(r))).toEqual(before);
    expect(added).toEqual([
      `${schema}.${evil}:r`, `${schema}.${evil}_pkey:i`,
      `${schema}.dead_letters:r`, `${schema}.dead_letters_id_seq:S`, `${schema}.dead_letters_pkey:i`,
      `${schema}.items:r`, `${schema}.items_pkey:i`,
      `${schema}.nilus_offsets:r`, `${schema}.nilus_offsets_pkey:i`,
    ].sort());

    // DDL log: outside temporary schemas only CREATE TABLE / CREATE INDEX / ALTER TABLE in the target
    // schema (plus the test's own CREATE SCHEMA); drops only of temporary objects.
    const ddl = (await pool.query<{ tag: string; object_type: string; schema_name: string | null; identity: string; dropped: boolean; is_temp: boolean }>(
      'SELECT tag, object_type, schema_name, identity, dropped, is_temp FROM audit.ddl ORDER BY n')).rows;
    const unexpected = ddl.filter((d) => {
      if (d.is_temp || (d.schema_name ?? '').startsWith('pg_temp')) return false;
      if (d.dropped) return true;
      if (d.tag === 'CREATE SCHEMA' && d.identity === schema) return false;
      return d.schema_name !== schema || !['CREATE TABLE', 'CREATE INDEX', 'ALTER TABLE', 'CREATE SEQUENCE', 'ALTER SEQUENCE'].includes(d.tag);
    });
    expect(unexpected).toEqual([]);
    expect(ddl.some((d) => d.tag === 'CREATE TABLE' && d.schema_name === schema)).toBe(true);
  });
});
