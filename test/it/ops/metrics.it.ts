/**
 * /metrics, /healthz and /readyz of a real pipeline, scraped over HTTP while it runs and after:
 * the counters equal what was produced and applied, phase by phase.
 *
 * Readiness: ready = connected to PostgreSQL and Kafka, and either holding partitions or
 * intentionally idle. Intentionally idle means the worker did everything it can and simply has
 * nothing to read: no topic matches the prefix yet (Debezium has not created it), or the group
 * gave this member no partition (more replicas than partitions). Not ready = still connecting or
 * not yet joined.
 */
import v8 from 'node:v8';
import type { Pool } from 'pg';
import { createTopics } from '../../helpers/kafka';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, uniqueName } from '../../helpers/pg';
import { cdcManifest, produceMany, startInProcess, waitFor } from '../../helpers/pipeline';
import { EventFactory, ordersTable, orderRow } from '../../fixtures/factory';
import { freePort, httpGet, metricSum, scrape, until, type Sample } from './support';

type Msg = { key: string | null; value: string | null; partition: number };

describe('metrics and health endpoints of a running pipeline', () => {
  let pool: Pool;
  let schema: string;
  beforeAll(async () => {
    pool = newPool();
    schema = await createTestSchema(pool, 'opsm');
  });
  afterAll(async () => {
    await dropTestSchemaUnlessFailed(pool, schema);
    await pool.end();
  });

  it('counters match exactly what was consumed and applied; lag and buffers return to 0', async () => {
    const prefix = uniqueName('opsm');
    const f = new EventFactory(ordersTable(prefix));
    await createTopics([f.topic], 2);
    const svc = await startInProcess(cdcManifest({ name: prefix, prefix, dest: `${schema}.orders`, strategy: 'merge', include: 'public.orders' }));
    const port = svc.httpPort;
    const topic = f.topic;
    const table = `"${schema}"."orders"`; // the label is the quoted SQL name
    let produced = 0;
    // Each phase touches every key once and is fully committed before the next starts, so no
    // flush can collapse two events of one key: applied rows are exactly the events.
    const phase = async (msgs: Msg[]) => {
      await produceMany(topic, msgs);
      produced += msgs.length;
      await waitFor(pool, `SELECT coalesce(sum(next_offset), 0)::int AS n FROM "${schema}".nilus_offsets`, (r) => r[0]?.n === produced);
      // Metrics follow the commit; the flush event is emitted right after it.
      return until('metrics to catch up', async () => {
        const s = await scrape(port);
        return metricSum(s, 'nilus_events_consumed_total', { topic }) === produced ? s : undefined;
      }, 10_000);
    };
    const on = (id: number, ms: { key: string | null; value: string | null }[]): Msg[] => ms.map((m) => ({ ...m, partition: id % 2 }));
    try {
      expect((await httpGet(port, '/healthz')).status).toBe(200);
      const ready = await until('ready', async () => {
        const r = await httpGet(port, '/readyz');
        return r.status === 200 ? JSON.parse(r.body) : undefined;
      }, 30_000);
      expect(ready).toMatchObject({ status: 'ready', missing: [], assigned: 2, idle: false, kafkaConnected: true, pgConnected: true });

      const ids = Array.from({ length: 200 }, (_, i) => i + 1);
      let s = await phase(ids.flatMap((id) => on(id, f.create(orderRow(id, 0)))));
      expect(metricSum(s, 'nilus_events_consumed_total', { topic, op: 'c' })).toBe(200);
      expect(metricSum(s, 'nilus_rows_applied_total', { table, op: 'upsert' })).toBe(200);
      expect((await httpGet(port, '/healthz')).status).toBe(200);

      s = await phase(ids.slice(0, 100).flatMap((id) => on(id, f.update(orderRow(id, 0), orderRow(id, 1)))));
      expect(metricSum(s, 'nilus_rows_applied_total', { table, op: 'upsert' })).toBe(300);

      s = await phase(ids.slice(0, 50).flatMap((id) => on(id, f.delete(orderRow(id, 1)))));
      expect(metricSum(s, 'nilus_rows_applied_total', { table, op: 'delete' })).toBe(50);
      expect((await pool.query(`SELECT count(*)::int AS n FROM "${schema}".orders`)).rows[0].n).toBe(150);

      s = await phase(on(0, f.truncate()));
      expect((await pool.query(`SELECT count(*)::int AS n FROM "${schema}".orders`)).rows[0].n).toBe(0);
      assertFinal(s, topic, table, prefix);
      expect((await httpGet(port, '/healthz')).status).toBe(200);
    } finally {
      expect(await svc.stop()).toBe(0);
    }
  });

  function assertFinal(s: Sample[], topic: string, table: string, pipeline: string): void {
    const consumed = (op: string) => metricSum(s, 'nilus_events_consumed_total', { pipeline, topic, op });
    expect({ c: consumed('c'), u: consumed('u'), d: consumed('d'), tombstone: consumed('tombstone'), t: consumed('t') })
      .toEqual({ c: 200, u: 100, d: 50, tombstone: 50, t: 1 });
    const applied = (op: string) => metricSum(s, 'nilus_rows_applied_total', { pipeline, table, op });
    expect({ upsert: applied('upsert'), delete: applied('delete'), truncate: applied('truncate'), append: applied('append') })
      .toEqual({ upsert: 300, delete: 50, truncate: 1, append: 0 });
    const flushes = metricSum(s, 'nilus_flushes_total', { pipeline });
    expect(flushes).toBeGreaterThanOrEqual(4); // at least one per phase
    expect(metricSum(s, 'nilus_flush_duration_seconds_count', { pipeline })).toBe(flushes);
    expect(metricSum(s, 'nilus_batch_events_count', { pipeline })).toBe(flushes);
    // Events per flush summed: the applied keys (a tombstone is not an event of its own).
    expect(metricSum(s, 'nilus_batch_events_sum', { pipeline })).toBe(300 + 50);
    const lag = s.filter((x) => x.name === 'nilus_consumer_lag' && x.labels.topic === topic);
    expect(lag.map((x) => [x.labels.partition, x.value]).sort()).toEqual([['0', 0], ['1', 0]]);
    expect(metricSum(s, 'nilus_end_to_end_latency_seconds_count', { pipeline })).toBeGreaterThan(0);
    expect(metricSum(s, 'nilus_buffered_events', { pipeline })).toBe(0);
    expect(metricSum(s, 'nilus_buffered_bytes', { pipeline })).toBe(0);
    expect(metricSum(s, 'nilus_retries_total', { pipeline })).toBe(0);
    expect(metricSum(s, 'nilus_errors_total', { pipeline })).toBe(0);
    expect(metricSum(s, 'nilus_dead_lettered_total', { pipeline })).toBe(0);
  }

  it('a heap above memory_budget_bytes + 32 MiB is collected, and counted', async () => {
    // The smallest budget (1 MiB): ceiling 33 MiB, which this test process's heap is above
    // before the pipeline starts, so the guard's first check (a flush, or its 100 ms timer) collects.
    const ceiling = 33 * 1024 * 1024;
    expect(v8.getHeapStatistics().used_heap_size).toBeGreaterThan(ceiling);
    const prefix = uniqueName('opsheap');
    const f = new EventFactory(ordersTable(prefix));
    await createTopics([f.topic], 1);
    const svc = await startInProcess(cdcManifest({ name: prefix, prefix, dest: `${schema}.heap`, strategy: 'merge', include: 'public.orders', options: { memory_budget_bytes: 1024 * 1024 } }));
    try {
      const collections = (s: Sample[]) => metricSum(s, 'nilus_heap_collections_total', { pipeline: prefix });
      await produceMany(f.topic, Array.from({ length: 50 }, (_, i) => f.create(orderRow(i + 1, 0))).flat().map((m) => ({ ...m, partition: 0 })));
      await waitFor(pool, `SELECT count(*)::int AS n FROM "${schema}".heap`, (r) => r[0]?.n === 50);
      const s = await until('the collection to be counted', async () => {
        const x = await scrape(svc.httpPort);
        return collections(x) > 0 ? x : undefined;
      }, 10_000);
      expect(collections(s)).toBeGreaterThanOrEqual(1);
    } finally {
      expect(await svc.stop()).toBe(0);
    }
  });

  it('a prefix that matches no topic yet is intentionally idle: live and ready', async () => {
    const prefix = uniqueName('opsnone');
    const svc = await startInProcess(cdcManifest({ name: prefix, prefix, dest: `${schema}.none`, strategy: 'merge', include: 'public.orders' }));
    try {
      expect((await httpGet(svc.httpPort, '/healthz')).status).toBe(200);
      // Start-up (PostgreSQL, then Kafka) runs behind the HTTP server; once through, idle is ready.
      const r = await until('/readyz to answer 200', async () => {
        const x = await httpGet(svc.httpPort, '/readyz');
        return x.status === 200 ? x : undefined;
      }, 20_000, 50);
      expect(JSON.parse(r.body)).toMatchObject({ status: 'ready', missing: [], assigned: 0, idle: true });
    } finally {
      expect(await svc.stop()).toBe(0);
    }
  });

  it('more members than partitions: the member left without a partition is idle and ready', async () => {
    const prefix = uniqueName('opsextra');
    const f = new EventFactory(ordersTable(prefix));
    await createTopics([f.topic], 1);
    const manifest = cdcManifest({ name: prefix, prefix, dest: `${schema}.extra`, strategy: 'merge', include: 'public.orders' });
    const a = await startInProcess(manifest);
    const b = await startInProcess(manifest);
    let last: unknown;
    try {
      const states = await until('one member with the partition, one without, both ready', async () => {
        const rs = await Promise.all([a, b].map((w) => httpGet(w.httpPort, '/readyz')));
        const js = rs.map((r) => ({ ...JSON.parse(r.body), code: r.status }));
        last = js;
        return js.every((j) => j.code === 200) && js[0].assigned + js[1].assigned === 1 ? js : undefined;
      }, 30_000).catch((err: Error) => {
        throw new Error(`${err.message}; last: ${JSON.stringify(last)}`);
      });
      const idle = states.find((j) => j.assigned === 0);
      expect(idle).toMatchObject({ code: 200, status: 'ready', idle: true, missing: [] });
    } finally {
      expect(await b.stop()).toBe(0);
      expect(await a.stop()).toBe(0);
    }
  });

  it('before Kafka answers, /readyz is 503 naming kafka and assignment; /healthz stays 200', async () => {
    const prefix = uniqueName('opsdown');
    const port = await freePort();
    const deadBroker = await freePort();
    const m = JSON.parse(cdcManifest({ name: prefix, prefix, dest: `${schema}.down`, strategy: 'merge', include: 'public.orders', options: { http_port: port } }));
    m.spec.source.address = `kafka://127.0.0.1:${deadBroker}`;
    const svc = await startInProcess(JSON.stringify(m));
    // PostgreSQL answers, so once its part of start-up is through only Kafka is missing.
    const r = await until('/readyz to miss only kafka', async () => {
      const x = await httpGet(port, '/readyz').catch(() => undefined);
      return x && JSON.parse(x.body).pgConnected === true ? x : undefined;
    }, 20_000, 50);
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body)).toMatchObject({ status: 'not ready', missing: ['kafka', 'assignment'], kafkaConnected: false, pgConnected: true });
    expect((await httpGet(port, '/healthz')).status).toBe(200);
    // The start keeps trying a broker that does not answer (each attempt counted), and a stop
    // during start-up ends it cleanly.
    const retried = await until('a counted retry of the Kafka connection', async () => {
      const n = metricSum(await scrape(port), 'nilus_retries_total', { operation: 'connect to Kafka' });
      return n > 0 ? n : undefined;
    }, 30_000);
    expect(retried).toBeGreaterThan(0);
    expect(await svc.stop()).toBe(0);
  });
});
