/**
 * A partition between the worker and Kafka Connect's REST API that drops packets (no RST): a
 * managed PostgreSQL source whose `connect_url` is a BlackholeProxy in front of the stack's Connect.
 * Connect itself, the connector and Kafka are untouched (only this worker's view of Connect is cut).
 * Rows keep changing in the source before, during and after the partition.
 *
 * What must happen: the status poll waiting on the silent connection gives up at its deadline
 * (ConnectRest's 10 s per request), so within statusIntervalMs + 10 s (15 s) the worker says the
 * connector state is unknown (warning; /readyz 503 with `source_connector` missing and state
 * UNREACHABLE; nilus_source_connector_up 0) and stays alive; the change stream goes on applying
 * (the data comes from Kafka, not Connect): the target equals the source while the partition still
 * lasts. After heal the watch finds the connector RUNNING again and the pipeline is ready.
 *
 * About 1.5 minutes (the connector's snapshot, a 25 s partition).
 */
import { Client, Pool } from 'pg';
import { BlackholeProxy } from '../../helpers/blackhole-proxy';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, uniqueName } from '../../helpers/pg';
import { removeConnector } from '../../helpers/debezium';
import { connectUrl, sourcePgUrl } from '../../helpers/stack';
import { managedManifest } from '../../helpers/managed';
import { startInProcess, waitFor } from '../../helpers/pipeline';
import { httpGet, metricSum, scrape, sleep, until } from '../ops/support';

/** src/managed/connect-rest.ts: each REST call is aborted after this long. */
const REST_TIMEOUT_MS = 10_000;
/** src/config/defaults.ts managed.statusIntervalMs: the watch polls this often. */
const STATUS_INTERVAL_MS = 5_000;
/** The poll caught by the partition started at most one interval before it. */
const DETECTION_BOUND_MS = STATUS_INTERVAL_MS + REST_TIMEOUT_MS;
const PARTITION_MS = DETECTION_BOUND_MS + 10_000;

const CANON = (schema: string) => `
  SELECT count(*)::int AS n,
         coalesce(md5(string_agg(format('%s|%s|%s', id, status, amount), ',' ORDER BY id)), '') AS h
    FROM "${schema}".orders`;

