/**
 * Issue 12: a seeded fuzzer over real Debezium records (test/fixtures/debezium-real). Each run
 * mutates the `items` and `wide` create events thousands of times — bytes flipped, values cut
 * short, fields dropped or retyped, huge and NUL-bearing strings, deep nesting, lost keys,
 * flattened garbage, Confluent wire bytes — and checks:
 *  - errors.tolerance all: the pipeline never stops; every good record is applied exactly; every
 *    bad one is in the dead-letter table with a reason; a record whose fate the mutation does not
 *    decide (a flipped byte) is either applied or dead-lettered, never both, never lost.
 *  - errors.tolerance none: the pipeline stops at the first bad record, naming its topic,
 *    partition and offset, with everything before it applied.
 * Every record carries its own id, so its row (or its absence) is found by id. The seed is
 * printed and can be pinned with NILUS_FUZZ_SEED; NILUS_FUZZ_RECORDS sets the volume.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { createTopics, produce, type TestMessage } from '../../helpers/kafka';
import { uniqueName, useTestSchema } from '../../helpers/pg';
import { deadLetters, runUntilApplied, runUntilStopped, storedOffsets } from './support';

const REAL = join(__dirname, '../../fixtures/debezium-real');
const read = (f: string): string => readFileSync(join(REAL, f), 'utf8');
/** The source schema the real records name in their `source` block: topics use it, as Debezium's do. */
const SRC_SCHEMA: string = JSON.parse(read('items-01-c.value.json')).payload.source.schema;

/** mulberry32: small, fast, seeded. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Fate = 'good' | 'bad' | 'either';
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Case {
  readonly table: 'items' | 'wide';
  readonly id: number;
  readonly fate: Fate;
  readonly mutation: string;
  readonly msg: TestMessage;
  /** items only: the row a good record must leave. */
  readonly expect?: { name: string; qty: number | null };
  /** The raw bytes must be kept unchanged in the dead letter (undecodable records). */
  readonly rawKept?: boolean;
}

/** Bytes a flip may write: none of them can turn one valid number into another (no digits, sign, dot, e, space). */
const FLIP = [0x00, 0xff, 0x80, 0x22, 0x7b, 0x7d, 0x3a, 0x78, 0x5c, 0x7f, 0x5b];

