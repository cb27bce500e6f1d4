/**
 * A PostgreSQL stall longer than the session timeout never costs the group membership: two worker
 * processes in one group on a 4-partition topic, a steady stream of events; mid-stream another
 * session takes `LOCK TABLE <target> IN ACCESS EXCLUSIVE MODE` in an open transaction, holds it
 * for 120 s (12 × session.timeout.ms) and rolls back. Every flush waits on the lock meanwhile.
 * The new core pauses fetching and keeps heartbeating, so: neither worker exits, neither is
 * evicted or rejoins (no "partitions assigned" after the stall began, no unknown-member error,
 * no fenced re-read), and once the lock is gone the target is exactly the expected state.
 *
 * The stack is shared, so PostgreSQL is never stopped: the lock is the stall.
 */
import type { Pool, PoolClient } from 'pg';
import { createTopics } from '../../helpers/kafka';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, uniqueName } from '../../helpers/pg';
import { cdcManifest, produceMany } from '../../helpers/pipeline';
import { EventFactory, ordersTable } from '../../fixtures/factory';
import { churn, expectedOrders, ORDERS_TEXT, ordersRows, sleep, until } from './support';
import { expectRunning, stopAll, storedTotal, untilWhileRunning, withWorkerOutput } from './group';
import { runWorker, type RunningWorker } from './worker';

const SESSION_TIMEOUT_MS = 10_000;
const LOCK_HOLD_MS = 120_000;
const SLICES = 70; // one slice every SLICE_EVERY_MS: the stream runs before, through and after the stall
const SLICE_EVERY_MS = 2_000;
const LOCK_AT_SLICE = 5;

/** What in a worker's output means it lost its membership or rejoined. */
const EVICTION = [
  /"msg":"partitions assigned"/,
  /not aware of this member/i,
  /UNKNOWN_MEMBER_ID/,
  /re-joining/i, // kafkajs: "… re-joining the group", "The group is rebalancing, re-joining"
  /re-reading from the (offsets stored in PostgreSQL|stored offsets)/, // a fenced flush: another member took the partitions
  /another consumer applied them/,
  /fenced/i,
];

describe('PostgreSQL stall longer than the session timeout', () => {
  let pool: Pool;
  let schema: string;
  beforeAll(async () => {
    pool = newPool();
    schema = await createTestSchema(pool, 'opsstall');
  });
  afterAll(async () => {
    await dropTestSchemaUnlessFailed(pool, schema);
    await pool.end();
  });

  it(`a ${LOCK_HOLD_MS / 1000} s ACCESS EXCLUSIVE lock on the target: no exit, no eviction, no rejoin; target exact after`, async () => {
    const prefix = uniqueName('opsstall');
    const groupId = `${prefix}_g`;
    const f = new EventFactory(ordersTable(prefix));
    await createTopics([f.topic], 4);
    const { state, messages } = churn(f, 21_000, 3_000, 4);
    const target = `"${schema}"."orders"`;
    const manifest = cdcManifest({
      name: prefix, prefix, groupId, dest: `${schema}.orders`, strategy: 'merge', include: 'public.orders',
      options: { log_level: 'info', 'batch.max_rows': 1_000 },
      cdc: { 'session.timeout.ms': SESSION_TIMEOUT_MS, 'heartbeat.interval.ms': 1_000 },
    });
    const workers: RunningWorker[] = [runWorker(manifest), runWorker(manifest)];
    const per = Math.ceil(messages.length / SLICES);
    let locker: PoolClient | undefined;
    let codes: number[] = [];
    await withWorkerOutput(prefix, () => workers, async () => {
      try {
        await untilWhileRunning(workers, 'both workers to be assigned partitions', async () =>
          (workers.every((w) => /"msg":"partitions assigned"/.test(w.output())) ? true : undefined), 90_000);

        // The steady stream, in the background: one slice every SLICE_EVERY_MS.
        let sliceNo = 0;
        const producing = (async () => {
          for (; sliceNo < SLICES; sliceNo++) {
            const started = Date.now();
            await produceMany(f.topic, messages.slice(sliceNo * per, (sliceNo + 1) * per));
            await sleep(Math.max(0, SLICE_EVERY_MS - (Date.now() - started)));
          }
        })();
        producing.catch(() => undefined);

        // Mid-stream, once the target exists (auto-created by the first flush): the lock.
        await until(`slice ${LOCK_AT_SLICE} of the stream`, async () => (sliceNo >= LOCK_AT_SLICE ? true : undefined), 120_000);
        await untilWhileRunning(workers, 'the target to exist and hold rows', async () => ((await storedTotal(pool, schema, groupId)) > 0 ? true : undefined), 60_000);
        locker = await pool.connect();
        await locker.query('BEGIN');
        await locker.query(`LOCK TABLE ${target} IN ACCESS EXCLUSIVE MODE`);
        const lockedAt = Date.now();
        const mark = workers.map((w) => w.output().length);
        console.log(`stall: locked ${target} at slice ${sliceNo} of ${SLICES}, holding it ${LOCK_HOLD_MS} ms`);

        // The stall is real: flushes queue up behind the lock and nothing commits while it is held.
        await sleep(15_000);
        const waiting = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = '${target}'::regclass`);
        expect({ flushesWaitingOnTheLock: waiting.rows[0].n > 0 }).toEqual({ flushesWaitingOnTheLock: true });
        const duringStall = await storedTotal(pool, schema, groupId);
        while (Date.now() - lockedAt < LOCK_HOLD_MS - 5_000) {
          for (const [i, w] of workers.entries()) await expectRunning(w, `worker ${i + 1}`, `${Math.round((Date.now() - lockedAt) / 1000)} s into the stall`);
          await sleep(1_000);
        }
        expect({ storedOffsetsMovedDuringStall: (await storedTotal(pool, schema, groupId)) !== duringStall }).toEqual({ storedOffsetsMovedDuringStall: false });
        await sleep(Math.max(0, LOCK_HOLD_MS - (Date.now() - lockedAt)));
        await locker.query('ROLLBACK');
        locker.release();
        locker = undefined;
        console.log(`stall: released after ${Date.now() - lockedAt} ms`);

        await producing;
        await untilWhileRunning(workers, 'every event to be applied after the stall', async () =>
          ((await storedTotal(pool, schema, groupId)) === messages.length ? true : undefined), 120_000);
        // No eviction and no rejoin from the moment the lock was taken to the end.
        for (const [i, w] of workers.entries()) {
          const since = w.output().slice(mark[i]);
          const hits = since.split('\n').filter((l) => EVICTION.some((re) => re.test(l)));
          if (hits.length > 0) throw new Error(`worker ${i + 1} lost or renewed its group membership during the stall:\n${hits.join('\n').slice(0, 3000)}`);
        }
      } finally {
        if (locker) {
          await locker.query('ROLLBACK').catch(() => undefined);
          locker.release();
        }
        codes = await stopAll(workers);
      }
      expect({ exitCodes: codes }).toEqual({ exitCodes: [0, 0] });
      expect(ordersRows((await pool.query(ORDERS_TEXT(schema))).rows)).toEqual(expectedOrders(state));
    });
  }, 480_000);
});
