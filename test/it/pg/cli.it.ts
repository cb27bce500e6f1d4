/**
 * The built CLI (bin/nilus-pg.js → dist/) end to end: validate over the examples, and check
 * against a throwaway TLS cluster through a connections file with ${ENV} secrets.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { makeCerts, startCluster, type Certs, type Cluster } from './clusters';

const ROOT = join(__dirname, '../../..');
const PW = 'Cl1-S3cret-pw';
const dir = mkdtempSync(join(tmpdir(), 'nilus-cli-it-'));
let certs: Certs;
let cluster: Cluster;

function cli(args: string[], env: NodeJS.ProcessEnv = {}): { code: number; out: string } {
  const r = spawnSync('node', [join(ROOT, 'bin/nilus-pg.js'), ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

beforeAll(async () => {
  // The build may report errors from stages still being written; it emits regardless, and
  // what matters here is that the CLI's own output exists.
  try {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'pipe' });
  } catch {
    /* checked below */
  }
  expect(existsSync(join(ROOT, 'dist/cli/main.js'))).toBe(true);
  certs = makeCerts();
  cluster = await startCluster({ certs, hba: ['hostssl all all 127.0.0.0/8 scram-sha-256'] });
  await cluster.sql(`CREATE USER carol PASSWORD '${PW}'`);
  await cluster.sql('CREATE SCHEMA mine AUTHORIZATION carol; CREATE SCHEMA theirs; GRANT USAGE ON SCHEMA theirs TO carol');
  await cluster.sql('CREATE TABLE theirs.orders (id int primary key); GRANT SELECT, INSERT ON theirs.orders TO carol');
}, 120_000);

afterAll(() => cluster?.stop());

function setup(dest: string, strategy: string): { manifest: string; conns: string } {
  const conns = join(dir, 'conns.yaml');
  writeFileSync(
    conns,
    `connections:\n  pg:\n    type: postgresql\n    host: 127.0.0.1\n    port: ${cluster.port}\n    database: postgres\n    username: carol\n    password: \${CAROL_PW}\n    sslmode: verify-full\n    sslrootcert: ${certs.ca}\n`,
  );
  const manifest = join(dir, `m-${dest}-${strategy}.yaml`);
  writeFileSync(
    manifest,
    `name: cli-check\nversion: v1alpha\ntype: nilus\nspec:\n  type: batch\n  source:\n    address: dataos://pg\n    options:\n      source_table: pg_catalog.pg_class\n  sink:\n    address: dataos://pg\n    options:\n      dest_table: ${dest}\n      incremental_strategy: ${strategy}\n`,
  );
  return { manifest, conns };
}

function cdcManifest(prefix: string): string {
  const manifest = join(dir, `cdc-${prefix}.yaml`);
  writeFileSync(
    manifest,
    `name: cli-cdc\nversion: v1alpha\ntype: nilus\nspec:\n  type: cdc\n  source:\n    address: kafka://${process.env.NILUS_TEST_KAFKA_BROKERS}\n    cdc:\n      topic.prefix: ${prefix}\n      table.include.list: "public\\\\.ord.*"\n  sink:\n    address: dataos://pg\n    options:\n      dest_table: mine.{table}\n      incremental_strategy: merge\n`,
  );
  return manifest;
}