class Fuzzer {
  private readonly r: () => number;
  private readonly tpl: Record<'items' | 'wide', { key: Json; value: Json }>;
  constructor(seed: number) {
    this.r = rng(seed);
    this.tpl = {
      items: { key: JSON.parse(read('items-01-c.key.json')), value: JSON.parse(read('items-01-c.value.json')) },
      wide: { key: JSON.parse(read('wide-01-c.key.json')), value: JSON.parse(read('wide-01-c.value.json')) },
    };
  }
  private int(n: number): number {
    return Math.floor(this.r() * n);
  }
  private pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }

  /** A fresh copy of the template with `id` in key and row. */
  private base(table: 'items' | 'wide', id: number): { key: Json; value: Json } {
    const key = structuredClone(this.tpl[table].key);
    const value = structuredClone(this.tpl[table].value);
    key.payload.id = id;
    value.payload.after.id = id;
    return { key, value };
  }

  make(table: 'items' | 'wide', id: number): Case {
    const { key, value } = this.base(table, id);
    const after = value.payload.after as Json;
    const enc = (k: Json | null, v: Json | string | Buffer | null): TestMessage => ({
      key: k === null ? null : JSON.stringify(k),
      value: v === null ? null : typeof v === 'string' || Buffer.isBuffer(v) ? v : JSON.stringify(v),
    });
    const textCol = table === 'items' ? 'name' : 'c_text';
    const itemsExpect = (name: string, qty: number | null) => (table === 'items' ? { expect: { name, qty } } : {});
    const roll = this.r();
    // good ------------------------------------------------------------------------------------
    if (roll < 0.45) {
      if (table === 'items') {
        const name = `item ${id} ${this.pick(['plain', 'ünïcødé', 'emoji 😀', 'tab\there', 'quote "q" \\ back', ''])}`;
        after.name = name;
        after.qty = id % 1000;
        return { table, id, fate: 'good', mutation: 'none', msg: enc(key, value), ...itemsExpect(name, id % 1000) };
      }
      return { table, id, fate: 'good', mutation: 'none', msg: enc(key, value) };
    }
    if (roll < 0.48) {
      const huge = `${id}:` + 'h'.repeat(100_000 + this.int(100_000));
      after[textCol] = huge;
      if (table === 'items') after.qty = 1;
      return { table, id, fate: 'good', mutation: 'huge string', msg: enc(key, value), ...itemsExpect(huge, 1) };
    }
    // bad, and the mutation decides it --------------------------------------------------------
    if (roll < 0.55) {
      const text = JSON.stringify(value);
      const cut = 1 + this.int(text.length - 2);
      return { table, id, fate: 'bad', mutation: `truncated at ${cut}`, msg: enc(key, text.slice(0, cut)), rawKept: true };
    }
    if (roll < 0.60) {
      after[textCol] = `nul${'\u0000'.repeat(1 + this.int(3))}inside`;
      return { table, id, fate: 'bad', mutation: 'NUL in a string', msg: enc(key, value) };
    }
    if (roll < 0.64) {
      const what = this.pick(['op', 'after'] as const);
      delete value.payload[what];
      return { table, id, fate: 'bad', mutation: `dropped payload.${what}`, msg: enc(key, value), rawKept: true };
    }
    if (roll < 0.68) {
      after.id = this.pick(['x1', 1.5, true, { n: 1 }, [1]]);
      return { table, id, fate: 'bad', mutation: 'retyped id', msg: enc(key, value), rawKept: true };
    }
    if (roll < 0.71) {
      const n = 2_000 + this.int(50_000);
      const deep = this.r() < 0.5 ? '['.repeat(n) + ']'.repeat(n) : '{"a":'.repeat(n) + '1' + '}'.repeat(n);
      const text = JSON.stringify(value).replace(JSON.stringify(after[textCol]), deep);
      return { table, id, fate: 'bad', mutation: `deep nesting ${n}`, msg: enc(key, text), rawKept: true };
    }
    if (roll < 0.74) {
      return { table, id, fate: 'bad', mutation: 'null key', msg: enc(null, value), rawKept: true };
    }
    if (roll < 0.77) {
      return { table, id, fate: 'bad', mutation: 'flattened garbage', msg: enc(key, '{"hello":"world"}'), rawKept: true };
    }
    if (roll < 0.80) {
      const wire = Buffer.concat([Buffer.from([0, 0, 0, 0, 1 + this.int(200)]), Buffer.from(JSON.stringify(value))]);
      return { table, id, fate: 'bad', mutation: 'Confluent wire bytes', msg: enc(key, wire), rawKept: true };
    }
    if (roll < 0.83) {
      const bad = Buffer.from([0xff, 0x00, 0x7b, this.int(256)]);
      return { table, id, fate: 'bad', mutation: 'binary key', msg: { key: bad, value: JSON.stringify(value) }, rawKept: true };
    }
    // either way, the mutation does not decide ---------------------------------------------------
    if (roll < 0.93) {
      // Flips land in the row (`"after":{…}`). A flip in the `source` block could name another
      // source table, which the pipeline rightly treats as one (a collision stops it: see
      // name-collision.it.ts), so the row is where "garbled bytes" are meaningful.
      const text = JSON.stringify(value);
      const from = text.indexOf('"after":{');
      const to = text.indexOf(',"source":', from);
      const buf = Buffer.from(text);
      const lo = Buffer.byteLength(text.slice(0, from));
      const hi = Buffer.byteLength(text.slice(0, to));
      const flips = 1 + this.int(3);
      for (let i = 0; i < flips; i++) buf[lo + this.int(hi - lo)] = this.pick(FLIP);
      return { table, id, fate: 'either', mutation: `${flips} byte(s) flipped`, msg: enc(key, buf) };
    }
    if (roll < 0.97) {
      const cols = Object.keys(after).filter((c) => c !== 'id');
      const col = this.pick(cols);
      if (this.r() < 0.5) delete after[col];
      else after[col] = this.pick(['12', -1, 1e20, null, '', 'x'.repeat(300), { a: 1 }, [1, 2]]);
      return { table, id, fate: 'either', mutation: `field ${col} dropped or retyped`, msg: enc(key, value) };
    }
    const field = this.pick(['source', 'ts_ms', 'transaction', 'before']);
    delete value.payload[field];
    return { table, id, fate: 'either', mutation: `dropped payload.${field}`, msg: enc(key, value) };
  }
}

function seedFrom(env: string | undefined): number {
  return env !== undefined && env !== '' ? Number(env) : Math.floor(Math.random() * 2 ** 31);
}

