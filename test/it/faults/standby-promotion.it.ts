/**
 * A promoted standby mid-stream. The target is a private PostgreSQL 15 primary with a streaming
 * standby (asynchronous, test/it/pg/standby.ts); the workers' address lists both,
 * `host=…,… port=<primary>,<standby> target_session_attrs=read-write`. A workload keeps arriving in
 * Kafka for a merge and an append pipeline. Mid-stream the standby's WAL stream is cut (as a lagging
 * standby's would be), a few more flushes commit on the primary only, then the primary is stopped
 * (immediate) and, a moment later, the standby promoted.
 *
 * What must happen: while no server is acceptable (primary gone, standby read-only) flushes are
 * retried and the error names both hosts and why; once promoted, the workers connect to it, find
 * their stored offsets there behind the ones they had committed on the lost primary (the flush's
 * compare-and-set fails: fenced), re-read from the offsets stored in the new primary and apply the
 * lost commits again from Kafka. End: merge target equal to the workload's final state, append
 * target one row per event with no duplicate and no gap by Kafka position, stored offsets at the
 * topic's end. The shared stack's PostgreSQL is never touched.
 */
import pg from 'pg';
import { createTopics } from '../../helpers/kafka';
import { uniqueName } from '../../helpers/pg';
import { cdcManifest, produceMany, startInProcess } from '../../helpers/pipeline';
import { EventFactory, ordersTable } from '../../fixtures/factory';
import { churn, expectedOrders, httpGet, metricSum, ORDERS_TEXT, ordersRows, scrape, sleep, until } from '../ops/support';
import { highWatermarks, storedOffsets, storedTotal } from '../ops/group';
import { startCluster, type Cluster } from '../pg/clusters';
import { REPLICATION_HBA, startStandby, type Standby } from '../pg/standby';

/** How long the primary stays dead before the standby is promoted (an operator's or a tool's delay). */
const PROMOTE_AFTER_MS = 3_000;

const poolOf = (c: Cluster): pg.Pool => new pg.Pool({ host: c.dir, port: c.port, user: 'postgres', database: 'postgres', max: 2 });

