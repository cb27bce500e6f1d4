/**
 * End-to-end latency at a steady rate: nilus-pg append runs first on an empty topic, then a
 * producer holds `rate` events/s for `seconds`, stamping each event's source.ts_ms with the time
 * it is produced. Two measures:
 *  - SQL: percentile_cont over (_nilus_applied_at − _nilus_source_ts) in the target.
 *    _nilus_applied_at is now() = the flush transaction's START, so this slightly under-states the
 *    commit time.
 *  - The worker's own nilus_end_to_end_latency_seconds histogram (commit time − source ts_ms),
 *    scraped from /metrics; percentiles interpolated inside its buckets, so coarse, and the worker
 *    feeds it the first 256 events of each flush only (the oldest ones), so it reads high. The
 *    SQL figure, over every event, is the one the target is judged on.
 */
import { createServer } from 'node:net';
import { EventFactory, ordersTable } from '../../test/fixtures/factory';
import { rate, sleep, type RunResult } from '../result';
import { kafka, quoteIdent, TARGET_URL, withPg } from '../stack';
import { createTopics, PARTITIONS } from '../topics';
import { snapshot, since } from '../machine-cpu';
import { flushStats, procStats, startWorker } from '../worker';
import { TopicWriter, Workload } from '../workload';
import { budgetExtra, freshSchema } from './nilus';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** p-quantile from Prometheus cumulative buckets, linear inside the bucket. */
export function histogramQuantile(q: number, buckets: readonly { le: number; count: number }[]): number {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const total = sorted[sorted.length - 1]?.count ?? 0;
  if (total === 0) return NaN;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of sorted) {
    if (b.count >= rank) {
      if (!Number.isFinite(b.le)) return prevLe;
      return prevLe + ((b.le - prevLe) * (rank - prevCount)) / Math.max(1, b.count - prevCount);
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}

export function parseLatencyBuckets(metrics: string): { le: number; count: number }[] {
  const out: { le: number; count: number }[] = [];
  for (const line of metrics.split('\n')) {
    const m = /^nilus_end_to_end_latency_seconds_bucket\{.*le="([^"]+)".*\}\s+(\S+)/.exec(line);
    if (m) out.push({ le: m[1] === '+Inf' ? Infinity : Number(m[1]), count: Number(m[2]) });
  }
  return out;
}

async function waitReady(port: number, exited: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (exited()) throw new Error('worker exited before it was ready');
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false);
    if (ok) return;
    await sleep(200);
  }
  throw new Error('worker not ready after 60 s');
}

/** The result name of the latency run at `perSecond`: latency-1k, latency-5k, latency-20k, latency-500. */
export const latencyName = (perSecond: number): string =>
  `latency-${perSecond % 1000 === 0 ? `${perSecond / 1000}k` : perSecond}`;

export async function latencyRun(name: string, schema: string, prefix: string, seconds: number, perSecond: number, options?: Record<string, unknown>, nodeArgs?: string[]): Promise<RunResult> {
  const f = new EventFactory(ordersTable(prefix), true, { realSource: true });
  await createTopics([f.topic]);
  const w = new Workload(perSecond * seconds, 7);
  return withPg(TARGET_URL, async (c) => {
    await freshSchema(c, schema);
    const port = await freePort();
    const worker = startWorker({ name: schema, prefix, dest: `${schema}.orders_history`, strategy: 'append', httpPort: port, options }, nodeArgs);
    const producer = kafka('nilus-bench-latency').producer({ allowAutoTopicCreation: false });
    try {
      await waitReady(port, () => worker.child.exitCode !== null);
      await producer.connect();
      const writer = new TopicWriter(producer, [f], PARTITIONS, { perPartition: true });
      const ops = w.ops();
      const t0 = Date.now();
      const cpu0 = snapshot();
      const own0 = process.cpuUsage();
      let sent = 0;
      // Each 50 ms tick sends what the schedule owes, so a slow send is caught up, not dropped.
      for (let done = false; !done; ) {
        const owed = Math.min(w.events, Math.floor(((Date.now() - t0) / 1000) * perSecond)) - sent;
        const now = Date.now();
        for (let i = 0; i < owed; i++) {
          const next = ops.next();
          if (next.done) { done = true; break; }
          await writer.write(next.value, now);
          sent++;
        }
        await writer.flush();
        if (sent >= w.events) done = true;
        else await sleep(50);
      }
      const produceSeconds = (Date.now() - t0) / 1000;
      const own = process.cpuUsage(own0);
      while (Number((await c.query<{ n: string }>(`SELECT coalesce(sum(next_offset), 0) AS n FROM ${quoteIdent(schema)}.nilus_offsets`)).rows[0]!.n) < w.records) {
        if (worker.child.exitCode !== null) throw new Error(`worker exited ${worker.child.exitCode}:\n${worker.output().slice(-3000)}`);
        await sleep(100);
      }
      const cpu = since(cpu0);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const flushes = await flushStats(port);
      const stats = procStats(worker.child.pid!);
      const q = (await c.query<{ p50: number; p99: number; max: number; n: string }>(
        `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY d) * 1000 AS p50, percentile_cont(0.99) WITHIN GROUP (ORDER BY d) * 1000 AS p99,
                max(d) * 1000 AS max, count(*) AS n
           FROM (SELECT extract(epoch FROM _nilus_applied_at - _nilus_source_ts)::float8 AS d FROM ${quoteIdent(schema)}.orders_history) s`,
      )).rows[0]!;
      const buckets = parseLatencyBuckets(metrics);
      const n = Number(q.n);
      const ok = n === w.events;
      await worker.stop();
      await c.query(`DROP SCHEMA ${quoteIdent(schema)} CASCADE`);
      return {
        name, ok, check: `${n} rows (expected ${w.events})`, events: w.events, seconds: produceSeconds,
        eventsPerSec: rate(w.events, produceSeconds), peakRssMiB: stats.peakRssMiB, cpuSeconds: stats.cpuSeconds,
        extra: {
          ...budgetExtra(options), rate: perSecond,
          sqlP50Ms: Math.round(q.p50), sqlP99Ms: Math.round(q.p99), sqlMaxMs: Math.round(q.max),
          histP50Ms: Math.round(histogramQuantile(0.5, buckets) * 1000), histP99Ms: Math.round(histogramQuantile(0.99, buckets) * 1000),
          ...(flushes ?? {}), ...cpu,
          // the bench process (the producer) while it produced
          producerCpuSeconds: Math.round((own.user + own.system) / 1e5) / 10,
        },
        notes: [
          `producer held ${rate(w.events, produceSeconds)} events/s for ${produceSeconds.toFixed(1)} s (target ${perSecond}/s for ${seconds} s)`,
          'sql p50/p99: _nilus_applied_at − _nilus_source_ts; applied_at is the flush transaction start, a slight under-estimate of commit time',
          'hist p50/p99: the worker\'s nilus_end_to_end_latency_seconds (commit − source ts_ms), interpolated inside its buckets; the worker observes only the first 256 events of each flush (the oldest), so it reads high — the SQL figure is the one judged',
        ],
      };
    } finally {
      await producer.disconnect().catch(() => undefined);
      await worker.stop(5000);
    }
  });
}
