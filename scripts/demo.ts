/**
 * The demo: source PostgreSQL → Debezium (Kafka Connect) → Kafka → nilus-pg → target PostgreSQL,
 * all on the local stack (`npm run stack:up -- --connect` is run by `npm run demo` first).
 *
 * It creates a `retail.orders` table in the source database and starts
 * `nilus-pg run config/demo/orders-cdc.yaml` as its own process: the manifest names the source
 * database, so the worker creates the Debezium PostgreSQL connector itself (a managed source).
 * It runs a workload of inserts, updates and deletes on the source, and prints source and target
 * side by side until the target has caught up and equals the source. Then it stops the worker
 * (SIGTERM) and removes the connector, its slot and publication with `nilus-pg teardown
 * --drop-slot --yes`. The stack keeps running (`npm run stack:down` stops it).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Pool } from 'pg';
import { Kafka, logLevel } from 'kafkajs';
import { stackEnv } from '../test/helpers/stack';

const env = stackEnv();
Object.assign(process.env, env);
const root = join(__dirname, '..');
const canon = (table: string) =>
  `SELECT count(*)::int AS n, coalesce(md5(string_agg(format('%s|%s|%s|%s', id, status, amount, updated_at), ',' ORDER BY id)), '') AS h FROM ${table}`;
const TOPIC = 'orders_cdc.retail.orders';
const GROUP = 'nilus-pg.orders-demo';

/** A re-run starts clean: the previous run's topic and consumer group are removed. */
async function resetKafka(): Promise<void> {
  const admin = new Kafka({ brokers: env.NILUS_TEST_KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    if ((await admin.listTopics()).includes(TOPIC)) await admin.deleteTopics({ topics: [TOPIC] });
    if ((await admin.listGroups()).groups.some((g) => g.groupId === GROUP)) await admin.deleteGroups([GROUP]);
  } finally {
    await admin.disconnect();
  }
}

const bin = join(root, 'bin/nilus-pg.js');
const demoFiles = [join(root, 'config/demo/orders-cdc.yaml'), '--connections', join(root, 'config/demo/connections.yaml')];
const demoEnv = {
  ...process.env,
  NILUS_DEMO_PG_PORT: new URL(env.NILUS_TEST_PG_URL).port,
  NILUS_DEMO_KAFKA: env.NILUS_TEST_KAFKA_BROKERS,
  NILUS_DEMO_CONNECT: env.NILUS_TEST_CONNECT_URL,
};

/** `nilus-pg <command> <demo manifest> …`, its output shown; resolves with the exit code. */
function nilus(command: string, ...flags: string[]): Promise<number | null> {
  const p = spawn(process.execPath, [bin, command, ...demoFiles, ...flags], { stdio: ['ignore', 'inherit', 'inherit'], env: demoEnv });
  return new Promise((r) => p.on('exit', (c) => r(c)));
}

async function main(): Promise<void> {
  const source = new Pool({ connectionString: env.NILUS_TEST_SOURCE_PG_URL, max: 2 });
  const target = new Pool({ connectionString: env.NILUS_TEST_PG_URL, max: 2 });
  // A previous run's connector, slot, publication and source offsets go first (teardown --drop-slot).
  if ((await nilus('teardown', '--drop-slot', '--yes')) !== 0) throw new Error('teardown of the previous demo run failed');
  await resetKafka();
  await source.query(`DROP SCHEMA IF EXISTS retail CASCADE; CREATE SCHEMA retail;
    CREATE TABLE retail.orders (id bigint PRIMARY KEY, status text NOT NULL, amount numeric(12,2), updated_at timestamptz NOT NULL DEFAULT now());
    INSERT INTO retail.orders (id, status, amount) SELECT g, 'new', g * 1.5 FROM generate_series(1, 1000) g;`);
  await target.query(`DROP SCHEMA IF EXISTS analytics CASCADE; CREATE SCHEMA analytics;`);
  console.log('source: retail.orders with 1000 rows; nilus-pg run creates the Debezium PostgreSQL connector (nilus-orders-demo)…');
  const worker = spawn(process.execPath, [bin, 'run', ...demoFiles], { stdio: ['ignore', 'ignore', 'inherit'], env: demoEnv });
  const exited = new Promise<number | null>((r) => worker.on('exit', (c) => r(c)));
  console.log(`nilus-pg worker started (pid ${worker.pid}); running a workload on the source for 15 s`);

  const show = async (label: string) => {
    const s = (await source.query(canon('retail.orders'))).rows[0];
    const t = await target.query(canon('analytics.orders')).then((r) => r.rows[0], () => ({ n: 0, h: '' }));
    console.log(`${label.padEnd(10)} source ${String(s.n).padStart(6)} rows   target ${String(t.n).padStart(6)} rows   ${s.h === t.h ? 'EQUAL' : 'catching up'}`);
    return s.h === t.h;
  };
  const until = Date.now() + 15_000;
  let round = 0;
  while (Date.now() < until) {
    round++;
    await source.query(`INSERT INTO retail.orders (id, status, amount) SELECT 1000 * $1::int + g + 1000, 'new', g FROM generate_series(1, 200) g`, [round]);
    await source.query(`UPDATE retail.orders SET status = 'paid', amount = amount + 1, updated_at = now() WHERE id % 17 = $1::int % 17`, [round]);
    await source.query(`DELETE FROM retail.orders WHERE id % 101 = $1::int % 101`, [round]);
    await show(`t+${round}s`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  console.log('workload stopped; waiting for the target to catch up');
  let equal = false;
  for (let i = 0; i < 60 && !equal; i++) {
    equal = await show('catch-up');
    if (!equal) await new Promise((r) => setTimeout(r, 1000));
  }
  worker.kill('SIGTERM');
  const code = await exited;
  await nilus('teardown', '--drop-slot', '--yes');
  await source.end();
  await target.end();
  console.log(equal ? `target analytics.orders equals source retail.orders (worker exited ${code})` : 'target did NOT catch up within 60 s');
  process.exitCode = equal && code === 0 ? 0 : 1;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
