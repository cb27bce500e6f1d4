/**
 * A partition between the worker and the Kafka broker that drops packets (no RST, no FIN): a
 * private one-broker KRaft cluster (test/it/faults/support/private-kafka.ts) whose worker-facing
 * listener is reached through a BlackholeProxy. A merge and an append pipeline apply a workload
 * that keeps arriving (produced on the broker's internal listener, which the partition does not
 * touch); the proxy starts dropping right after a Fetch request went through, for longer than the
 * detection bound, then heals.
 *
 * What must happen: the fetch waiting on the silent connection fails within the bound
 * (KAFKA_REQUEST_TIMEOUT_MS of src/kafka/client.ts plus the fetch's own wait), the worker says so
 * (a warning naming the request and the broker; /readyz not ready, Kafka missing) and stays alive;
 * after heal the consumer reconnects and rejoins by itself within RECOVERY_BOUND_MS, and every
 * event is applied exactly once: merge equals the workload's final state, append holds every
 * Kafka position once (no duplicate, no gap), the stored offsets equal the topic's end.
 *
 * Slow: about 2 minutes (a broker JVM starts, the partition lasts 38 s, recovery up to 45 s).
 */
import type { Pool } from 'pg';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, uniqueName } from '../../helpers/pg';
import { httpGet, sleep, until } from '../ops/support';
import { storedOffsets } from '../ops/group';
import { PrivateKafka } from './support/private-kafka';
import {
  appendPositions, expectedMerge, highWatermarksOf, mergeRows, ordersWorkload, produceSlowly, producedPerPartition, startPipeline, storedTotal,
} from './support/kafka-workload';
import { KAFKA_REQUEST_TIMEOUT_MS } from '../../../src/kafka/client';

/** kafkajs' Fetch request (api key 1): the partition starts right after one went through. */
const FETCH_API_KEY = 1;
/** The fetch caught by the partition fails this long after it was sent (the worker's maxWaitTime is 200 ms, + 100 ms kafkajs adds). */
const DETECTION_BOUND_MS = KAFKA_REQUEST_TIMEOUT_MS + 300;
/** Longer than the bound, so the worker must notice the partition while it lasts. */
const PARTITION_MS = DETECTION_BOUND_MS + 8_000;

/**
 * After heal: a request sent into the partition on a connection kept open waits out its deadline
 * (its bytes are gone; the next byte on that connection is answered by a reset), then kafkajs
 * reconnects, rejoins and fetches: one request timeout plus 15 s for the rejoin and a flush.
 */
const RECOVERY_BOUND_MS = DETECTION_BOUND_MS + 15_000;

