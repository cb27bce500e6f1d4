/**
 * Issue 12, case 1: a 0x00 byte never stops a tolerant pipeline. Non-JSON bytes holding NUL, a
 * Confluent wire-format (Avro) record, key bytes ff 00 7b, and a JSON string that decodes to a NUL
 * (rejected by PostgreSQL, so it goes the rejected-row way) under errors.tolerance all with a
 * dead-letter table: the 10 good events apply, each bad record is in the table with its raw bytes.
 */
import type { Pool } from 'pg';
import { createTopics, produce, type TestMessage } from '../../helpers/kafka';
import { uniqueName, useTestSchema } from '../../helpers/pg';
import { deadLetters, items, runUntilApplied } from './support';

describe('hostile input: NUL bytes and binary records with a dead-letter table', () => {
  let pool: Pool;
  let schema: string;
  useTestSchema('hnul', (p, s) => ((pool = p), (schema = s)));

  it('errors.tolerance all: 10/10 good applied, the bad ones in the dead-letter table with raw bytes', async () => {
    const prefix = uniqueName('hnul');
    const f = items(prefix);
    await createTopics([f.topic]);
    const good = (id: number): TestMessage => f.create({ id, name: `item ${id}`, qty: id * 10 })[0]!;
    const nulValue = Buffer.concat([Buffer.from('{"id":1,'), Buffer.from([0, 0, 0]), Buffer.from('"x"}')]);
    const avro = Buffer.from([0x00, 0x00, 0x00, 0x00, 0x2a, 0x02, 0x06, 0x66, 0x6f, 0x6f, 0x00]);
    const badKey = Buffer.from([0xff, 0x00, 0x7b]);
    const bad: { at: number; msg: TestMessage; kind: string }[] = [
      { at: 2, kind: 'nul value', msg: { key: f.key({ id: 100 }), value: nulValue } },
      { at: 5, kind: 'avro', msg: { key: f.key({ id: 101 }), value: avro } },
      { at: 7, kind: 'bad key', msg: { key: badKey, value: f.create({ id: 102, name: 'k', qty: 1 })[0]!.value } },
      { at: 9, kind: 'decoded NUL', msg: f.create({ id: 103, name: 'a\u0000b', qty: 3 })[0]! },
    ];
    const msgs: TestMessage[] = [];
    const offsets = new Map<string, TestMessage>();
    let id = 1;
    for (let i = 0; msgs.length < 14; i++) {
      const b = bad.find((x) => x.at === i);
      const m = b ? b.msg : good(id++);
      if (b) offsets.set(String(msgs.length), m);
      msgs.push(m);
    }
    expect(id - 1).toBe(10);
    await produce(f.topic, msgs);

    const out = await runUntilApplied(pool, schema, {
      name: prefix, prefix, dest: `${schema}.items`, strategy: 'merge', include: 'public.items',
      options: { 'errors.tolerance': 'all', 'errors.deadletter.table': `${schema}.dead_letters` },
    }, { [f.topic]: msgs.length });
    expect(out.stoppedWith).toBeUndefined();

    const rows = (await pool.query(`SELECT id, name, qty FROM "${schema}".items ORDER BY id`)).rows;
    expect(rows).toEqual(Array.from({ length: 10 }, (_v, i) => ({ id: i + 1, name: `item ${i + 1}`, qty: (i + 1) * 10 })));

    const dead = await deadLetters(pool, schema);
    expect(dead.map((d) => d.o).sort((a, b) => Number(a) - Number(b))).toEqual([...offsets.keys()]);
    for (const d of dead) {
      expect(d.topic).toBe(f.topic);
      expect(d.partition).toBe(0);
      expect(d.error_class).toBe('data');
      expect(d.reason.length).toBeGreaterThan(10);
      expect(d.reason).not.toContain('\u0000');
    }
    const byOffset = new Map(dead.map((d) => [d.o, d]));
    const asBuf = (v: TestMessage['value'] | TestMessage['key']) => (v == null ? null : Buffer.isBuffer(v) ? v : Buffer.from(v));
    // Undecodable records: the raw key and value, byte for byte.
    for (const [o, m] of offsets) {
      const d = byOffset.get(o)!;
      if (m === bad[3]!.msg) continue;
      expect(d.value?.equals(asBuf(m.value)!)).toBe(true);
      expect(d.key?.equals(asBuf(m.key)!)).toBe(true);
    }
    const avroRow = byOffset.get([...offsets].find(([, m]) => m === bad[1]!.msg)![0])!;
    expect(avroRow.reason).toMatch(/Confluent Schema Registry wire format/);
    expect(avroRow.value_text).toBe('\\u0000\\u0000\\u0000\\u0000*\u0002\u0006foo\\u0000');
    // The row PostgreSQL rejected: its decoded values as JSON (NUL escaped), the reason with the SQLSTATE.
    const rejected = byOffset.get([...offsets].find(([, m]) => m === bad[3]!.msg)![0])!;
    expect(JSON.parse(rejected.value!.toString())).toMatchObject({ id: '103', name: 'a\u0000b' });
    expect(rejected.reason).toMatch(/"items".*0x00.*SQLSTATE 22021/);
  });
});
