/**
 * Kafka's retention must never skip events silently (worker processes, real Kafka and PostgreSQL).
 * Each case runs a merge pipeline over its own one-partition topic of distinct creates (offset n
 * holds id n + 1), so the target's ids say exactly which offsets were applied:
 *
 * - retention past the stored offset while the worker is down (deleteRecords advances the log
 *   start), then a restart: with on_offset_gap stop (the default) the worker exits 1 naming topic,
 *   partition, stored offset, log start and the missing range, and the target holds exactly what
 *   was applied before; with skip it goes on from the log start, counts the gap in
 *   nilus_offset_gaps_total / nilus_offset_gap_events_total, and the target gets the events after it;
 * - the topic deleted and re-created (the stored offset above the new high watermark): stop;
 * - retention passing a partition's position while it is paused mid-stream (a flush held by a lock),
 *   where kafkajs would reset the position to the earliest offset by itself: stop, with everything
 *   taken before the gap applied and nothing after it.
 */
import type { Pool, PoolClient } from 'pg';
import { createTopics, testKafka } from '../../helpers/kafka';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, uniqueName } from '../../helpers/pg';
import { cdcManifest, produceMany } from '../../helpers/pipeline';
import { EventFactory, orderRow, ordersTable } from '../../fixtures/factory';
import { metricSum, scrape, sleep, until } from '../ops/support';
import { stopAll, storedOffsets, untilWhileRunning, withWorkerOutput } from '../ops/group';
import { runWorker, workerPort, type RunningWorker } from '../ops/worker';

/** Creates of ids [from, to), in order, all on partition 0. */
function creates(f: EventFactory, from: number, to: number): { key: string | null; value: string | null; partition: number }[] {
  const out: { key: string | null; value: string | null; partition: number }[] = [];
  for (let id = from; id < to; id++) for (const m of f.create(orderRow(id, 0))) out.push({ ...m, partition: 0 });
  return out;
}

/** ids [from, to). */
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

async function deleteRecordsBefore(topic: string, offset: number): Promise<void> {
  const admin = testKafka('nilus-test-gap').admin();
  await admin.connect();
  try {
    await admin.fetchTopicMetadata({ topics: [topic] }); // deleteTopicRecords finds the leaders in the loaded metadata
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: String(offset) }] });
  } finally {
    await admin.disconnect();
  }
}

async function bounds(topic: string): Promise<{ low: number; high: number }> {
  const admin = testKafka('nilus-test-gap').admin();
  await admin.connect();
  try {
    const p = (await admin.fetchTopicOffsets(topic)).find((x) => x.partition === 0)!;
    return { low: Number(p.low), high: Number(p.high) };
  } finally {
    await admin.disconnect();
  }
}

/** Deletes the topic and creates it again, empty (the deletion completes in the background). */
async function recreateTopic(topic: string): Promise<void> {
  const admin = testKafka('nilus-test-gap').admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: [topic], timeout: 30_000 });
    await until(`topic ${topic} to be re-created`, async () => {
      try {
        return (await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1, replicationFactor: 1 }] })) ? true : undefined;
      } catch (err) {
        // still being deleted
        if (/already exists|marked for deletion/i.test(String(err))) return undefined;
        throw err;
      }
    }, 60_000, 500);
  } finally {
    await admin.disconnect();
  }
}

/** The worker's error/fatal lines. */
const errorLines = (w: RunningWorker): string[] => w.output().split('\n').filter((l) => /"level":("error"|"fatal"|50|60)/.test(l));

async function exitCode(w: RunningWorker, within: number): Promise<number | string> {
  return Promise.race([w.code, sleep(within).then(() => `still running ${within / 1000} s after start`)]);
}