describe('nilus-pg (built)', () => {
  it('validate passes every example', () => {
    const files = readdirSync(join(ROOT, 'config/examples')).map((f) => join('config/examples', f));
    const r = cli(['validate', ...files]);
    expect(r.out).not.toMatch(/invalid/);
    expect(r.code).toBe(0);
  });

  it('validate prints problems with positions and exits 2', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'name: x\nversion: v1alpha\ntype: nilus\nspec:\n  type: batch\n  source:\n    address: dataos://a\n    options:\n      source_table: s.t\n  sink:\n    address: dataos://b\n    options:\n      dest_table: t\n      incremental_strategy: merge\n      auto_creat: false\n');
    const r = cli(['validate', bad]);
    expect(r.code).toBe(2);
    expect(r.out).toContain(`${bad}:13:19: spec.sink.options.dest_table: dest_table must be`);
    expect(r.out).toContain(`${bad}:15:7: spec.sink.options.auto_creat: unknown key "auto_creat"; did you mean "auto_create"?`);
  });

  it('check passes with every privilege in place (verify-full, secret from env)', () => {
    const { manifest, conns } = setup('mine.orders', 'merge');
    const r = cli(['check', manifest, '--connections', conns], { CAROL_PW: PW });
    expect(r.out).toMatch(/\[ok\]\s+PostgreSQL reachable at 127\.0\.0\.1:\d+ as carol \(TLS, sslmode=verify-full\)/);
    expect(r.out).toMatch(/\[ok\]\s+CREATE on schema mine/);
    expect(r.out).toMatch(/\[ok\]\s+SELECT on source table pg_catalog\.pg_class/);
    expect(r.code).toBe(0);
  });

  it('check names missing privileges with the GRANT to run', () => {
    const a = setup('theirs.orders', 'merge');
    const r = cli(['check', a.manifest, '--connections', a.conns], { CAROL_PW: PW });
    expect(r.code).toBe(1);
    // The table exists, so auto_create needs no CREATE on the schema; replace would.
    expect(r.out).not.toMatch(/CREATE on schema theirs/);
    expect(r.out).toMatch(/\[FAIL\] INSERT\/UPDATE\/DELETE\/SELECT on theirs\.orders \(merge\) — missing UPDATE, DELETE/);
    const b = setup('theirs.orders', 'append');
    expect(cli(['check', b.manifest, '--connections', b.conns], { CAROL_PW: PW }).out).toMatch(/\[ok\]\s+INSERT\/SELECT on theirs\.orders \(append\)/);
    const c = setup('theirs.orders', 'replace');
    expect(cli(['check', c.manifest, '--connections', c.conns], { CAROL_PW: PW }).out).toMatch(/\[FAIL\] CREATE on schema theirs \(replace builds a new copy of the table\) — GRANT CREATE ON SCHEMA "theirs" TO "carol"/);
  });

  it('check with a wrong password explains it and never prints the password', () => {
    const { manifest, conns } = setup('mine.orders', 'merge');
    const r = cli(['check', manifest, '--connections', conns], { CAROL_PW: 'Wr0ng-pw-xyz' });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/password authentication failed for user "carol": re-check the credentials/);
    expect(r.out).not.toContain('Wr0ng-pw-xyz');
    expect(r.out).not.toContain(PW);
  });

  it('check (cdc) finds the topics under the prefix that the include list selects', async () => {
    const prefix = `chk_${Date.now().toString(36)}`;
    const kafka = new Kafka({ clientId: 'cli-it', brokers: [process.env.NILUS_TEST_KAFKA_BROKERS as string], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ waitForLeaders: true, topics: [`${prefix}.public.orders`, `${prefix}.public.items`].map((topic) => ({ topic, numPartitions: 1 })) });
    } finally {
      await admin.disconnect();
    }
    const { conns } = setup('mine.orders', 'merge');
    const ok = cli(['check', cdcManifest(prefix), '--connections', conns], { CAROL_PW: PW });
    expect(ok.out).toMatch(/\[ok\]\s+Kafka reachable at 127\.0\.0\.1:\d+/);
    expect(ok.out).toContain(`[ok]   1 topic(s) match ${prefix}.*: ${prefix}.public.orders`);
    expect(ok.code).toBe(0);
    const none = cli(['check', cdcManifest(`${prefix}_none`), '--connections', conns], { CAROL_PW: PW });
    expect(none.code).toBe(1);
    expect(none.out).toMatch(/\[FAIL\] no topic matches prefix ".*_none" and the include list/);
  });
});
