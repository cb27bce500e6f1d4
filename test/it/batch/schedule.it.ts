/**
 * Scheduled batch pipelines, run as users run them (`nilus-pg run` in a child process): the worker
 * stays up, runs on its cron, shows the last run on /metrics and /readyz, and SIGTERM stops it
 * cleanly — between runs at once, and during a run by rolling the run back.
 */
import { Pool } from 'pg';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, targetPgUrl } from '../../helpers/pg';
import { sourcePgUrl } from '../../helpers/stack';
import { startWorker } from '../../helpers/pipeline';

function manifest(name: string, source: string, dest: string, strategy: string, src: Record<string, unknown>, crons: string[]): string {
  return JSON.stringify({
    name, version: 'v1alpha', type: 'nilus',
    spec: {
      type: 'batch',
      source: { address: sourcePgUrl(), options: { source_table: source, ...src } },
      sink: { address: targetPgUrl(), options: { dest_table: dest, incremental_strategy: strategy, http_port: 0, log_level: 'info' } },
      schedule: { crons, timezone: 'Europe/Paris', concurrencyPolicy: 'Forbid' },
    },
  });
}

/** The worker's HTTP endpoint not listening (yet, or any more): worth another look, unlike any other error. */
function notListening(err: unknown): undefined {
  const code = (err as { cause?: { code?: string } }).cause?.code;
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET') return undefined;
  throw err;
}

async function until<T>(what: string, f: () => Promise<T | undefined>, ms: number, output: () => string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f().catch(notListening);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; worker output (tail):\n${output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The port the worker serves /metrics on, from its start-up log line. */
function portOf(output: string): number | undefined {
  for (const line of output.split('\n')) {
    if (!line.includes('serving /metrics')) continue;
    return (JSON.parse(line) as { port: number }).port;
  }
  return undefined;
}

function metric(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && labels.split(',').every((p) => l.includes(p)));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : undefined;
}

describe('scheduled batch pipelines', () => {
  let source: Pool;
  let target: Pool;
  let src: string;
  let dst: string;
  beforeAll(async () => {
    source = new Pool({ connectionString: sourcePgUrl(), max: 2 });
    target = newPool();
    src = await createTestSchema(source, 'ssrc');
    dst = await createTestSchema(target, 'sdst');
  });
  afterAll(async () => {
    await dropTestSchemaUnlessFailed(source, src);
    await dropTestSchemaUnlessFailed(target, dst);
    await source.end();
    await target.end();
  });

  it('runs on its cron (twice and more), reports each run, and stops on SIGTERM with exit 0', async () => {
    await source.query(`CREATE TABLE "${src}".t (id int PRIMARY KEY, v text)`);
    await source.query(`INSERT INTO "${src}".t SELECT g, 'v' || g FROM generate_series(1, 500) g`);
    const w = startWorker(manifest('sched-twice', `${src}.t`, `${dst}.t`, 'merge', { incremental_key: 'id' }, ['*/2 * * * * *']));
    try {
      const port = await until('the HTTP port', async () => portOf(w.output()), 30_000, w.output);
      const metrics = async (): Promise<string> => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      await until('a first successful run', async () => ((metric(await metrics(), 'nilus_batch_runs_total', 'outcome="success"') ?? 0) >= 1 ? true : undefined), 30_000, w.output);
      // a row added between runs is picked up by a later run of the same process
      await source.query(`INSERT INTO "${src}".t VALUES (501, 'late')`);
      const text = await until('two more successful runs', async () => {
        const t = await metrics();
        return (metric(t, 'nilus_batch_runs_total', 'outcome="success"') ?? 0) >= 3 ? t : undefined;
      }, 30_000, w.output);
      expect(metric(text, 'nilus_batch_last_run_success', 'pipeline="sched-twice"')).toBe(1);
      expect(metric(text, 'nilus_batch_rows_total', 'pipeline="sched-twice"')).toBeGreaterThanOrEqual(501);
      expect(metric(text, 'nilus_batch_next_run_timestamp_seconds', 'pipeline="sched-twice"')).toBeGreaterThan(Date.now() / 1000 - 1);
      expect((await target.query(`SELECT count(*)::int AS n FROM "${dst}".t`)).rows[0].n).toBe(501);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status).toBe(200);
      const body = (await ready.json()) as { batch: { lastRun: { outcome: string }; nextRunAt: string } };
      expect(body.batch.lastRun.outcome).toBe('success');
      expect(Date.parse(body.batch.nextRunAt)).toBeGreaterThan(Date.now() - 1000);
    } finally {
      w.child.kill('SIGTERM');
    }
    const code = await Promise.race([w.exited, new Promise((r) => setTimeout(() => r('timeout'), 15_000))]);
    expect(code).toBe(0);
  });

  it('SIGTERM during a run rolls the run back and exits 0; the cursor stays where it was', async () => {
    await source.query(`CREATE TABLE "${src}".big (id int PRIMARY KEY, v text)`);
    await source.query(`INSERT INTO "${src}".big SELECT g, repeat('y', 300) FROM generate_series(1, 400000) g`);
    const w = startWorker(manifest('sched-term', `${src}.big`, `${dst}.big`, 'append', { incremental_key: 'id', page_size: 2000 }, ['* * * * * *']));
    const copying = async (): Promise<true | undefined> =>
      (await target.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1`, [`COPY %${dst}%big%FROM STDIN%`])).rows[0].n > 0 ? true : undefined;
    await until('a run copying rows', copying, 60_000, w.output);
    w.child.kill('SIGTERM');
    const code = await Promise.race([w.exited, new Promise((r) => setTimeout(() => r('timeout'), 15_000))]);
    if (code !== 0) w.child.kill('SIGKILL');
    expect({ code, output: code === 0 ? '' : w.output().slice(-4000) }).toEqual({ code: 0, output: '' });
    expect(w.output()).toMatch(/"outcome":"aborted"|aborted/);
    // The run created the table in its own transaction: rolled back, it is gone (42P01) or empty.
    const left = await target.query(`SELECT count(*)::int AS n FROM "${dst}".big`).then(
      (r) => r.rows[0].n as number,
      (err: { code?: string }) => (err.code === '42P01' ? 0 : Promise.reject(err)),
    );
    expect(left).toBe(0);
    expect((await target.query(`SELECT count(*)::int AS n FROM "${dst}".nilus_batch_state WHERE pipeline = 'sched-term'`)).rows[0].n).toBe(0);
  });
});
