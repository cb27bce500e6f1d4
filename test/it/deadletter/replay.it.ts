/**
 * Issue 29, item 4: `nilus-pg deadletters … list | replay` on the real stack. A column type change
 * is dead-lettered under errors.tolerance all; the column is widened by hand; replay applies the
 * records through the pipeline's own decode and apply, the target then equals the source, and a
 * second replay changes nothing. A record that fails again (a CHECK constraint it still breaks)
 * keeps its letter with the new reason. An older letter whose key got a newer change meanwhile
 * does not overwrite it (stale_guard). Without the guard a merge replay is refused unless --force.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { main } from '../../../src/cli/main';
import { EventFactory } from '../../fixtures/factory';
import { createTopics, produce, testKafka, type TestMessage } from '../../helpers/kafka';
import { cdcManifest, type CdcManifestOptions } from '../../helpers/pipeline';
import { uniqueName, useTestSchema } from '../../helpers/pg';
import { itemsTable, runUntilApplied } from '../hostile/support';

interface Letter {
  id: string;
  topic: string;
  partition: number;
  offset: string;
  reason: string;
  createdAt: string;
}

async function cli(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

describe('nilus-pg deadletters list | replay (real Kafka and PostgreSQL)', () => {
  let pool: Pool;
  let schema: string;
  useTestSchema('dlrep', (p, s) => ((pool = p), (schema = s)));

  it('replays a dead-lettered type change once the column is widened, exactly once; a record that fails again keeps its new reason', async () => {
    const prefix = uniqueName('dlrep');
    const before = new EventFactory(itemsTable(prefix));
    const after = new EventFactory(itemsTable(prefix, 'items', 'public', 'string'));
    const msgs: TestMessage[] = [];
    for (let id = 1; id <= 5; id++) msgs.push(...before.create({ id, name: `i${id}`, qty: id }));
    const off6 = msgs.length;
    msgs.push(...after.create({ id: 6, name: 'i6', qty: 'a dozen' })); // fits once qty is text
    const off11 = msgs.length;
    msgs.push(...after.create({ id: 11, name: 'forbidden', qty: 'lots' })); // then breaks the CHECK
    const off12 = msgs.length;
    msgs.push(...after.create({ id: 12, name: 'old', qty: 'stale' })); // older than the update below
    for (let id = 7; id <= 10; id++) msgs.push(...before.create({ id, name: `i${id}`, qty: id }));
    await pool.query(`CREATE TABLE "${schema}".items (id integer PRIMARY KEY, name text NOT NULL CHECK (name <> 'forbidden'), qty integer)`);
    await createTopics([before.topic]);
    await produce(before.topic, msgs);

    const manifest: CdcManifestOptions = {
      name: prefix, prefix, dest: `${schema}.items`, strategy: 'merge', include: 'public.items',
      options: { 'errors.tolerance': 'all', 'errors.deadletter.table': `${schema}.dead_letters`, stale_guard: true },
    };
    const run = await runUntilApplied(pool, schema, manifest, { [before.topic]: msgs.length });
    if (run.stoppedWith !== undefined) throw new Error(`the pipeline stopped (exit ${run.stoppedWith}); log:\n${run.logs}`);
    // A newer change of key 12 after its letter (its own run, so no flush reduces the two together).
    const newer = before.create({ id: 12, name: 'new', qty: 12 });
    await produce(before.topic, newer);
    const run2 = await runUntilApplied(pool, schema, manifest, { [before.topic]: msgs.length + newer.length });
    if (run2.stoppedWith !== undefined) throw new Error(`the pipeline stopped (exit ${run2.stoppedWith}); log:\n${run2.logs}`);

    const dir = mkdtempSync(join(tmpdir(), 'nilus-dlrep-'));
    const file = join(dir, 'pipeline.yaml');
    writeFileSync(file, cdcManifest(manifest));

    // list: the three letters, by position, each with its type-change reason
    const listed = await cli(['deadletters', file, 'list', '--json']);
    expect(listed.err).toEqual([]);
    expect(listed.code).toBe(0);
    const letters = JSON.parse(listed.out.join('\n')) as Letter[];
    expect(letters.map((l) => [l.topic, l.partition, l.offset])).toEqual([off6, off11, off12].map((o) => [before.topic, 0, String(o)]));
    for (const l of letters) expect(l.reason).toMatch(/column "qty".*old type integer, new type text/);
    expect(Number.isNaN(Date.parse(letters[0]!.createdAt))).toBe(false);
    const text = await cli(['deadletters', file, 'list']);
    expect(text.out.at(-1)).toBe('3 dead letter(s)');
    expect(text.out.filter((l) => l.includes(`${before.topic}[0]@${off6}`))).toHaveLength(1);
    // --table and --since filter
    expect((await cli(['deadletters', file, 'list', '--table', `${schema}.other`])).out.at(-1)).toBe('0 dead letter(s)');
    expect((await cli(['deadletters', file, 'list', '--table', `${schema}.items`])).out.at(-1)).toBe('3 dead letter(s)');
    expect((await cli(['deadletters', file, 'list', '--since', '2999-01-01T00:00:00Z'])).out.at(-1)).toBe('0 dead letter(s)');
    expect((await cli(['deadletters', file, 'list', '--since', 'yesterday-ish'])).code).toBe(2);

    // the cause fixed by hand: the column widened
    await pool.query(`ALTER TABLE "${schema}".items ALTER COLUMN qty TYPE text`);
    const first = await cli(['deadletters', file, 'replay']);
    expect(first.err).toEqual([]);
    expect(first.code).toBe(1); // one letter failed again
    expect(first.out.at(-1)).toBe('2 replayed, 1 failed again (kept with the new reason), 0 gone from Kafka (kept)');

    // the target equals the source (last state per key), but for id 11 which the CHECK still refuses
    const source = new Map<number, { name: string; qty: string }>();
    for (let id = 1; id <= 10; id++) source.set(id, { name: `i${id}`, qty: String(id) });
    source.set(6, { name: 'i6', qty: 'a dozen' });
    source.set(12, { name: 'new', qty: '12' }); // the older letter did not overwrite the newer row
    const expected = [...source.entries()].sort((a, b) => a[0] - b[0]).map(([id, r]) => ({ id, ...r }));
    const target = async () => (await pool.query(`SELECT id, name, qty FROM "${schema}".items ORDER BY id`)).rows;
    expect(await target()).toEqual(expected);

    // the letter that failed again stays, with the new reason; the others are gone
    const left = (await pool.query(`SELECT kafka_offset::text AS o, reason FROM "${schema}".dead_letters ORDER BY id`)).rows;
    expect(left.map((r) => r.o)).toEqual([String(off11)]);
    expect(left[0].reason).toMatch(/items_name_check/);
    expect(left[0].reason).not.toMatch(/old type integer/);
    expect((await cli(['deadletters', file, 'list'])).out.some((l) => /items_name_check/.test(l))).toBe(true);

    // replay again: nothing applies twice, the target does not change
    const stored = (await pool.query(`SELECT * FROM "${schema}".items ORDER BY id`)).rows;
    const second = await cli(['deadletters', file, 'replay']);
    expect(second.out.at(-1)).toBe('0 replayed, 1 failed again (kept with the new reason), 0 gone from Kafka (kept)');
    expect((await pool.query(`SELECT * FROM "${schema}".items ORDER BY id`)).rows).toEqual(stored);

    // the constraint dropped: the last letter replays, the table empties
    await pool.query(`ALTER TABLE "${schema}".items DROP CONSTRAINT items_name_check`);
    const third = await cli(['deadletters', file, 'replay']);
    expect(third.code).toBe(0);
    expect(third.out.at(-1)).toBe('1 replayed, 0 failed again (kept with the new reason), 0 gone from Kafka (kept)');
    expect((await pool.query(`SELECT id, name, qty FROM "${schema}".items WHERE id = 11`)).rows).toEqual([{ id: 11, name: 'forbidden', qty: 'lots' }]);
    expect((await pool.query(`SELECT count(*)::int AS n FROM "${schema}".dead_letters`)).rows[0].n).toBe(0);

    // without the stale-event guard a merge replay is refused unless --force
    const unguarded = join(dir, 'unguarded.yaml');
    writeFileSync(unguarded, cdcManifest({ ...manifest, options: { ...manifest.options, stale_guard: false } }));
    const refused = await cli(['deadletters', unguarded, 'replay']);
    expect(refused.code).toBe(2);
    expect(refused.err.join('\n')).toMatch(/stale_guard.*--force/s);
    const forced = await cli(['deadletters', unguarded, 'replay', '--force']);
    expect(forced.code).toBe(0);
    expect(forced.out.at(-1)).toBe('0 replayed, 0 failed again (kept with the new reason), 0 gone from Kafka (kept)');
  });

  it('append: two replays at once apply a letter once; a letter whose record Kafka deleted is reported gone and kept', async () => {
    const prefix = uniqueName('dlapp');
    const before = new EventFactory(itemsTable(prefix));
    const after = new EventFactory(itemsTable(prefix, 'items', 'public', 'string'));
    const msgs: TestMessage[] = [
      ...before.create({ id: 1, name: 'i1', qty: 1 }),
      ...after.create({ id: 2, name: 'i2', qty: 'two' }), // offset 1: deleted from Kafka below
      ...after.create({ id: 3, name: 'i3', qty: 'three' }), // offset 2: replayed
      ...before.create({ id: 4, name: 'i4', qty: 4 }),
    ];
    await pool.query(`CREATE TABLE "${schema}".items (id integer NOT NULL, name text NOT NULL, qty integer)`);
    await createTopics([before.topic]);
    await produce(before.topic, msgs);
    const manifest: CdcManifestOptions = {
      name: prefix, prefix, dest: `${schema}.items`, strategy: 'append', include: 'public.items',
      options: { 'errors.tolerance': 'all', 'errors.deadletter.table': `${schema}.dead_letters` },
    };
    const run = await runUntilApplied(pool, schema, manifest, { [before.topic]: msgs.length });
    if (run.stoppedWith !== undefined) throw new Error(`the pipeline stopped (exit ${run.stoppedWith}); log:\n${run.logs}`);
    expect((await pool.query(`SELECT kafka_offset::int AS o FROM "${schema}".dead_letters ORDER BY o`)).rows.map((r) => r.o)).toEqual([1, 2]);
    const reasonOf1 = (await pool.query(`SELECT reason FROM "${schema}".dead_letters WHERE kafka_offset = 1`)).rows[0].reason as string;

    const admin = testKafka().admin();
    await admin.connect();
    try {
      await admin.fetchTopicMetadata({ topics: [before.topic] }); // deleteTopicRecords finds the leaders in the loaded metadata
      await admin.deleteTopicRecords({ topic: before.topic, partitions: [{ partition: 0, offset: '2' }] });
    } finally {
      await admin.disconnect();
    }
    await pool.query(`ALTER TABLE "${schema}".items ALTER COLUMN qty TYPE text`);
    const file = join(mkdtempSync(join(tmpdir(), 'nilus-dlapp-')), 'pipeline.yaml');
    writeFileSync(file, cdcManifest(manifest));

    const both = await Promise.all([cli(['deadletters', file, 'replay']), cli(['deadletters', file, 'replay'])]);
    const lines = both.flatMap((r) => [...r.out, ...r.err]);
    // offset 2 was applied by exactly one of them; the other rolled back or no longer saw it
    expect(lines.filter((l) => l.startsWith('replayed\t') && l.endsWith(`${before.topic}[0]@2`))).toHaveLength(1);
    for (const r of both) {
      const conflict = r.err.some((l) => /removed meanwhile .*rolled back/.test(l));
      if (!conflict) expect(r.out.filter((l) => /^gone\t.*@1\tKafka no longer holds this record/.test(l))).toHaveLength(1);
      expect(r.code).toBe(1); // a letter is gone (or the replay rolled back)
    }
    expect((await pool.query(`SELECT id, qty FROM "${schema}".items ORDER BY id`)).rows).toEqual([
      { id: 1, qty: '1' },
      { id: 3, qty: 'three' },
      { id: 4, qty: '4' },
    ]);
    // the gone letter is kept as it was
    expect((await pool.query(`SELECT kafka_offset::int AS o, reason FROM "${schema}".dead_letters`)).rows).toEqual([{ o: 1, reason: reasonOf1 }]);
    const again = await cli(['deadletters', file, 'replay']);
    expect(again.out.at(-1)).toBe('0 replayed, 0 failed again (kept with the new reason), 1 gone from Kafka (kept)');
    expect((await pool.query(`SELECT count(*)::int AS n FROM "${schema}".items`)).rows[0].n).toBe(3);
  });

  it('a dead-letter TOPIC: list reads it, replay marks what it settled in the same transaction, a letter that fails again gets a new message', async () => {
    const prefix = uniqueName('dltop');
    const before = new EventFactory(itemsTable(prefix));
    const after = new EventFactory(itemsTable(prefix, 'items', 'public', 'string'));
    const msgs: TestMessage[] = [
      ...before.create({ id: 1, name: 'i1', qty: 1 }),
      ...before.create({ id: 2, name: 'i2', qty: 2 }),
      ...after.create({ id: 4, name: 'i4', qty: 'four' }), // offset 2: fits once qty is text
      ...after.create({ id: 5, name: 'forbidden', qty: 'five' }), // offset 3: then breaks the CHECK
      ...before.create({ id: 3, name: 'i3', qty: 3 }),
    ];
    await pool.query(`CREATE TABLE "${schema}".items (id integer PRIMARY KEY, name text NOT NULL CHECK (name <> 'forbidden'), qty integer)`);
    await createTopics([before.topic]);
    await produce(before.topic, msgs);
    const dlq = `${prefix}.dlq`;
    const manifest: CdcManifestOptions = {
      name: prefix, prefix, dest: `${schema}.items`, strategy: 'merge', include: 'public.items',
      options: { 'errors.tolerance': 'all', 'errors.deadletter.topic': dlq, stale_guard: true },
    };
    const run = await runUntilApplied(pool, schema, manifest, { [before.topic]: msgs.length });
    if (run.stoppedWith !== undefined) throw new Error(`the pipeline stopped (exit ${run.stoppedWith}); log:\n${run.logs}`);
    const file = join(mkdtempSync(join(tmpdir(), 'nilus-dltop-')), 'pipeline.yaml');
    writeFileSync(file, cdcManifest(manifest));

    const listed = JSON.parse((await cli(['deadletters', file, 'list', '--json'])).out.join('\n')) as Letter[];
    expect(listed.map((l) => [l.topic, l.offset])).toEqual([[before.topic, '2'], [before.topic, '3']]);
    for (const l of listed) expect(l.reason).toMatch(/column "qty".*old type integer, new type text/);

    await pool.query(`ALTER TABLE "${schema}".items ALTER COLUMN qty TYPE text`);
    const first = await cli(['deadletters', file, 'replay']);
    expect(first.err).toEqual([]);
    expect(first.out.at(-1)).toBe('1 replayed, 1 failed again (kept with the new reason), 0 gone from Kafka (kept)');
    const rows = async () => (await pool.query(`SELECT id, name, qty FROM "${schema}".items ORDER BY id`)).rows;
    const want = [{ id: 1, name: 'i1', qty: '1' }, { id: 2, name: 'i2', qty: '2' }, { id: 3, name: 'i3', qty: '3' }, { id: 4, name: 'i4', qty: 'four' }];
    expect(await rows()).toEqual(want);
    const marks = (await pool.query(`SELECT outcome FROM "${schema}".nilus_replayed_letters WHERE dlq_topic = $1 ORDER BY dlq_offset`, [dlq])).rows.map((r) => r.outcome);
    expect(marks).toEqual(['replayed', 'replaced']);
    // the letter that failed again is listed once, as its new message with the new reason
    const left = JSON.parse((await cli(['deadletters', file, 'list', '--json'])).out.join('\n')) as Letter[];
    expect(left.map((l) => [l.topic, l.offset, l.id])).toEqual([[before.topic, '3', '0:2']]);
    expect(left[0]!.reason).toMatch(/items_name_check/);

    // replay again: nothing applies twice
    const second = await cli(['deadletters', file, 'replay']);
    expect(second.out.at(-1)).toBe('0 replayed, 1 failed again (kept with the new reason), 0 gone from Kafka (kept)');
    expect(await rows()).toEqual(want);
    await pool.query(`ALTER TABLE "${schema}".items DROP CONSTRAINT items_name_check`);
    const third = await cli(['deadletters', file, 'replay']);
    expect(third.out.at(-1)).toBe('1 replayed, 0 failed again (kept with the new reason), 0 gone from Kafka (kept)');
    expect(await rows()).toEqual([...want, { id: 5, name: 'forbidden', qty: 'five' }]);
    expect((await cli(['deadletters', file, 'list'])).out.at(-1)).toBe('0 dead letter(s)');
  });
});
