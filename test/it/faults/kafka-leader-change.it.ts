/**
 * Partition leaders change under a running stream: a private three-broker KRaft cluster
 * (test/it/faults/support/private-kafka.ts), the topic and the group's offsets replicated three
 * times (min.insync.replicas 2). A merge and an append pipeline apply a workload that keeps
 * arriving (an idempotent producer on the internal listeners); mid-stream the leader of partition
 * 0 is killed (SIGKILL: a crash, its connections reset), the worker must follow the new leader;
 * the killed broker starts again (a broker restart); then the leader of partition 1 is stopped
 * with TERM (a controlled shutdown that hands leadership over) and the worker follows again.
 *
 * What must happen: each time, the stored offset of the partition that lost its leader moves on
 * within a bound (the cluster fences a dead broker after broker.session.timeout.ms, 4 s here; the
 * worker re-reads metadata on its next fetch error), nothing stops, and every event is applied
 * exactly once: merge equals the workload's final state, append holds every Kafka position once,
 * the stored offsets equal the topic's end.
 *
 * Slow: about 2.5 minutes (three broker JVMs start in ~35 s, a restart takes ~10 s).
 */
import type { Pool } from 'pg';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, uniqueName } from '../../helpers/pg';
import { httpGet, until } from '../ops/support';
import { storedOffsets } from '../ops/group';
import { PrivateKafka } from './support/private-kafka';
import {
  appendPositions, expectedMerge, highWatermarksOf, mergeRows, ordersWorkload, produceSlowly, producedPerPartition, startPipeline, storedTotal,
} from './support/kafka-workload';

/** A partition whose leader was stopped advances in both pipelines within this long. */
const FOLLOW_BOUND_MS = 30_000;