describe('hostile input: seeded fuzzing over real Debezium records', () => {
  let pool: Pool;
  let schema: string;
  useTestSchema('hfuzz', (p, s) => ((pool = p), (schema = s)));

  it('errors.tolerance all: thousands of mutated records, good ones applied exactly, bad ones dead-lettered, never a stop', async () => {
    const seed = seedFrom(process.env.NILUS_FUZZ_SEED);
    const total = Number(process.env.NILUS_FUZZ_RECORDS ?? 3000);
    console.log(`fuzz (tolerance all): seed ${seed}, ${total} records (NILUS_FUZZ_SEED=${seed} repeats this run)`);
    const fz = new Fuzzer(seed);
    const prefix = uniqueName('hfuzz');
    const topics = { items: `${prefix}.${SRC_SCHEMA}.items`, wide: `${prefix}.${SRC_SCHEMA}.wide` };
    const cases: Case[] = [];
    const byTopic: Record<string, Case[]> = { [topics.items]: [], [topics.wide]: [] };
    for (let id = 1; id <= total; id++) {
      const c = fz.make(id % 5 === 0 ? 'wide' : 'items', id);
      cases.push(c);
      byTopic[topics[c.table]]!.push(c);
    }
    await createTopics(Object.values(topics));
    for (const [t, cs] of Object.entries(byTopic)) await produce(t, cs.map((c) => c.msg));

    const started = Date.now();
    const out = await runUntilApplied(pool, schema, {
      name: prefix, prefix, dest: `${schema}.{table}`, strategy: 'merge',
      options: { 'errors.tolerance': 'all', 'errors.deadletter.table': `${schema}.dead_letters`, 'batch.max_rows': 1000 },
    }, Object.fromEntries(Object.entries(byTopic).map(([t, cs]) => [t, cs.length])), 110_000);
    if (out.stoppedWith !== undefined) throw new Error(`seed ${seed}: the pipeline stopped (exit ${out.stoppedWith}); log:\n${out.logs.slice(0, 4000)}`);
    console.log(`fuzz (tolerance all): applied in ${Date.now() - started} ms`);

    const dead = await deadLetters(pool, schema);
    const deadAt = new Map(dead.map((d) => [`${d.topic}/${d.o}`, d]));
    const offsetOf = new Map<Case, string>();
    for (const cs of Object.values(byTopic)) cs.forEach((c, i) => offsetOf.set(c, String(i)));
    const ids = async (table: string): Promise<Set<number>> =>
      new Set((await pool.query<{ id: number }>(`SELECT id FROM "${schema}"."${table}"`)).rows.map((r) => Number(r.id)));
    const applied = { items: await ids('items'), wide: await ids('wide') };
    // A flipped byte may rename the source table ("items" → "itxms"): such a record lands in a table of its own.
    const others = (await pool.query<{ t: string }>(`SELECT c.table_name AS t FROM information_schema.columns c WHERE c.table_schema = $1 AND c.column_name = 'id' AND c.table_name NOT IN ('items', 'wide', 'dead_letters')`, [schema])).rows;
    const elsewhere = new Set<number>();
    for (const o of others) for (const id of await ids(o.t)) elsewhere.add(id);
    const items = new Map((await pool.query<{ id: number; name: string; qty: number | null }>(`SELECT id, name, qty FROM "${schema}".items`)).rows.map((r) => [r.id, r]));

    const problems: string[] = [];
    for (const c of cases) {
      const d = deadAt.get(`${topics[c.table]}/${offsetOf.get(c)}`);
      const isApplied = applied[c.table].has(c.id) || (c.fate === 'either' && elsewhere.has(c.id));
      const what = `id ${c.id} (${c.table}, ${c.mutation}, offset ${offsetOf.get(c)})`;
      if (c.fate === 'good') {
        if (d) problems.push(`${what}: good but dead-lettered: ${d.reason}`);
        if (!isApplied) problems.push(`${what}: good but not applied`);
        if (c.expect) {
          const row = items.get(c.id);
          if (row && (row.name !== c.expect.name || row.qty !== c.expect.qty)) problems.push(`${what}: applied as ${JSON.stringify(row).slice(0, 120)}`);
        }
      } else if (c.fate === 'bad') {
        if (!d) problems.push(`${what}: bad but not dead-lettered`);
        if (isApplied) problems.push(`${what}: bad but applied`);
      } else if (Boolean(d) === isApplied) {
        problems.push(`${what}: ${d ? 'both applied and dead-lettered' : 'neither applied nor dead-lettered'}`);
      }
      if (d) {
        if (d.reason.trim().length < 10 || d.reason.includes('\u0000')) problems.push(`${what}: dead letter without a usable reason: ${JSON.stringify(d.reason)}`);
        if (d.error_class !== 'data') problems.push(`${what}: error class ${d.error_class}`);
        if (c.rawKept) {
          const want = (v: TestMessage['value']) => (v == null ? null : Buffer.isBuffer(v) ? v : Buffer.from(v));
          const wv = want(c.msg.value);
          const wk = want(c.msg.key ?? null);
          if (!(d.value === null ? wv === null : wv !== null && d.value.equals(wv))) problems.push(`${what}: raw value not kept`);
          if (!(d.key === null ? wk === null : wk !== null && d.key.equals(wk))) problems.push(`${what}: raw key not kept`);
        }
      }
    }
    // Nothing dead-lettered that was not produced, nothing twice.
    if (dead.length !== new Set(dead.map((d) => `${d.topic}/${d.o}`)).size) problems.push('a record was dead-lettered twice');
    // Every good wide row holds exactly the fixture's values (only the id differs).
    const wideGood = cases.filter((c) => c.table === 'wide' && c.fate === 'good' && c.mutation === 'none').map((c) => c.id);
    if (wideGood.length > 1) {
      const distinct = await pool.query(`SELECT count(DISTINCT (to_jsonb(w) - 'id')::text)::int AS n FROM "${schema}".wide w WHERE id = ANY($1)`, [wideGood]);
      if (distinct.rows[0].n !== 1) problems.push(`good wide rows differ from each other: ${distinct.rows[0].n} distinct`);
    }
    const counts = { good: 0, bad: 0, either: 0 };
    for (const c of cases) counts[c.fate]++;
    console.log(`fuzz (tolerance all): ${JSON.stringify(counts)}, ${dead.length} dead-lettered`);
    expect({ seed, problems: problems.slice(0, 40), more: Math.max(0, problems.length - 40) }).toEqual({ seed, problems: [], more: 0 });
    expect(counts.good).toBeGreaterThan(total / 3);
    expect(counts.bad).toBeGreaterThan(total / 5);
  });

  // One run per stage a record can fail in: decode, key resolution / buffer, apply (PostgreSQL).
  // Before PostgreSQL (decode, key, buffer) the records ahead of the bad one are flushed and stored
  // first; a row PostgreSQL rejects rolls its whole flush back, so only a prefix is stored.
  const stages: [string, (fz: Fuzzer, id: number) => Case, 'exact' | 'prefix'][] = [
    ['decode (cut short)', (fz, id) => pickFate(fz, id, /^truncated/), 'exact'],
    ['key resolution (null key)', (fz, id) => pickFate(fz, id, /^null key$/), 'exact'],
    ['buffer (flattened garbage)', (fz, id) => pickFate(fz, id, /^flattened garbage$/), 'exact'],
    ['apply (NUL rejected by PostgreSQL)', (fz, id) => pickFate(fz, id, /^NUL in a string$/), 'prefix'],
  ];
  for (const [stage, bad, stored] of stages) {
    it(`errors.tolerance none, bad record in ${stage}: the stop names it, everything before it is applied`, async () => {
      const seed = seedFrom(process.env.NILUS_FUZZ_SEED);
      const fz = new Fuzzer(seed);
      const prefix = uniqueName('hfzn');
      const topic = `${prefix}.${SRC_SCHEMA}.items`;
      const r = rng(seed);
      const at = 50 + Math.floor(r() * 400);
      const msgs: TestMessage[] = [];
      for (let id = 1; id <= 600; id++) msgs.push(id - 1 === at ? bad(fz, id).msg : pickFate(fz, id, /^none$/).msg);
      console.log(`fuzz (tolerance none, ${stage}): seed ${seed}, bad record at offset ${at}`);
      await createTopics([topic]);
      await produce(topic, msgs);
      const out = await runUntilStopped({ name: prefix, prefix, dest: `${schema}.{table}`, strategy: 'merge', options: { 'batch.max_rows': 100 } });
      expect(out.stoppedWith).toBe(1);
      expect(out.logs).toContain(`topic ${topic}, partition 0, offset ${at}`);
      // The stored offsets and the rows agree (a consistent prefix), and nothing at or after the record applied.
      const n = (await storedOffsets(pool, schema))[topic] ?? 0;
      if (stored === 'exact') expect(n).toBe(at);
      else expect(n).toBeLessThanOrEqual(at);
      const ids = await pool.query<{ id: number }>(`SELECT id FROM "${schema}".items ORDER BY id`).then((x) => x.rows.map((r) => r.id), () => [] as number[]);
      expect(ids).toEqual(Array.from({ length: n }, (_v, i) => i + 1));
    });
  }
});

/** Draws cases until one has a mutation matching `re` (items table). */
function pickFate(fz: Fuzzer, id: number, re: RegExp): Case {
  for (let i = 0; i < 10_000; i++) {
    const c = fz.make('items', id);
    if (re.test(c.mutation)) return c;
  }
  throw new Error(`no ${String(re)} case drawn`);
}