interface LogLine {
  level: string;
  time: number;
  msg: string;
  request?: string;
  broker?: string;
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

describe('a dropped-packet partition to the Kafka broker', () => {
  let pool: Pool;
  let schema: string;
  let kafka: PrivateKafka | undefined;
  beforeAll(async () => {
    pool = newPool();
    schema = await createTestSchema(pool, 'fltkpart');
    kafka = await PrivateKafka.start({ nodes: 1 });
  }, 180_000);
  afterAll(async () => {
    await kafka?.destroy();
    await dropTestSchemaUnlessFailed(pool, schema);
    await pool.end();
  });

  it('is detected within the request timeout, healed without help, merge and append exact', async () => {
    const k = kafka!;
    const prefix = uniqueName('fltkpart');
    const w = ordersWorkload(prefix, 12_000, 1_500, 2);
    await k.createTopic(w.topic, 2);
    const common = { prefix, options: { 'batch.max_rows': 400 } };
    const merge = await startPipeline(k, { ...common, name: `${prefix}_m`, groupId: `${prefix}_m`, dest: `${schema}.orders_m`, strategy: 'merge' });
    const append = await startPipeline(k, { ...common, name: `${prefix}_a`, groupId: `${prefix}_a`, dest: `${schema}.orders_a`, strategy: 'append' });
    const proxy = k.proxy(1);
    let blackholedAt = 0;
    let healedAt = 0;
    try {
      const producing = produceSlowly(k, w, 60, 500);
      await until('the first flushes to commit', async () =>
        ((await storedTotal(pool, schema, `${prefix}_m`)) > 1_000 && (await storedTotal(pool, schema, `${prefix}_a`)) > 1_000 ? true : undefined), 90_000, 50);
      let noFetch: NodeJS.Timeout | undefined;
      await Promise.race([
        proxy.blackholeAfter((chunk) => chunk.length >= 6 && chunk.readInt16BE(4) === FETCH_API_KEY),
        new Promise<never>((_, reject) => (noFetch = setTimeout(() => reject(new Error('no Fetch request went through the proxy within 30 s')), 30_000))),
      ]);
      clearTimeout(noFetch);
      blackholedAt = Date.now();
      const storedAtBlackhole = await storedTotal(pool, schema, `${prefix}_m`);

      // Noticed while it lasts: not ready with Kafka missing, still alive.
      const notReady = await until('the worker to notice the partition', async () => {
        const r = await httpGet(merge.httpPort, '/readyz');
        return r.status === 503 && (JSON.parse(r.body).missing as string[]).includes('kafka') ? Date.now() : undefined;
      }, DETECTION_BOUND_MS + 10_000, 100);
      expect({ stillPartitioned: Date.now() - blackholedAt < PARTITION_MS }).toEqual({ stillPartitioned: true });
      for (const svc of [merge, append]) expect({ healthz: (await httpGet(svc.httpPort, '/healthz')).status }).toEqual({ healthz: 200 });
      await sleep(PARTITION_MS - (Date.now() - blackholedAt));
      const dropped = proxy.dropped;
      // Nothing new arrived from Kafka while the broker was silent (what was buffered may flush).
      const storedAtHeal = await storedTotal(pool, schema, `${prefix}_m`);
      healedAt = Date.now();
      proxy.heal();
      await until('a flush to commit after the partition', async () => ((await storedTotal(pool, schema, `${prefix}_m`)) > storedAtHeal ? true : undefined), 60_000, 100);
      const recoveredAt = Date.now();
      await producing;
      const total = w.messages.length;
      await until('every event to be applied', async () =>
        ((await storedTotal(pool, schema, `${prefix}_m`)) === total && (await storedTotal(pool, schema, `${prefix}_a`)) === total ? true : undefined), 120_000);
      const caughtUpAt = Date.now();
      for (const svc of [merge, append]) {
        await until('ready again', async () => ((await httpGet(svc.httpPort, '/readyz')).status === 200 ? true : undefined), 30_000);
      }

      expect({ bytesDropped: dropped > 0 }).toEqual({ bytesDropped: true });
      // The warning names the request and the broker (the address the worker was given).
      const silent = lines(merge.logs()).filter((l) => l.msg.startsWith('a Kafka broker did not answer') && l.time >= blackholedAt);
      expect({ warned: silent.length > 0 }).toEqual({ warned: true });
      expect({ broker: silent[0]!.broker }).toEqual({ broker: k.externalBrokers[0] });
      const detectionMs = silent[0]!.time - blackholedAt;
      console.log(
        `Kafka partition: first request timeout ${detectionMs} ms after the blackhole (bound ${DETECTION_BOUND_MS} ms; request ${silent[0]!.request}), ` +
          `/readyz 503 after ${notReady - blackholedAt} ms; stored offsets ${storedAtBlackhole} at the blackhole, ${storedAtHeal} at heal; ` +
          `first commit ${recoveredAt - healedAt} ms after heal (bound ${RECOVERY_BOUND_MS} ms), caught up ${caughtUpAt - healedAt} ms after heal, ` +
          `${dropped} bytes dropped, ${proxy.resets} connections reset`,
      );
      expect({ detectedWithinBound: detectionMs <= DETECTION_BOUND_MS + 1_000 }).toEqual({ detectedWithinBound: true });
      expect({ notReadyWithinBound: notReady - blackholedAt <= DETECTION_BOUND_MS + 1_000 }).toEqual({ notReadyWithinBound: true });
      expect({ recoveredWithinBound: recoveredAt - healedAt <= RECOVERY_BOUND_MS }).toEqual({ recoveredWithinBound: true });
      for (const svc of [merge, append]) {
        expect(lines(svc.logs()).filter((l) => l.level === 'fatal').map((l) => l.msg)).toEqual([]);
        expect({ alive: (await httpGet(svc.httpPort, '/healthz')).status }).toEqual({ alive: 200 });
      }
    } finally {
      if (proxy.partitioned) proxy.heal();
      const codes = [await merge.stop(), await append.stop()];
      expect({ exitCodes: codes }).toEqual({ exitCodes: [0, 0] });
    }

    const ends = await highWatermarksOf(k, w.topic);
    expect(ends).toEqual(producedPerPartition(w));
    expect(await mergeRows(pool, schema, 'orders_m')).toEqual(expectedMerge(w));
    expect(await storedOffsets(pool, schema, `${prefix}_m`, w.topic)).toEqual(ends);
    const a = await appendPositions(pool, schema, 'orders_a');
    expect({ rows: a.rows, duplicates: a.duplicates }).toEqual({ rows: w.positions.length, duplicates: 0 });
    expect(a.positions).toEqual(w.positions);
    expect(await storedOffsets(pool, schema, `${prefix}_a`, w.topic)).toEqual(ends);
  }, 300_000);
});