describe('a partition leader change mid-stream', () => {
  let pool: Pool;
  let schema: string;
  let kafka: PrivateKafka | undefined;
  beforeAll(async () => {
    pool = newPool();
    schema = await createTestSchema(pool, 'fltklead');
    kafka = await PrivateKafka.start({ nodes: 3 });
  }, 240_000);
  afterAll(async () => {
    await kafka?.destroy();
    await dropTestSchemaUnlessFailed(pool, schema);
    await pool.end();
  });

  it('the worker follows new leaders after a SIGKILL and a TERM; merge and append exact', async () => {
    const k = kafka!;
    const prefix = uniqueName('fltklead');
    const w = ordersWorkload(prefix, 16_000, 2_000, 2);
    await k.createTopic(w.topic, 2);
    const common = { prefix, options: { 'batch.max_rows': 400 } };
    const groups = [`${prefix}_m`, `${prefix}_a`];
    const merge = await startPipeline(k, { ...common, name: groups[0]!, groupId: groups[0]!, dest: `${schema}.orders_m`, strategy: 'merge' });
    const append = await startPipeline(k, { ...common, name: groups[1]!, groupId: groups[1]!, dest: `${schema}.orders_a`, strategy: 'append' });
    const stored = async (partition: number): Promise<number[]> =>
      Promise.all(groups.map(async (g) => (await storedOffsets(pool, schema, g, w.topic))[partition] ?? 0));
    const produced = producedPerPartition(w);

    /** Stops the leader of `partition` with `signal`; returns ms until both pipelines stored past it, and the leader moves. */
    const stopLeaderOf = async (partition: number, signal: NodeJS.Signals) => {
      const before = await k.leaders(w.topic);
      const leader = before[partition]!;
      const at = await stored(partition);
      const stoppedAt = Date.now();
      await k.stopNode(leader, signal);
      const moved = await until(`a new leader of partition ${partition}`, async () => {
        const l = await k.leaders(w.topic);
        return l[partition] !== leader && l[partition] !== -1 ? Date.now() : undefined;
      }, 60_000, 200);
      const followed = await until(`both pipelines to apply partition ${partition} past the stop`, async () => {
        const now = await stored(partition);
        return now.every((n, i) => n > at[i]! || n === produced[partition]) ? Date.now() : undefined;
      }, 90_000, 100);
      return { leader, signal, newLeaderMs: moved - stoppedAt, followMs: followed - stoppedAt, before };
    };

    const steps: string[] = [];
    try {
      const producing = produceSlowly(k, w, 90, 500);
      await until('the first flushes to commit', async () =>
        ((await storedTotal(pool, schema, groups[0]!)) > 1_000 && (await storedTotal(pool, schema, groups[1]!)) > 1_000 ? true : undefined), 90_000, 50);

      const killed = await stopLeaderOf(0, 'SIGKILL');
      steps.push(`SIGKILL of broker ${killed.leader} (leaders ${JSON.stringify(killed.before)}): new leader after ${killed.newLeaderMs} ms, both pipelines past it after ${killed.followMs} ms`);
      const restartAt = Date.now();
      await k.startNode(killed.leader);
      steps.push(`broker ${killed.leader} restarted in ${Date.now() - restartAt} ms`);
      expect({ producingStill: (await storedTotal(pool, schema, groups[0]!)) < w.messages.length }).toEqual({ producingStill: true });

      const termed = await stopLeaderOf(1, 'SIGTERM');
      steps.push(`TERM of broker ${termed.leader} (leaders ${JSON.stringify(termed.before)}): new leader after ${termed.newLeaderMs} ms, both pipelines past it after ${termed.followMs} ms`);

      await producing;
      const total = w.messages.length;
      await until('every event to be applied', async () =>
        ((await storedTotal(pool, schema, groups[0]!)) === total && (await storedTotal(pool, schema, groups[1]!)) === total ? true : undefined), 120_000);
      for (const svc of [merge, append]) {
        await until('ready', async () => ((await httpGet(svc.httpPort, '/readyz')).status === 200 ? true : undefined), 30_000);
        expect({ alive: (await httpGet(svc.httpPort, '/healthz')).status }).toEqual({ alive: 200 });
      }
      // What an operator reads in the log through it: each distinct warning or error, counted.
      const said = new Map<string, number>();
      for (const l of (merge.logs() + append.logs()).split('\n').filter((x) => x.trim() !== '')) {
        const o = JSON.parse(l) as { level: string; msg: string };
        const key = `${o.level} ${o.msg.slice(0, 90)}`;
        said.set(key, (said.get(key) ?? 0) + 1);
      }
      console.log(`Kafka leader change:\n  ${steps.join('\n  ')}\nworker log lines:\n  ${[...said].map(([m, n]) => `${n}× ${m}`).join('\n  ')}`);
      expect([...said.keys()].filter((m) => m.startsWith('fatal'))).toEqual([]);
      expect({ killFollowedWithinBound: killed.followMs <= FOLLOW_BOUND_MS, termFollowedWithinBound: termed.followMs <= FOLLOW_BOUND_MS })
        .toEqual({ killFollowedWithinBound: true, termFollowedWithinBound: true });
    } finally {
      const codes = [await merge.stop(), await append.stop()];
      expect({ exitCodes: codes }).toEqual({ exitCodes: [0, 0] });
    }

    const ends = await highWatermarksOf(k, w.topic);
    expect(ends).toEqual(produced);
    expect(await mergeRows(pool, schema, 'orders_m')).toEqual(expectedMerge(w));
    expect(await storedOffsets(pool, schema, groups[0]!, w.topic)).toEqual(ends);
    const a = await appendPositions(pool, schema, 'orders_a');
    expect({ rows: a.rows, duplicates: a.duplicates }).toEqual({ rows: w.positions.length, duplicates: 0 });
    expect(a.positions).toEqual(w.positions);
    expect(await storedOffsets(pool, schema, groups[1]!, w.topic)).toEqual(ends);
  }, 400_000);
});