describe('on_offset_gap: offsets Kafka no longer holds', () => {
  let pool: Pool;
  let schema: string;
  beforeAll(async () => {
    pool = newPool();
    schema = await createTestSchema(pool, 'gap');
  });
  afterAll(async () => {
    await dropTestSchemaUnlessFailed(pool, schema);
    await pool.end();
  });

  const ids = async (table: string): Promise<number[]> =>
    (await pool.query<{ id: string }>(`SELECT o.id::text AS id FROM "${schema}"."${table}" AS o ORDER BY o.id`)).rows.map((r) => Number(r.id));

  /** One pipeline on a fresh topic: its manifest, and a first life applying ids [0, n) streamed in slices while it runs. */
  async function firstLife(name: string, table: string, n: number, options: Record<string, unknown> = {}) {
    const prefix = uniqueName(name);
    const groupId = `${prefix}_g`;
    const f = new EventFactory(ordersTable(prefix));
    await createTopics([f.topic], 1);
    const manifest = cdcManifest({
      name: prefix, prefix, groupId, dest: `${schema}.${table}`, strategy: 'merge', include: 'public.orders',
      options: { log_level: 'info', 'batch.max_rows': 50, ...options },
    });
    const w = runWorker(manifest);
    await withWorkerOutput(`${prefix} (first life)`, () => [w], async () => {
      for (let from = 0; from < n; from += n / 4) {
        await produceMany(f.topic, creates(f, from, from + n / 4));
        await sleep(300);
      }
      await untilWhileRunning([w], `offset ${n} stored`, async () => ((await storedOffsets(pool, schema, groupId, f.topic))[0] === n ? true : undefined), 90_000);
      expect({ exitCodes: await stopAll([w]) }).toEqual({ exitCodes: [0] });
    });
    expect(await ids(table)).toEqual(range(0, n));
    return { prefix, groupId, f, manifest };
  }

  it('stop (default): retention deleted past the stored offset while down; the restart exits 1 naming the gap, the target keeps exactly what was applied', async () => {
    const { prefix, groupId, f, manifest } = await firstLife('gapstop', 'stopped', 200);
    await produceMany(f.topic, creates(f, 200, 300)); // offsets 200..299, never applied
    await deleteRecordsBefore(f.topic, 250);
    expect(await bounds(f.topic)).toEqual({ low: 250, high: 300 });

    const w = runWorker(manifest);
    await withWorkerOutput(prefix, () => [w], async () => {
      expect(await exitCode(w, 90_000)).toBe(1);
      const naming = errorLines(w).filter((l) =>
        l.includes(`topic ${f.topic}, partition 0`) && l.includes('the offset stored in PostgreSQL is 200') &&
        l.includes("the partition's log starts at 250") && l.includes('[200, 250) (50 offsets)') && l.includes('on_offset_gap: skip'));
      if (naming.length === 0) throw new Error(`no error line names the gap; error lines:\n${errorLines(w).join('\n') || '(none)'}`);
      expect(await storedOffsets(pool, schema, groupId, f.topic)).toEqual({ 0: 200 });
      expect(await ids('stopped')).toEqual(range(0, 200));
    });
  }, 240_000);

  it('skip: the restart warns, counts the gap and its offsets, goes on from the log start and keeps going', async () => {
    const { prefix, groupId, f, manifest } = await firstLife('gapskip', 'skipped', 200, { on_offset_gap: 'skip' });
    await produceMany(f.topic, creates(f, 200, 300));
    await deleteRecordsBefore(f.topic, 250);

    const w = runWorker(manifest);
    await withWorkerOutput(prefix, () => [w], async () => {
      const port = await workerPort(w);
      await untilWhileRunning([w], 'offset 300 stored', async () => ((await storedOffsets(pool, schema, groupId, f.topic))[0] === 300 ? true : undefined), 90_000);
      expect(await ids('skipped')).toEqual([...range(0, 200), ...range(250, 300)]);
      const m = await scrape(port);
      expect(metricSum(m, 'nilus_offset_gaps_total', { topic: f.topic, partition: '0' })).toBe(1);
      expect(metricSum(m, 'nilus_offset_gap_events_total', { topic: f.topic, partition: '0' })).toBe(50);
      const warned = w.output().split('\n').filter((l) => /"level":("warn"|40)/.test(l) && l.includes('[200, 250) (50 offsets)') && l.includes('going on from offset 250'));
      expect({ warnLines: warned.length }).toEqual({ warnLines: 1 });
      // and it goes on reading
      await produceMany(f.topic, creates(f, 300, 320));
      await untilWhileRunning([w], 'offset 320 stored', async () => ((await storedOffsets(pool, schema, groupId, f.topic))[0] === 320 ? true : undefined), 60_000);
      expect(await ids('skipped')).toEqual([...range(0, 200), ...range(250, 320)]);
      expect({ exitCodes: await stopAll([w]) }).toEqual({ exitCodes: [0] });
    });
  }, 240_000);

  it('stop: the topic deleted and re-created under the pipeline (stored offset above the new high watermark)', async () => {
    const { prefix, groupId, f, manifest } = await firstLife('gaprecreated', 'recreated', 40);
    await recreateTopic(f.topic);
    await produceMany(f.topic, creates(f, 1000, 1010)); // the new life: offsets 0..9
    expect(await bounds(f.topic)).toEqual({ low: 0, high: 10 });

    const w = runWorker(manifest);
    await withWorkerOutput(prefix, () => [w], async () => {
      expect(await exitCode(w, 90_000)).toBe(1);
      const naming = errorLines(w).filter((l) =>
        l.includes(`topic ${f.topic}, partition 0`) && l.includes('the offset stored in PostgreSQL is 40') &&
        l.includes("the partition's high watermark is 10") && l.includes('re-created'));
      if (naming.length === 0) throw new Error(`no error line names the re-created topic; error lines:\n${errorLines(w).join('\n') || '(none)'}`);
      expect(await storedOffsets(pool, schema, groupId, f.topic)).toEqual({ 0: 40 });
      expect(await ids('recreated')).toEqual(range(0, 40));
    });
  }, 240_000);

  it('stop mid-stream: retention passes a partition paused behind a held flush; kafkajs would reset it silently, the worker stops at the gap', async () => {
    const { prefix, groupId, f, manifest } = await firstLife('gapmid', 'midstream', 100, { 'memory_budget_bytes': 1_048_576 });
    const total = 5_000;
    const w = runWorker(manifest);
    let locker: PoolClient | undefined;
    await withWorkerOutput(prefix, () => [w], async () => {
      try {
        const port = await workerPort(w);
        await untilWhileRunning([w], 'the partition assigned', async () => (/"msg":"partitions assigned"/.test(w.output()) ? true : undefined), 60_000);
        // Every flush waits behind this lock: the worker takes what its budget allows, then pauses.
        locker = await pool.connect();
        await locker.query('BEGIN');
        await locker.query(`LOCK TABLE "${schema}"."midstream" IN ACCESS EXCLUSIVE MODE`);
        await produceMany(f.topic, creates(f, 100, total));
        const taken = await untilWhileRunning([w], 'the worker to take records and pause', async () => {
          const a = metricSum(await scrape(port), 'nilus_events_consumed_total');
          await sleep(2_000);
          const b = metricSum(await scrape(port), 'nilus_events_consumed_total');
          return a > 0 && a === b ? b : undefined; // stopped taking: paused
        }, 60_000);
        const deleteTo = total - 500;
        // this life began at offset 100: the partition is paused at 100 + taken, well before the records deleted
        expect({ pausedBeforeTheGap: 100 + taken < deleteTo - 100 }).toEqual({ pausedBeforeTheGap: true });
        await deleteRecordsBefore(f.topic, deleteTo);
        await locker.query('ROLLBACK');
        locker.release();
        locker = undefined;

        expect(await exitCode(w, 90_000)).toBe(1);
        const stored = (await storedOffsets(pool, schema, groupId, f.topic))[0]!;
        // Everything taken before the gap was applied and stored; nothing at or past it.
        expect(stored).toBeGreaterThan(100);
        expect(stored).toBeLessThan(deleteTo);
        expect(await ids('midstream')).toEqual(range(0, stored));
        const naming = errorLines(w).filter((l) =>
          l.includes(`topic ${f.topic}, partition 0`) && l.includes(`the offset stored in PostgreSQL is ${stored}`) &&
          l.includes(`the partition's log starts at ${deleteTo}`) && l.includes(`[${stored}, ${deleteTo})`));
        if (naming.length === 0) throw new Error(`no error line names the gap [${stored}, ${deleteTo}); error lines:\n${errorLines(w).join('\n') || '(none)'}`);
      } finally {
        if (locker) {
          await locker.query('ROLLBACK').catch(() => undefined);
          locker.release();
        }
        if (w.child.exitCode === null) await stopAll([w]);
      }
    });
  }, 300_000);
});
