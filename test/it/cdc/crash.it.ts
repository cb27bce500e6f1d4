/**
 * Crash safety: the worker process is SIGKILLed at several points of a stream and restarted.
 * Because rows and offsets commit in one transaction, the target ends exactly right: merge equals
 * the expected state, append holds every event exactly once.
 */
import type { Pool } from 'pg';
import { createTopics, produce } from '../../helpers/kafka';
import { createTestSchema, dropTestSchema, newPool, uniqueName } from '../../helpers/pg';
import { cdcManifest, produceMany, startWorker, waitFor } from '../../helpers/pipeline';
import { EventFactory, ordersTable, orderRow, orderRowText } from '../../fixtures/factory';

const EVENTS = 60_000;

function workload(f: EventFactory) {
  const state = new Map<number, number>();
  const messages: { key: string | null; value: string | null; partition: number }[] = [];
  let events = 0;
  for (let i = 0; i < EVENTS; i++) {
    const id = 1 + ((i * 7919) % 5_000);
    const partition = id % 2;
    const v = (state.get(id) ?? -1) + 1;
    let out;
    if (i % 10 === 9 && state.has(id)) {
      out = f.delete(orderRow(id, state.get(id)!));
      state.delete(id);
    } else if (state.has(id)) {
      out = f.update(orderRow(id, state.get(id)!), orderRow(id, v));
      state.set(id, v);
    } else {
      out = f.create(orderRow(id, v));
      state.set(id, v);
    }
    events++;
    for (const m of out) messages.push({ ...m, partition });
  }
  return { state, messages, events };
}

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
  beforeAll(() => {
    pool = newPool();
  });
  afterAll(async () => {
    await pool.end();
  });
  beforeEach(async () => {
    schema = await createTestSchema(pool, 'crash');
  });
  afterEach(async () => {
    if (!(globalThis as { __nilusTestFailed?: boolean }).__nilusTestFailed) await dropTestSchema(pool, schema);
  });

  it.each(['merge', 'append'] as const)('%s: killed three times, the target ends exact', async (strategy) => {
    const prefix = uniqueName(`crash_${strategy}`);
    const f = new EventFactory(ordersTable(prefix));
    await createTopics([f.topic], 2);
    const { state, messages, events } = workload(f);
    await produceMany(f.topic, messages);
    // Small batches so that the kills land between many flushes.
    const manifest = cdcManifest({
      name: prefix, prefix, dest: `${schema}.orders`, strategy, include: 'public.orders',
      options: { 'batch.max_rows': 2_000, log_level: 'info' },
    });
    const progress = `SELECT coalesce(sum(next_offset), 0)::bigint AS n FROM "${schema}".nilus_offsets`;
    await killAtProgress(pool, manifest, progress, [5_000, 20_000, 45_000]);

    const last = startWorker(manifest);
    try {
      await waitFor(pool, progress, (r) => Number(r[0]?.n) === messages.length, 120_000);
    } finally {
      last.child.kill('SIGTERM');
      expect(await last.exited).toBe(0);
    }

    if (strategy === 'merge') {
      const rows = (
        await pool.query(
          `SELECT id::text, customer_id::text, status, amount::text, coalesce(note, '') AS note, created_at::text AS c
             FROM "${schema}".orders AS o ORDER BY o.id`,
        )
      ).rows.map((r) => [r.id, r.customer_id, r.status, r.amount, r.note, r.c]);
      const expected = [...state.entries()].sort((a, b) => a[0] - b[0]).map(([id, v]) => orderRowText(id, v));
      expect(rows).toEqual(expected);
    } else {
      const r = await pool.query(
        `SELECT count(*)::int AS n, count(DISTINCT (_nilus_partition, _nilus_offset))::int AS distinct_positions
           FROM "${schema}".orders`,
      );
      expect(r.rows[0]).toEqual({ n: events, distinct_positions: events });
    }
  });
});
