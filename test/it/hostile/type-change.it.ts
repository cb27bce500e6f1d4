/**
 * Issue 12, case 4: an int32 column that now arrives as a string. The target holds the column as
 * integer. With errors.tolerance none the stop names the record (topic, partition, offset), the
 * target table, the column, and the old and new type; everything before the record is applied.
 * With errors.tolerance all only the records of the new type are dead-lettered, with that reason.
 */
import type { Pool } from 'pg';
import { EventFactory } from '../../fixtures/factory';
import { createTopics, produce, type TestMessage } from '../../helpers/kafka';
import { uniqueName, useTestSchema } from '../../helpers/pg';
import { deadLetters, itemsTable, runUntilApplied, runUntilStopped, storedOffsets } from './support';

describe('hostile input: a column type that changes under the target', () => {
  let pool: Pool;
  let schema: string;
  useTestSchema('htype', (p, s) => ((pool = p), (schema = s)));

  async function stream(prefix: string): Promise<{ topic: string; msgs: TestMessage[]; badOffset: number }> {
    const before = new EventFactory(itemsTable(prefix));
    const after = new EventFactory(itemsTable(prefix, 'items', 'public', 'string'));
    const msgs: TestMessage[] = [];
    for (let id = 1; id <= 5; id++) msgs.push(...before.create({ id, name: `i${id}`, qty: id }));
    const badOffset = msgs.length;
    msgs.push(...after.create({ id: 6, name: 'i6', qty: 'a dozen' }));
    for (let id = 7; id <= 10; id++) msgs.push(...before.create({ id, name: `i${id}`, qty: id }));
    await pool.query(`CREATE TABLE "${schema}".items (id integer PRIMARY KEY, name text NOT NULL, qty integer)`);
    await createTopics([before.topic]);
    await produce(before.topic, msgs);
    return { topic: before.topic, msgs, badOffset };
  }

  it('errors.tolerance none: the stop names topic, partition, offset, table, column, old and new type', async () => {
    const prefix = uniqueName('htype');
    const { topic, badOffset } = await stream(prefix);
    const out = await runUntilStopped({ name: prefix, prefix, dest: `${schema}.items`, strategy: 'merge', include: 'public.items' });
    expect(out.stoppedWith).toBe(1);
    const log = out.logs;
    expect(log).toContain(`topic ${topic}, partition 0, offset ${badOffset}`);
    expect(log).toMatch(new RegExp(`\\\\"${schema}\\\\"\\.\\\\"items\\\\"`));
    expect(log).toMatch(/column \\"qty\\"/);
    expect(log).toMatch(/old type integer, new type text/);
    // PostgreSQL's rejection rolls back the flush that held the record: what is stored is a
    // consistent prefix before it (rows exactly those of the stored offsets), nothing at or after it.
    const stored = (await storedOffsets(pool, schema))[topic] ?? 0;
    expect(stored).toBeLessThanOrEqual(badOffset);
    expect((await pool.query(`SELECT id FROM "${schema}".items ORDER BY id`)).rows.map((r) => r.id)).toEqual(Array.from({ length: stored }, (_v, i) => i + 1));
  });

  it('errors.tolerance all: the record of the new type is dead-lettered with the type change, the others apply', async () => {
    const prefix = uniqueName('htypa');
    const { topic, msgs, badOffset } = await stream(prefix);
    const out = await runUntilApplied(pool, schema, {
      name: prefix, prefix, dest: `${schema}.items`, strategy: 'merge', include: 'public.items',
      options: { 'errors.tolerance': 'all', 'errors.deadletter.table': `${schema}.dead_letters` },
    }, { [topic]: msgs.length });
    if (out.stoppedWith !== undefined) throw new Error(`the pipeline stopped (exit ${out.stoppedWith}); log:\n${out.logs}`);
    expect((await pool.query(`SELECT id, qty FROM "${schema}".items ORDER BY id`)).rows.map((r) => r.id)).toEqual([1, 2, 3, 4, 5, 7, 8, 9, 10]);
    const dead = await deadLetters(pool, schema);
    expect(dead.map((d) => d.o)).toEqual([String(badOffset)]);
    expect(dead[0]!.reason).toMatch(/column "qty".*incompatible change.*old type integer, new type text/);
    expect(JSON.parse(dead[0]!.value!.toString())).toMatchObject({ id: '6', qty: 'a dozen' });
  });
});
