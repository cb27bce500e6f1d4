/**
 * A partition between the worker and PostgreSQL that drops packets (no RST, no FIN): the target is
 * reached through a BlackholeProxy, a workload keeps arriving in Kafka, the proxy drops everything
 * for longer than the client's deadline (statement_timeout_ms + 5 s), then heals.
 *
 * What must happen: the statement waiting on the silent connection fails within the deadline
 * ("Query read timeout", the connection destroyed, not returned to the pool), the flush is rolled
 * back and retried on new connections (which time out while the partition lasts), and once it
 * heals every event is applied exactly once: the target equals the workload's final state and the
 * stored offsets equal the topic's end.
 */
import type { Pool } from 'pg';
import { createTopics } from '../../helpers/kafka';
import { BlackholeProxy } from '../../helpers/blackhole-proxy';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, targetPgUrl, uniqueName } from '../../helpers/pg';
import { cdcManifest, produceMany, startInProcess } from '../../helpers/pipeline';
import { EventFactory, ordersTable } from '../../fixtures/factory';
import { churn, expectedOrders, httpGet, metricSum, ORDERS_TEXT, ordersRows, scrape, sleep, until } from '../ops/support';
import { highWatermarks, storedOffsets, storedTotal } from '../ops/group';

/** The protocol's CopyData message type ('d'). */
const COPY_DATA = 0x64;
const STATEMENT_TIMEOUT_MS = 2_000;
/** src/pg/pool.ts: the client gives up CLIENT_GRACE_MS (5 s) after statement_timeout. */
const DEADLINE_MS = STATEMENT_TIMEOUT_MS + 5_000;
/** Longer than the deadline, so the worker must notice the partition while it lasts. */
const PARTITION_MS = DEADLINE_MS + 5_000;

interface LogLine {
  level: string;
  /** ms since the epoch (the log line has it as an ISO string). */
  time: number;
  msg: string;
  operation?: string;
  err?: { message?: string };
}

function lines(text: string): LogLine[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const o = JSON.parse(l) as Omit<LogLine, 'time'> & { time: string };
      return { ...o, time: Date.parse(o.time) };
    });
}

