/**
 * Issue 12, case 3: records that used to stop the worker even with errors.tolerance all.
 *  - a flattened value `{"hello":"world"}` on a table keyed by id (it failed later, in apply, with
 *    no offset: "an upsert for … lacks a value for key column id");
 *  - a null Kafka key in a merge stream where the other 10 events carry one (it stopped with the
 *    dest_table template printed literally and blamed the whole table).
 * Both are now per-record data errors: dead-lettered with a reason naming the target table, while
 * every good event applies.
 */
import type { Pool } from 'pg';
import { createTopics, produce, type TestMessage } from '../../helpers/kafka';
import { uniqueName, useTestSchema } from '../../helpers/pg';
import { deadLetters, items, runUntilApplied } from './support';

describe('hostile input: records without a usable key under errors.tolerance all', () => {
  let pool: Pool;
  let schema: string;
  useTestSchema('hkey', (p, s) => ((pool = p), (schema = s)));

  it('{"hello":"world"} and a null key in a merge stream are dead-lettered; the good events apply', async () => {
    const prefix = uniqueName('hkey');
    // Flattened (ExtractNewRecordState, schemas off): key {"id":n}, value {"id":n,"name":…}.
    const flatTopic = `${prefix}.public.flat`;
    const flat: TestMessage[] = [];
    for (let id = 1; id <= 10; id++) {
      flat.push({ key: JSON.stringify({ id }), value: JSON.stringify({ id, name: `flat ${id}` }) });
      if (id === 4) flat.push({ key: JSON.stringify({ id: 99 }), value: '{"hello":"world"}' });
    }
    // Debezium envelopes; the 7th record lost its key.
    const k = items(prefix, 'keyed');
    const keyed: TestMessage[] = [];
    for (let id = 1; id <= 10; id++) {
      keyed.push(k.create({ id, name: `keyed ${id}`, qty: id })[0]!);
      if (id === 6) keyed.push({ key: null, value: k.value('c', null, { id: 77, name: 'no key', qty: 0 }) });
    }
    await createTopics([flatTopic, k.topic]);
    await produce(flatTopic, flat);
    await produce(k.topic, keyed);

    const out = await runUntilApplied(pool, schema, {
      name: prefix, prefix, dest: `${schema}.{table}`, strategy: 'merge',
      options: { 'errors.tolerance': 'all', 'errors.deadletter.table': `${schema}.dead_letters` },
    }, { [flatTopic]: flat.length, [k.topic]: keyed.length });
    if (out.stoppedWith !== undefined) throw new Error(`the pipeline stopped (exit ${out.stoppedWith}); log:\n${out.logs}`);

    expect((await pool.query(`SELECT id::int, name FROM "${schema}".flat ORDER BY id`)).rows)
      .toEqual(Array.from({ length: 10 }, (_v, i) => ({ id: i + 1, name: `flat ${i + 1}` })));
    expect((await pool.query(`SELECT id, name, qty FROM "${schema}".keyed ORDER BY id`)).rows)
      .toEqual(Array.from({ length: 10 }, (_v, i) => ({ id: i + 1, name: `keyed ${i + 1}`, qty: i + 1 })));

    const dead = await deadLetters(pool, schema);
    expect(dead.map((d) => [d.topic, d.o])).toEqual([[flatTopic, '4'], [k.topic, '6']].sort());
    const hello = dead.find((d) => d.topic === flatTopic)!;
    expect(hello.value!.toString()).toBe('{"hello":"world"}');
    expect(hello.key!.toString()).toBe('{"id":99}');
    expect(hello.reason).toMatch(/flat.*key column\(s\) "id"/);
    const noKey = dead.find((d) => d.topic === k.topic)!;
    expect(noKey.key).toBeNull();
    expect(noKey.reason).toContain(`"${schema}"."keyed"`);
    expect(noKey.reason).not.toContain('{table}');
    expect(noKey.reason).toMatch(/carries no key.*primary_key/);
  });
});