interface LogLine {
  level: string;
  time: number;
  msg: string;
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

describe('a dropped-packet partition to Kafka Connect', () => {
  let target: Pool;
  let source: Pool;
  let schema: string;
  let srcSchema: string;
  const name = uniqueName('fltconn').replace(/_/g, '-');
  const connector = `nilus-${name}`;
  const slot = `nilus_${name.replace(/-/g, '_')}`;

  beforeAll(async () => {
    target = newPool();
    source = new Pool({ connectionString: sourcePgUrl(), max: 2 });
    schema = await createTestSchema(target, 'fltconn');
    srcSchema = await createTestSchema(source, 'fltconnsrc');
    await source.query(`CREATE TABLE "${srcSchema}".orders (id bigint PRIMARY KEY, status text NOT NULL, amount numeric(12,2))`);
    await source.query(`INSERT INTO "${srcSchema}".orders (id, status, amount) SELECT g, 'new', g * 1.25 FROM generate_series(1, 200) g`);
  });
  afterAll(async () => {
    // Never leave a slot behind: it would hold WAL on the shared PostgreSQL.
    await removeConnector(connector).catch(() => undefined);
    const c = new Client({ connectionString: sourcePgUrl() });
    await c.connect();
    await c.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active', [slot]).catch(() => undefined);
    await c.query(`DROP PUBLICATION IF EXISTS "${slot}"`).catch(() => undefined);
    await c.end();
    await dropTestSchemaUnlessFailed(target, schema);
    await dropTestSchemaUnlessFailed(source, srcSchema);
    await target.end();
    await source.end();
  });

  it('the status watch times out within 15 s, the stream goes on applying, and the watch resumes after heal', async () => {
    const connect = new URL(connectUrl());
    const proxy = await BlackholeProxy.start(connect.hostname, Number(connect.port));
    const m = JSON.parse(managedManifest({ name, srcSchema, dest: `${schema}.orders` }));
    m.spec.source.options.connect_url = `http://127.0.0.1:${proxy.port}`;
    const svc = await startInProcess(JSON.stringify(m));
    let id = 1_000;
    let writing = true;
    // The source keeps changing: an insert and an update every 200 ms, before, during and after.
    const writer = (async () => {
      while (writing) {
        id++;
        await source.query(`INSERT INTO "${srcSchema}".orders (id, status, amount) VALUES ($1::bigint, 'live', $1::numeric)`, [id]);
        await source.query(`UPDATE "${srcSchema}".orders SET status = 'touched', amount = amount + 1 WHERE id = $1`, [id % 200 + 1]);
        await sleep(200);
      }
    })();
    const canon = async () => (await source.query(CANON(srcSchema))).rows[0] as { n: number; h: string };
    try {
      // The snapshot landed and the watch saw the connector running.
      await waitFor(target, 'SELECT count(*)::int AS n FROM "' + schema + '".orders', (r) => Number(r[0]?.n) >= 200, 150_000);
      await until('ready', async () => ((await httpGet(svc.httpPort, '/readyz')).status === 200 ? true : undefined), 60_000);

      proxy.blackhole();
      const blackholedAt = Date.now();
      const notReady = await until('the watch to give up on Kafka Connect', async () => {
        const r = await httpGet(svc.httpPort, '/readyz');
        const body = JSON.parse(r.body) as { missing: string[]; sourceConnector?: { state: string } };
        return r.status === 503 && body.missing.includes('source_connector') && body.sourceConnector?.state === 'UNREACHABLE' ? Date.now() : undefined;
      }, DETECTION_BOUND_MS + 5_000, 100);
      expect({ connectorUp: metricSum(await scrape(svc.httpPort), 'nilus_source_connector_up') }).toEqual({ connectorUp: 0 });
      expect({ healthz: (await httpGet(svc.httpPort, '/healthz')).status }).toEqual({ healthz: 200 });
      // Data still flows while Connect is unreachable: the target catches up with the source.
      const lastId = id;
      await waitFor(target, `SELECT count(*)::int AS n FROM "${schema}".orders WHERE id = ${lastId}`, (r) => Number(r[0]?.n) === 1, 30_000);
      const appliedDuring = lastId - 1_000;
      expect({ stillPartitioned: Date.now() - blackholedAt < PARTITION_MS }).toEqual({ stillPartitioned: true });
      await sleep(Math.max(0, PARTITION_MS - (Date.now() - blackholedAt)));
      const dropped = proxy.dropped;
      const healedAt = Date.now();
      proxy.heal();
      const readyAgain = await until('ready again after heal', async () => ((await httpGet(svc.httpPort, '/readyz')).status === 200 ? Date.now() : undefined), 60_000, 100);
      expect({ connectorUp: metricSum(await scrape(svc.httpPort), 'nilus_source_connector_up') }).toEqual({ connectorUp: 1 });
      writing = false;
      await writer;
      const want = await canon();
      expect((await waitFor(target, CANON(schema), (r) => r[0]?.h === want.h, 60_000))[0]).toEqual(want);

      const warned = lines(svc.logs()).filter((l) => l.msg.startsWith('cannot read the source connector status') && l.time >= blackholedAt);
      expect({ warned: warned.length }).toEqual({ warned: 1 });
      const detectionMs = warned[0]!.time - blackholedAt;
      console.log(
        `Connect partition: status watch gave up ${detectionMs} ms after the blackhole (bound ${DETECTION_BOUND_MS} ms), /readyz 503 after ${notReady - blackholedAt} ms; ` +
          `rows inserted so far applied while partitioned: ${appliedDuring}; ready again ${readyAgain - healedAt} ms after heal (bound ${DETECTION_BOUND_MS} ms); ${dropped} bytes dropped`,
      );
      expect({ detectedWithinBound: detectionMs <= DETECTION_BOUND_MS + 1_000 }).toEqual({ detectedWithinBound: true });
      expect({ resumedWithinBound: readyAgain - healedAt <= DETECTION_BOUND_MS + 1_000 }).toEqual({ resumedWithinBound: true });
    } finally {
      writing = false;
      await writer.catch(() => undefined); // its error, if any, was thrown above
      if (proxy.partitioned) proxy.heal();
      const code = await svc.stop();
      await proxy.close();
      expect({ exitCode: code }).toEqual({ exitCode: 0 });
    }
  }, 300_000);
});
