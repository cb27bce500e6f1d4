/**
 * Rebalances under load: two worker processes (same manifest, so the same consumer group) on a
 * 4-partition topic; a third joins mid-stream and one of the first two is SIGTERMed mid-stream.
 * Partitions move twice while flushes are in flight. The stored-offset compare-and-set (a flush
 * whose partition moved is rolled back) and the flush on (re)assignment keep the effect exactly
 * once: append holds every event once, merge equals the expected state.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { createTopics } from '../../helpers/kafka';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, uniqueName } from '../../helpers/pg';
import { cdcManifest, produceMany, startWorker } from '../../helpers/pipeline';
import { EventFactory, ordersTable } from '../../fixtures/factory';
import { churn, expectedOrders, ORDERS_TEXT, ordersRows, pollSql, sleep, until } from './support';

const pollUntil = (ok: () => boolean, ms: number) => until('a worker to be assigned partitions', async () => (ok() ? true : undefined), ms);

const EVENTS = 40_000;
type Worker = ReturnType<typeof startWorker>;

describe('rebalance mid-stream (worker processes)', () => {
  let pool: Pool;
  let schema: string;
  beforeAll(async () => {
    pool = newPool();
    schema = await createTestSchema(pool, 'opsreb');
  });
  afterAll(async () => {
    await dropTestSchemaUnlessFailed(pool, schema);
    await pool.end();
  });

  // 'merge, decode thread': batches decoded on a thread and fetched ahead (src/decode/decode-ahead.ts).
  it.each(['append', 'merge', 'merge, decode thread'] as const)('%s: a member joins and a member leaves; every event applied exactly once', async (run) => {
    const strategy = run === 'append' ? 'append' : 'merge';
    const threads = run === 'merge, decode thread' ? { decode_threads: 1 } : {};
    const table = run === 'merge, decode thread' ? 'merge_thr' : strategy; // one schema for every case
    const prefix = uniqueName(`opsreb_${run === 'merge, decode thread' ? 'thr' : strategy}`);
    const f = new EventFactory(ordersTable(prefix));
    await createTopics([f.topic], 4);
    const { state, messages, events } = churn(f, EVENTS, 4_000, 4);
    const manifest = cdcManifest({
      name: prefix, prefix, dest: `${schema}.${table}`, strategy, include: 'public.orders',
      options: { 'batch.max_rows': 500, log_level: 'info', ...threads },
    });
    const progress = `SELECT coalesce(sum(next_offset), 0)::bigint AS n FROM "${schema}".nilus_offsets WHERE group_id = 'nilus-pg.${prefix}'`;
    const workers: Worker[] = [startWorker(manifest), startWorker(manifest)];
    const all = () => workers.map((w, i) => `--- worker ${i + 1} ---\n${w.output().slice(-2500)}`).join('\n');
    const assigned = (w: Worker) => pollUntil(() => /"msg":"partitions assigned"/.test(w.output()), 60_000);
    // The stream is produced in slices while members come and go, so every change of membership
    // lands mid-stream, with flushes in flight.
    const slices = 10;
    const per = Math.ceil(messages.length / slices);
    try {
      await assigned(workers[0]);
      for (let i = 0; i < slices; i++) {
        await produceMany(f.topic, messages.slice(i * per, (i + 1) * per));
        if (i === 2) {
          workers.push(startWorker(manifest));
          await assigned(workers[2]);
        }
        if (i === 5) {
          workers[0].child.kill('SIGTERM');
          expect(await workers[0].exited).toBe(0);
        }
        await sleep(300);
      }
      const stored = await pollSql(pool, progress, (r) => Number(r[0]?.n) === messages.length, 150_000);
      expect(Number(stored[0].n)).toBe(messages.length);
      // The newcomer really took partitions over (the group rebalanced rather than ignoring it).
      expect(workers[2].output()).toMatch(/"partitions":[1-4],"msg":"partitions assigned"/);
    } catch (err) {
      // The whole output of every worker goes to a file; the message carries the tails.
      const file = join(tmpdir(), `${prefix}-workers.log`);
      writeFileSync(file, workers.map((w, i) => `--- worker ${i + 1} ---\n${w.output()}`).join('\n'));
      throw new Error(`${(err as Error).message} (full worker output: ${file})\n${all()}`);
    } finally {
      // A rolling stop, one member after the other, as a deployment does it.
      const codes: (number | null)[] = [];
      for (const w of workers.slice(1)) {
        w.child.kill('SIGTERM');
        codes.push(await w.exited);
      }
      if (codes.some((c) => c !== 0)) {
        const file = join(tmpdir(), `${prefix}-workers.log`);
        writeFileSync(file, workers.map((w, i) => `--- worker ${i + 1} ---\n${w.output()}`).join('\n'));
        throw new Error(`exit codes ${JSON.stringify(codes)} (full worker output: ${file})\n${all()}`);
      }
    }
    if (strategy === 'merge') {
      expect(ordersRows((await pool.query(ORDERS_TEXT(schema, table))).rows)).toEqual(expectedOrders(state));
    } else {
      const a = await pool.query(
        `SELECT count(*)::int AS n, count(DISTINCT (_nilus_partition, _nilus_offset))::int AS d FROM "${schema}"."append"`,
      );
      expect(a.rows[0]).toEqual({ n: events, d: events });
    }
  });
});
