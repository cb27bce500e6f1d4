/**
 * Incremental batch loads (incremental_key) from a PostgreSQL source: only rows past the stored
 * cursor move, the cursor commits with the rows (a SIGKILL mid-run loses or doubles nothing),
 * bounded backfills leave the cursor alone, and bad cursor settings are refused clearly.
 */
import { Pool } from 'pg';
import { buildConfig, parseManifest } from '../../../src/config';
import { startService } from '../../../src/service/run';
import { createLogger } from '../../../src/observe/logger';
import type { CoreEvents } from '../../../src/kernel/events';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, targetPgUrl } from '../../helpers/pg';
import { sourcePgUrl } from '../../helpers/stack';
import { startWorker } from '../../helpers/pipeline';

type Finished = CoreEvents['batchFinished'][0];

function manifest(name: string, source: string, dest: string, strategy: string, src: Record<string, unknown> = {}, sink: Record<string, unknown> = {}): string {
  return JSON.stringify({
    name, version: 'v1alpha', type: 'nilus',
    spec: {
      type: 'batch',
      source: { address: sourcePgUrl(), options: { source_table: source, page_size: 500, ...src } },
      sink: { address: targetPgUrl(), options: { dest_table: dest, incremental_strategy: strategy, http_port: 0, log_level: 'warn', ...sink } },
    },
  });
}

/** Runs once in process; resolves with the exit code, the run's batchFinished and what was logged. */
async function run(text: string): Promise<{ code: number; finished?: Finished; logs: string }> {
  const cfg = await buildConfig(parseManifest(text).manifest, undefined, process.env);
  const lines: string[] = [];
  const svc = await startService(cfg, { log: createLogger({ level: 'warn', name: 'inc-test', destination: { write: (l: string) => lines.push(l) } }) });
  let finished: Finished | undefined;
  svc.emitter.on('batchFinished', (f) => (finished = f));
  const code = await svc.done;
  // the messages, unescaped, so tests can match what an operator reads
  const logs = lines.map((l) => (JSON.parse(l) as { msg: string }).msg).join('\n');
  return { code, ...(finished ? { finished } : {}), logs };
}

const CANON = (t: string) =>
  `SELECT count(*)::int AS n, coalesce(md5(string_agg(format('%s|%s|%s', id, name, updated_at), ',' ORDER BY id)), '') AS h FROM ${t}`;

