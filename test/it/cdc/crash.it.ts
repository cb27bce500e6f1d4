/**
 * Crash safety: the worker process is SIGKILLed at several points of a stream and restarted.
 * Because rows and offsets commit in one transaction, the target ends exactly right: merge equals
 * the expected state, append holds every event exactly once.
 */
import type { Pool } from 'pg';
import { createTopics, produce } from '../../helpers/kafka';
import { uniqueName, useTestSchema } from '../../helpers/pg';
import { cdcManifest, produceMany, startWorker, waitFor } from '../../helpers/pipeline';
import { EventFactory, ordersTable } from '../../fixtures/factory';
import { churn, expectedOrders, ORDERS_TEXT, ordersRows } from '../../fixtures/orders';

const EVENTS = 60_000;

async function killAtProgress(pool: Pool, manifest: string, progressSql: string, targets: number[]): Promise<void> {
  for (const t of targets) {
    const w = startWorker(manifest);
    try {
      await waitFor(pool, progressSql, (r) => Number(r[0]?.n ?? 0) >= t, 120_000);
    } catch (err) {
      throw new Error(`${(err as Error).message}\nworker output:\n${w.output().slice(-3000)}`);
    }
    w.child.kill('SIGKILL');
    await w.exited;
  }
}

describe('crash safety (SIGKILL mid-stream)', () => {
  let pool: Pool;
  let schema: string;
  useTestSchema('crash', (p, s) => ((pool = p), (schema = s)));

  // 'merge, decode thread': batches decoded on a thread and fetched ahead (src/decode/decode-ahead.ts).
  it.each(['merge', 'merge, decode thread', 'append'] as const)('%s: killed three times, the target ends exact', async (run) => {
    const strategy = run === 'append' ? 'append' : 'merge';
    const threads = run === 'merge, decode thread' ? { decode_threads: 1 } : {};
    const prefix = uniqueName(`crash_${run === 'merge, decode thread' ? 'thr' : strategy}`);
    const f = new EventFactory(ordersTable(prefix));
    await createTopics([f.topic], 2);
    const { state, messages, events } = churn(f, EVENTS, 5_000);
    await produceMany(f.topic, messages);
    // Small batches so that the kills land between many flushes.
    const manifest = cdcManifest({
      name: prefix, prefix, dest: `${schema}.orders`, strategy, include: 'public.orders',
      options: { 'batch.max_rows': 2_000, log_level: 'info', ...threads },
    });
    const progress = `SELECT coalesce(sum(next_offset), 0)::bigint AS n FROM "${schema}".nilus_offsets`;
    await killAtProgress(pool, manifest, progress, [5_000, 20_000, 45_000]);

    const last = startWorker(manifest);
    try {
      await waitFor(pool, progress, (r) => Number(r[0]?.n) === messages.length, 120_000);
      expect(/"threads":1,"msg":"fetched batches are decoded on worker threads/.test(last.output())).toBe(run === 'merge, decode thread');
    } finally {
      last.child.kill('SIGTERM');
      expect(await last.exited).toBe(0);
    }

    if (strategy === 'merge') {
      expect(ordersRows((await pool.query(ORDERS_TEXT(schema))).rows)).toEqual(expectedOrders(state));
    } else {
      const r = await pool.query(
        `SELECT count(*)::int AS n, count(DISTINCT (_nilus_partition, _nilus_offset))::int AS distinct_positions
           FROM "${schema}".orders`,
      );
      expect(r.rows[0]).toEqual({ n: events, distinct_positions: events });
    }
  });
});