describe('a promoted standby', () => {
  let primary: Cluster;
  let standby: Standby;
  const schema = uniqueName('fltstandby');
  beforeAll(async () => {
    primary = await startCluster({ hba: [REPLICATION_HBA, 'host all all 127.0.0.1/32 trust'] });
    await primary.sql(`CREATE SCHEMA "${schema}"`);
    standby = await startStandby(primary);
  }, 120_000);
  afterAll(() => {
    for (const c of [standby, primary]) {
      try {
        c?.stop();
      } catch {
        // halted by the test; its directory is removed all the same
      }
    }
  });

  it('the workers follow it, re-apply the commits async replication lost, and end exact (merge and append)', async () => {
    const prefix = uniqueName('fltstandby');
    const f = new EventFactory(ordersTable(prefix));
    await createTopics([f.topic], 2);
    const { state, messages, events } = churn(f, 12_000, 1_500, 2);
    const address = `host=127.0.0.1,127.0.0.1 port=${primary.port},${standby.port} dbname=postgres user=postgres sslmode=disable connect_timeout=2 target_session_attrs=read-write`;
    const start = (kind: 'merge' | 'append') => {
      const m = JSON.parse(cdcManifest({
        name: `${prefix}_${kind}`, prefix, groupId: `${prefix}_${kind}`, dest: `${schema}.orders_${kind}`, strategy: kind, include: 'public.orders',
        options: { statement_timeout_ms: 5_000, lock_timeout_ms: 1_000, 'batch.max_rows': 400, 'errors.retry.initial_ms': 200, 'errors.retry.max_ms': 1_000 },
      }));
      m.spec.sink.address = address;
      return startInProcess(JSON.stringify(m));
    };
    const groups = { merge: `${prefix}_merge`, append: `${prefix}_append` } as const;
    const merge = await start('merge');
    const append = await start('append');
    const onPrimary = poolOf(primary);
    const onStandby = poolOf(standby);
    const total = async (p: pg.Pool) => (await storedTotal(p, schema, groups.merge)) + (await storedTotal(p, schema, groups.append));
    let stoppedAt = 0;
    let promotedAt = 0;
    let firstFlushAt = 0;
    let lost = { merge: 0, append: 0 };
    try {
      const slices = 48;
      const per = Math.ceil(messages.length / slices);
      const producing = (async () => {
        for (let i = 0; i < slices; i++) {
          await produceMany(f.topic, messages.slice(i * per, (i + 1) * per));
          await sleep(250);
        }
      })();

      await until('both workers to commit flushes on the primary', async () =>
        ((await storedTotal(onPrimary, schema, groups.merge)) > 1_000 && (await storedTotal(onPrimary, schema, groups.append)) > 1_000 ? true : undefined), 60_000, 50);
      expect({ standbyStreaming: await standby.streaming() }).toEqual({ standbyStreaming: true });
      // The standby stops receiving: what the primary commits from now on is lost at the failover.
      await standby.cutReplication();
      await until('the WAL stream to stop', async () => ((await standby.streaming()) ? undefined : true), 10_000, 50);
      const standbyHas = { merge: await storedTotal(onStandby, schema, groups.merge), append: await storedTotal(onStandby, schema, groups.append) };
      await until('more flushes to commit on the primary alone', async () =>
        ((await storedTotal(onPrimary, schema, groups.merge)) > standbyHas.merge + 400 && (await storedTotal(onPrimary, schema, groups.append)) > standbyHas.append + 400 ? true : undefined), 30_000, 50);
      const primaryHad = { merge: await storedTotal(onPrimary, schema, groups.merge), append: await storedTotal(onPrimary, schema, groups.append) };
      await onPrimary.end();
      primary.halt();
      stoppedAt = Date.now();
      lost = { merge: primaryHad.merge - standbyHas.merge, append: primaryHad.append - standbyHas.append };

      // Neither server is acceptable until the promotion: retried, not ready, each host named with why.
      await until('a retry naming both hosts', async () =>
        (merge.logs().includes(`port ${standby.port} is not acceptable: session is read-only`) ? true : undefined), PROMOTE_AFTER_MS + 10_000, 50);
      const ready = await httpGet(merge.httpPort, '/readyz');
      expect({ readyz: ready.status, postgresqlMissing: (JSON.parse(ready.body).missing as string[]).includes('postgresql'), healthz: (await httpGet(merge.httpPort, '/healthz')).status })
        .toEqual({ readyz: 503, postgresqlMissing: true, healthz: 200 });
      await sleep(Math.max(0, PROMOTE_AFTER_MS - (Date.now() - stoppedAt)));
      standby.promote();
      promotedAt = Date.now();

      const standbyStart = await total(onStandby);
      await until('a flush to commit on the new primary', async () => ((await total(onStandby)) > standbyStart ? true : undefined), 30_000, 20);
      firstFlushAt = Date.now();
      await producing;
      await until('every event to be applied on the new primary', async () =>
        ((await storedTotal(onStandby, schema, groups.merge)) === messages.length && (await storedTotal(onStandby, schema, groups.append)) === messages.length ? true : undefined), 90_000);

      for (const [kind, svc] of [['merge', merge], ['append', append]] as const) {
        const log = svc.logs();
        // The flush cut by the failover was retried, then fenced by the new primary's older offsets.
        expect({ kind, retried: metricSum(await scrape(svc.httpPort), 'nilus_retries_total', { operation: 'apply' }) > 0 }).toEqual({ kind, retried: true });
        expect({ kind, fenced: /stored offsets moved for .*re-reading from the stored offsets/.test(log) }).toEqual({ kind, fenced: true });
        const errors = log.split('\n').filter((l) => /"level":(50|60)|"level":"(error|fatal)"/.test(l));
        expect({ kind, errors }).toEqual({ kind, errors: [] });
      }
      console.log(
        `standby promotion: commits lost with the primary merge ${lost.merge} / append ${lost.append} events; ` +
          `first flush on the new primary ${firstFlushAt - stoppedAt} ms after the primary stopped, ${firstFlushAt - promotedAt} ms after the promotion (promoted ${promotedAt - stoppedAt} ms after the stop)`,
      );
      // Not vacuous: commits were lost with the primary, so the re-application path ran.
      expect({ lostMerge: lost.merge > 0, lostAppend: lost.append > 0 }).toEqual({ lostMerge: true, lostAppend: true });
    } finally {
      expect({ merge: await merge.stop(), append: await append.stop() }).toEqual({ merge: 0, append: 0 });
    }

    expect(ordersRows((await onStandby.query(ORDERS_TEXT(schema, 'orders_merge'))).rows)).toEqual(expectedOrders(state));
    // Append: one row per event; no duplicate and no gap by Kafka position.
    const expected = new Set<string>();
    const next: Record<number, number> = {};
    for (const m of messages) {
      const off = next[m.partition] ?? 0;
      next[m.partition] = off + 1;
      if (m.value !== null) expected.add(`${m.partition}:${off}`);
    }
    const got = (await onStandby.query<{ p: number; o: string }>(`SELECT _nilus_partition AS p, _nilus_offset::text AS o FROM "${schema}".orders_append`)).rows.map((r) => `${r.p}:${r.o}`);
    const distinct = new Set(got);
    expect({ rows: got.length, duplicates: got.length - distinct.size, gaps: [...expected].filter((k) => !distinct.has(k)).length }).toEqual({ rows: events, duplicates: 0, gaps: 0 });
    const end = await highWatermarks(f.topic);
    expect(await storedOffsets(onStandby, schema, groups.merge, f.topic)).toEqual(end);
    expect(await storedOffsets(onStandby, schema, groups.append, f.topic)).toEqual(end);
    await onStandby.end();
  }, 240_000);
});