describe('incremental batch loads', () => {
  let source: Pool;
  let target: Pool;
  let src: string;
  let dst: string;
  beforeAll(async () => {
    source = new Pool({ connectionString: sourcePgUrl(), max: 2 });
    target = newPool();
    src = await createTestSchema(source, 'isrc');
    dst = await createTestSchema(target, 'idst');
  });
  afterAll(async () => {
    await dropTestSchemaUnlessFailed(source, src);
    await dropTestSchemaUnlessFailed(target, dst);
    await source.end();
    await target.end();
  });

  const cursorOf = async (pipeline: string, table: string): Promise<string | undefined> =>
    (await target.query(`SELECT cursor_value FROM "${dst}".nilus_batch_state WHERE pipeline = $1 AND source_table = $2`, [pipeline, `${src}.${table}`])).rows[0]?.cursor_value;

  it('merge by an updated_at cursor moves only the changed rows, run after run, and ends equal', async () => {
    await source.query(`CREATE TABLE "${src}".acc (id int PRIMARY KEY, name text, updated_at timestamp(6) NOT NULL)`);
    await source.query(`INSERT INTO "${src}".acc SELECT g, 'n' || g, '2024-01-01'::timestamp + g * interval '1 second' FROM generate_series(1, 3000) g`);
    const m = manifest('inc-merge', `${src}.acc`, `${dst}.acc`, 'merge', { incremental_key: 'updated_at' });

    const first = await run(m);
    expect(first.code).toBe(0);
    expect(first.finished).toMatchObject({ outcome: 'success', rows: 3000 });
    expect(await cursorOf('inc-merge', 'acc')).toBe('2024-01-01 00:50:00');

    // 20 updates and 7 inserts, all later than the stored cursor
    await source.query(`UPDATE "${src}".acc SET name = name || '!', updated_at = '2024-02-01'::timestamp + id * interval '1 ms' WHERE id % 150 = 0`);
    await source.query(`INSERT INTO "${src}".acc SELECT g, 'new' || g, '2024-02-02'::timestamp + g * interval '1 ms' FROM generate_series(3001, 3007) g`);
    const second = await run(m);
    expect(second.code).toBe(0);
    // id 3000 held the old cursor and was itself updated, so exactly the changed rows move
    expect(second.finished).toMatchObject({ outcome: 'success', rows: 20 + 7 });
    expect((await target.query(CANON(`"${dst}".acc`))).rows[0]).toEqual((await source.query(CANON(`"${src}".acc`))).rows[0]);

    // nothing changed: merge reads cursor >= stored, so only the row at the stored cursor is read again
    const third = await run(m);
    expect(third.finished).toMatchObject({ outcome: 'success', rows: 1 });
  });

  it('append by an id cursor adds only new rows and never doubles one', async () => {
    await source.query(`CREATE TABLE "${src}".ev (id bigint PRIMARY KEY, name text, updated_at timestamp)`);
    await source.query(`INSERT INTO "${src}".ev SELECT g, 'e' || g, now() FROM generate_series(1, 1000) g`);
    const m = manifest('inc-append', `${src}.ev`, `${dst}.ev`, 'append', { incremental_key: 'id' });
    expect((await run(m)).finished).toMatchObject({ outcome: 'success', rows: 1000 });
    const nothing = await run(m);
    expect(nothing.code).toBe(0);
    expect(nothing.finished).toMatchObject({ outcome: 'success', rows: 0 });
    await source.query(`INSERT INTO "${src}".ev SELECT g, 'e' || g, now() FROM generate_series(1001, 1250) g`);
    expect((await run(m)).finished).toMatchObject({ outcome: 'success', rows: 250 });
    expect((await target.query(CANON(`"${dst}".ev`))).rows[0]).toEqual((await source.query(CANON(`"${src}".ev`))).rows[0]);
    expect(await cursorOf('inc-append', 'ev')).toBe('1250');
  });

  it('interval_start/interval_end load a bounded window and leave the stored cursor alone', async () => {
    await source.query(`CREATE TABLE "${src}".win (id int PRIMARY KEY, name text, updated_at date)`);
    await source.query(`INSERT INTO "${src}".win SELECT g, 'w' || g, '2024-01-01'::date + g FROM generate_series(0, 99) g`);
    const m = manifest('inc-window', `${src}.win`, `${dst}.win`, 'append', { incremental_key: 'updated_at', interval_start: '2024-01-11', interval_end: '2024-01-21' });
    const r = await run(m);
    expect(r.finished).toMatchObject({ outcome: 'success', rows: 10 });
    const got = (await target.query(`SELECT min(updated_at)::text AS lo, max(updated_at)::text AS hi, count(*)::int AS n FROM "${dst}".win`)).rows[0];
    expect(got).toEqual({ lo: '2024-01-11', hi: '2024-01-20', n: 10 });
    expect(await cursorOf('inc-window', 'win')).toBeUndefined();
    // interval_start alone: where the first incremental run starts; then the cursor takes over
    const from = manifest('inc-window', `${src}.win`, `${dst}.win2`, 'append', { incremental_key: 'updated_at', interval_start: '2024-04-01' });
    expect((await run(from)).finished).toMatchObject({ rows: 9 });
    expect(await cursorOf('inc-window', 'win')).toBe('2024-04-09');
  });

  it('a SIGKILL mid-run commits nothing; the rerun loads every row exactly once', async () => {
    await source.query(`CREATE TABLE "${src}".big (id int PRIMARY KEY, name text, updated_at timestamp)`);
    await source.query(`INSERT INTO "${src}".big SELECT g, repeat('x', 200) || g, now() FROM generate_series(1, 400000) g`);
    const m = manifest('inc-kill', `${src}.big`, `${dst}.big`, 'append', { incremental_key: 'id', page_size: 2000 });
    const w = startWorker(m);
    // killed once rows are flowing into the target (PostgreSQL's own COPY progress), well before the run can commit
    const deadline = Date.now() + 60_000;
    const copying = async (): Promise<boolean> =>
      (await target.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1`, [`COPY %${dst}%big%FROM STDIN%`])).rows[0].n > 0;
    while (!(await copying())) {
      if (Date.now() > deadline) throw new Error(`no COPY seen in progress; worker output:\n${w.output().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, 300));
    let exitedEarly = false;
    void w.exited.then(() => (exitedEarly = true));
    await new Promise((r) => setImmediate(r));
    expect(exitedEarly).toBe(false); // still mid-run when killed
    w.child.kill('SIGKILL');
    expect(await w.exited).toBeNull();
    // The run created the table in its own transaction: rolled back, it is gone (42P01) or empty.
    const empty = await target.query(`SELECT count(*) = 0 AS empty FROM "${dst}".big`).then(
      (r) => r.rows[0].empty as boolean,
      (err: { code?: string }) => (err.code === '42P01' ? true : Promise.reject(err)),
    );
    expect(empty).toBe(true);
    expect(await cursorOf('inc-kill', 'big')).toBeUndefined();

    const again = await run(manifest('inc-kill', `${src}.big`, `${dst}.big`, 'append', { incremental_key: 'id', page_size: 5000 }));
    expect(again.finished).toMatchObject({ outcome: 'success', rows: 400000 });
    expect((await target.query(`SELECT count(*)::int AS n, count(DISTINCT id)::int AS d FROM "${dst}".big`)).rows[0]).toEqual({ n: 400000, d: 400000 });
    expect(await cursorOf('inc-kill', 'big')).toBe('400000');
  });

  it('refuses a missing or unusable cursor column and a changed one, saying what to do', async () => {
    await source.query(`CREATE TABLE "${src}".bad (id int PRIMARY KEY, name text, score real)`);
    await source.query(`INSERT INTO "${src}".bad VALUES (1, 'a', 1.5)`);
    const missing = await run(manifest('inc-bad', `${src}.bad`, `${dst}.bad`, 'merge', { incremental_key: 'nope' }));
    expect(missing.code).toBe(1);
    expect(missing.logs).toMatch(/incremental_key "nope" is not a column of .*bad \(it has: id, name, score\)/);
    const unusable = await run(manifest('inc-bad', `${src}.bad`, `${dst}.bad`, 'merge', { incremental_key: 'score' }));
    expect(unusable.code).toBe(1);
    expect(unusable.logs).toMatch(/incremental_key "score" is real: a cursor must be an integer, date or timestamp column/);
    expect((await run(manifest('inc-bad', `${src}.bad`, `${dst}.bad`, 'merge', { incremental_key: 'id' }))).code).toBe(0);
    await source.query(`ALTER TABLE "${src}".bad ADD COLUMN at date DEFAULT '2024-01-01'`);
    const changed = await run(manifest('inc-bad', `${src}.bad`, `${dst}.bad`, 'merge', { incremental_key: 'at' }));
    expect(changed.code).toBe(1);
    expect(changed.logs).toMatch(/the cursor stored for .*bad is on column "id".*DELETE FROM/);
  });
});
