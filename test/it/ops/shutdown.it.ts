/**
 * Graceful shutdown: SIGTERM while the worker holds unflushed events and more are arriving → it
 * flushes what it holds, commits, exits 0; a restart continues without loss or duplicates
 * (append). A second signal during the stop exits at once with 130.
 */
import type { Pool } from 'pg';
import { createTopics } from '../../helpers/kafka';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, uniqueName } from '../../helpers/pg';
import { cdcManifest, produceMany } from '../../helpers/pipeline';
import { EventFactory, ordersTable } from '../../fixtures/factory';
import { churn, metricSum, pollSql, scrape, until } from './support';
import { runWorker, workerPort } from './worker';

describe('graceful shutdown', () => {
  let pool: Pool;
  let schema: string;
  beforeAll(async () => {
    pool = newPool();
    schema = await createTestSchema(pool, 'opsstop');
  });
  afterAll(async () => {
    await dropTestSchemaUnlessFailed(pool, schema);
    await pool.end();
  });

  it('SIGTERM flushes what is held and exits 0; a restart continues exactly once (append)', async () => {
    const prefix = uniqueName('opsstop');
    const f = new EventFactory(ordersTable(prefix));
    await createTopics([f.topic], 2);
    const { messages, events } = churn(f, 20_000, 3_000);
    const half = messages.length / 2;
    const [first, second] = [messages.slice(0, half), messages.slice(half)];
    await produceMany(f.topic, first);
    const base = { name: prefix, prefix, dest: `${schema}.orders`, strategy: 'append' as const, include: 'public.orders' };
    // Nothing flushes on its own (huge limits): at SIGTERM every taken event is still in memory.
    const holding = runWorker(cdcManifest({ ...base, options: { log_level: 'info', 'batch.flush_when_caught_up': false, 'batch.max_age_ms': 600_000, 'batch.max_rows': 1_000_000, 'batch.max_bytes': 64 * 1024 * 1024 } }));
    const port = await workerPort(holding);
    const s = await until('the first half to be taken', async () => {
      const m = await scrape(port);
      return metricSum(m, 'nilus_events_consumed_total') === first.length ? m : undefined;
    }, 60_000);
    expect(metricSum(s, 'nilus_buffered_events')).toBeGreaterThan(0);
    expect(metricSum(s, 'nilus_flushes_total')).toBe(0);
    const producing = produceMany(f.topic, second); // the stream goes on while the worker stops
    holding.child.kill('SIGTERM');
    expect(await holding.code).toBe(0);
    expect(holding.output()).toMatch(/"msg":"stopping: flushing what is held"/);
    const stored = Number((await pool.query(`SELECT sum(next_offset)::bigint AS n FROM "${schema}".nilus_offsets`)).rows[0].n);
    expect(stored).toBeGreaterThanOrEqual(first.length);
    await producing;

    const next = runWorker(cdcManifest({ ...base, options: { log_level: 'info' } }));
    try {
      await pollSql(pool, `SELECT sum(next_offset)::bigint AS n FROM "${schema}".nilus_offsets`, (r) => Number(r[0]?.n) === messages.length, 120_000);
    } finally {
      next.child.kill('SIGTERM');
      expect(await next.code).toBe(0);
    }
    const a = await pool.query(`SELECT count(*)::int AS n, count(DISTINCT (_nilus_partition, _nilus_offset))::int AS d FROM "${schema}".orders`);
    expect(a.rows[0]).toEqual({ n: events, d: events });
  });

  it('a second signal while stopping exits at once with 130', async () => {
    const prefix = uniqueName('opsstop2');
    const f = new EventFactory(ordersTable(prefix));
    await createTopics([f.topic], 1);
    const w = runWorker(cdcManifest({ name: prefix, prefix, dest: `${schema}.twice`, strategy: 'merge', include: 'public.orders', options: { log_level: 'info' } }));
    await until('assignment', async () => (/"msg":"partitions assigned"/.test(w.output()) ? true : undefined), 30_000);
    w.child.kill('SIGTERM');
    w.child.kill('SIGINT');
    expect(await w.code).toBe(130);
  });
});