describe('a dropped-packet partition to PostgreSQL', () => {
  let pool: Pool;
  let schema: string;
  beforeAll(async () => {
    pool = newPool();
    schema = await createTestSchema(pool, 'fltpart');
  });
  afterAll(async () => {
    await dropTestSchemaUnlessFailed(pool, schema);
    await pool.end();
  });

  it('is detected within statement_timeout_ms + 5 s, retried on new connections, and the target ends exact', async () => {
    const prefix = uniqueName('fltpart');
    const groupId = `${prefix}_g`;
    const f = new EventFactory(ordersTable(prefix));
    await createTopics([f.topic], 2);
    const { state, messages } = churn(f, 12_000, 1_500, 2);

    const pg = new URL(targetPgUrl());
    const proxy = await BlackholeProxy.start(pg.hostname, Number(pg.port || 5432));
    const via = new URL(targetPgUrl());
    via.hostname = '127.0.0.1';
    via.port = String(proxy.port);
    via.searchParams.set('sslmode', 'disable');
    via.searchParams.set('connect_timeout', '2');
    const m = JSON.parse(cdcManifest({
      name: prefix, prefix, groupId, dest: `${schema}.orders`, strategy: 'merge', include: 'public.orders',
      options: {
        statement_timeout_ms: STATEMENT_TIMEOUT_MS,
        lock_timeout_ms: 1_000,
        'batch.max_rows': 400,
        'errors.retry.initial_ms': 200,
        'errors.retry.max_ms': 1_000,
      },
    }));
    m.spec.sink.address = via.toString();
    const svc = await startInProcess(JSON.stringify(m));
    let blackholedAt = 0;
    let healedAt = 0;
    let dropped = 0;
    try {
      // The workload keeps coming: a slice every 250 ms, in order, before, during and after the partition.
      const slices = 48;
      const per = Math.ceil(messages.length / slices);
      const producing = (async () => {
        for (let i = 0; i < slices; i++) {
          await produceMany(f.topic, messages.slice(i * per, (i + 1) * per));
          await sleep(250);
        }
      })();

      // Once flushes are landing, the partition starts in the middle of one: right after the
      // worker sent COPY data (a CopyData message, 'd') into the staging table.
      await until('the first flushes to commit', async () => ((await storedTotal(pool, schema, groupId)) > 1_000 ? true : undefined), 60_000, 50);
      let noCopy: NodeJS.Timeout | undefined;
      await Promise.race([
        proxy.blackholeAfter((chunk) => chunk[0] === COPY_DATA),
        new Promise<never>((_, reject) => (noCopy = setTimeout(() => reject(new Error('no COPY data went through the proxy within 30 s')), 30_000))),
      ]);
      clearTimeout(noCopy);
      blackholedAt = Date.now();
      // While it lasts, once the worker noticed: not ready (PostgreSQL missing), alive, retries counted.
      await until('the worker to notice the partition', async () => (svc.logs().includes('"msg":"retrying apply"') ? true : undefined), DEADLINE_MS + 5_000, 50);
      expect({ stillPartitioned: Date.now() - blackholedAt < PARTITION_MS }).toEqual({ stillPartitioned: true });
      const ready = await httpGet(svc.httpPort, '/readyz');
      expect({ readyz: ready.status, postgresqlMissing: (JSON.parse(ready.body).missing as string[]).includes('postgresql') }).toEqual({ readyz: 503, postgresqlMissing: true });
      expect({ healthz: (await httpGet(svc.httpPort, '/healthz')).status }).toEqual({ healthz: 200 });
      expect({ applyRetriesCounted: metricSum(await scrape(svc.httpPort), 'nilus_retries_total', { operation: 'apply' }) > 0 }).toEqual({ applyRetriesCounted: true });
      await sleep(PARTITION_MS - (Date.now() - blackholedAt));
      dropped = proxy.dropped;
      const storedAtHeal = await storedTotal(pool, schema, groupId);
      healedAt = Date.now();
      proxy.heal();
      // Recovery: the first flush committed after the partition. The retry in progress at heal()
      // ends within connect_timeout (2 s), the next one starts within errors.retry.max_ms (1 s).
      await until('a flush to commit after the partition', async () => ((await storedTotal(pool, schema, groupId)) > storedAtHeal ? true : undefined), 30_000, 50);
      const recoveredAt = Date.now();
      await producing;

      await until('every event to be applied after the partition', async () =>
        ((await storedTotal(pool, schema, groupId)) === messages.length ? true : undefined), 60_000);
      const caughtUpAt = Date.now();

      // Bytes were really dropped (a statement was caught by the partition), not merely delayed.
      expect({ bytesDropped: dropped > 0 }).toEqual({ bytesDropped: true });

      const log = lines(svc.logs());
      const retries = log.filter((l) => l.msg === 'retrying apply' && l.time >= blackholedAt);
      expect({ applyRetried: retries.length > 0 }).toEqual({ applyRetried: true });
      const detectedAt = retries[0].time;
      const detectionMs = detectedAt - blackholedAt;
      // The first failure is the client's deadline on the statement caught by the partition (or on
      // the first statement sent into it), never the kernel's retransmission limit.
      expect(retries[0].err?.message).toMatch(/Query read timeout|Connection terminated/);
      console.log(
        `partition: detected ${detectionMs} ms after the blackhole (bound ${DEADLINE_MS} ms), first error "${retries[0].err?.message}", ` +
          `${retries.length} retries logged, first commit ${recoveredAt - healedAt} ms after heal, caught up ${caughtUpAt - healedAt} ms after heal, ${dropped} bytes dropped`,
      );
      // The COPY caught by the partition started before it: the deadline, counted from the
      // statement's start, passes at most DEADLINE_MS after the partition began (+ scheduling slack).
      expect({ detectedWithinDeadline: detectionMs <= DEADLINE_MS + 500 }).toEqual({ detectedWithinDeadline: true });
      expect({ detectedDuringPartition: detectedAt < healedAt }).toEqual({ detectedDuringPartition: true });
      expect({ recoveredWithin5s: recoveredAt - healedAt <= 5_000 }).toEqual({ recoveredWithin5s: true });
      // No fatal error: the pipeline is still running and caught up.
      expect(log.filter((l) => l.level === 'error' || l.level === 'fatal').map((l) => l.msg)).toEqual([]);
    } finally {
      const code = await svc.stop();
      await proxy.close();
      expect({ exitCode: code }).toEqual({ exitCode: 0 });
    }

    // Exact: every live key at its last version, nothing deleted back, nothing doubled.
    expect(ordersRows((await pool.query(ORDERS_TEXT(schema))).rows)).toEqual(expectedOrders(state));
    expect(await storedOffsets(pool, schema, groupId, f.topic)).toEqual(await highWatermarks(f.topic));
  }, 120_000);
});
