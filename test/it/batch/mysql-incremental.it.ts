/**
 * MySQL/MariaDB batch sources beyond the seed example: `nilus-pg check` of the source (reachable,
 * SELECT privilege, the cursor column), incremental merge by a datetime(6) cursor, and a stop in
 * the middle of a MySQL read (rolled back, exit 0, quickly).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection, type Connection } from 'mysql2/promise';
import type { Pool } from 'pg';
import { loadConfig } from '../../../src/config';
import { runChecks } from '../../../src/cli/check';
import { startService } from '../../../src/service/run';
import { createLogger } from '../../../src/observe/logger';
import type { CoreEvents } from '../../../src/kernel/events';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, targetPgUrl } from '../../helpers/pg';
import { mysqlUrl } from '../../helpers/stack';

type Finished = CoreEvents['batchFinished'][0];
const DB = 'nilus_it_incremental';

describe('MySQL batch sources: check, incremental merge, stop mid-read', () => {
  let my: Connection;
  let target: Pool;
  let dst: string;
  let dir: string;

  beforeAll(async () => {
    my = await createConnection({ uri: mysqlUrl(), multipleStatements: true });
    await my.query(`DROP DATABASE IF EXISTS ${DB}; CREATE DATABASE ${DB} CHARACTER SET utf8mb4`);
    // nilus_nosel may use the database (SELECT on another table) but not read the checked table
    await my.query(`DROP USER IF EXISTS 'nilus_nosel'@'%'; CREATE USER 'nilus_nosel'@'%' IDENTIFIED BY 'Nosel-pw-42';
      CREATE TABLE ${DB}.other (id int PRIMARY KEY); GRANT SELECT ON ${DB}.other TO 'nilus_nosel'@'%'`);
    target = newPool();
    dst = await createTestSchema(target, 'mydst');
    dir = mkdtempSync(join(tmpdir(), 'nilus-my-inc-'));
    const u = new URL(mysqlUrl());
    const pg = new URL(targetPgUrl());
    writeFileSync(join(dir, 'connections.yaml'), `connections:
  src:
    type: mariadb
    host: ${u.hostname}
    port: ${u.port}
    database: ${DB}
    username: ${decodeURIComponent(u.username)}
    password: ""
  nosel:
    type: mysql
    host: ${u.hostname}
    port: ${u.port}
    database: ${DB}
    username: nilus_nosel
    password: \${NOSEL_PW}
  pg:
    type: postgresql
    host: ${pg.hostname}
    port: ${pg.port}
    database: ${pg.pathname.slice(1)}
    username: ${decodeURIComponent(pg.username)}
    password: ""
`);
  });

  afterAll(async () => {
    await my.query(`DROP DATABASE IF EXISTS ${DB}; DROP USER IF EXISTS 'nilus_nosel'@'%'`);
    await my.end();
    await dropTestSchemaUnlessFailed(target, dst);
    await target.end();
  });

  function manifestFile(name: string, conn: string, table: string, strategy: string, opts: Record<string, unknown> = {}): string {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, JSON.stringify({
      name, version: 'v1alpha', type: 'nilus',
      spec: {
        type: 'batch',
        source: { address: `dataos://${conn}`, options: { source_table: `${DB}.${table}`, ...opts } },
        sink: { address: 'dataos://pg', options: { dest_table: `${dst}.${table}`, incremental_strategy: strategy, http_port: 0, log_level: 'warn' } },
      },
    }));
    return file;
  }

  async function run(file: string, during?: (stop: () => Promise<number>) => Promise<void>): Promise<{ code: number; finished?: Finished }> {
    const cfg = await loadConfig(file, { connectionsPath: join(dir, 'connections.yaml'), env: { ...process.env, NOSEL_PW: 'Nosel-pw-42' } });
    const svc = await startService(cfg, { log: createLogger({ level: 'fatal', name: 'my-inc' }) });
    let finished: Finished | undefined;
    svc.emitter.on('batchFinished', (f) => (finished = f));
    if (during) await during(() => svc.stop());
    const code = await svc.done;
    return { code, ...(finished ? { finished } : {}) };
  }

  it('check: the source is reachable, the table readable and the cursor usable — or says what is missing', async () => {
    await my.query(`CREATE TABLE ${DB}.chk (id int PRIMARY KEY, name varchar(20), at datetime(3))`);
    await my.query(`INSERT INTO ${DB}.chk VALUES (1, 'a', '2024-05-01 10:00:00.123')`);
    const env = { ...process.env, NOSEL_PW: 'Nosel-pw-42' };
    const conns = join(dir, 'connections.yaml');
    const good = await runChecks(await loadConfig(manifestFile('chk-good', 'src', 'chk', 'merge', { incremental_key: 'at' }), { connectionsPath: conns, env }));
    const text = (lines: { ok: boolean; text: string }[]): string[] => lines.map((l) => `${l.ok ? 'ok' : 'FAIL'} ${l.text}`);
    expect(text(good)).toEqual(expect.arrayContaining([
      expect.stringMatching(/^ok source mysql:\/\/.*:\d+\/nilus_it_incremental reachable$/),
      expect.stringMatching(/^ok SELECT on source table nilus_it_incremental\.chk \(3 columns, primary key id/),
      expect.stringMatching(/^ok incremental_key "at" \(datetime\(3\)\) is at 2024-05-01 10:00:00\.123$/),
    ]));
    const badKey = await runChecks(await loadConfig(manifestFile('chk-key', 'src', 'chk', 'append', { incremental_key: 'name' }), { connectionsPath: conns, env }));
    expect(text(badKey)).toContainEqual(expect.stringMatching(/^FAIL incremental_key "name" is varchar\(20\): a cursor must be an integer, date or timestamp column/));
    const nosel = await runChecks(await loadConfig(manifestFile('chk-nosel', 'nosel', 'chk', 'merge'), { connectionsPath: conns, env }));
    expect(text(nosel)).toContainEqual(expect.stringMatching(/^FAIL source table nilus_it_incremental\.chk not found, or the user has no SELECT on it/));
    const wrongPw = await runChecks(await loadConfig(manifestFile('chk-pw', 'nosel', 'chk', 'merge'), { connectionsPath: conns, env: { ...process.env, NOSEL_PW: 'Wr0ng-pw-xyz' } }));
    expect(text(wrongPw)).toContainEqual(expect.stringMatching(/^FAIL source mysql:\/\/.*Access denied for user 'nilus_nosel'/));
    expect(JSON.stringify(wrongPw)).not.toContain('Wr0ng-pw-xyz');
    await my.query(`REVOKE SELECT ON ${DB}.other FROM 'nilus_nosel'@'%'`);
    const noDb = await runChecks(await loadConfig(manifestFile('chk-nodb', 'nosel', 'chk', 'merge'), { connectionsPath: conns, env }));
    expect(text(noDb)).toContainEqual(expect.stringMatching(/^FAIL source mysql:.*Access denied for user 'nilus_nosel'.* to database 'nilus_it_incremental' — the user may not use this database: GRANT SELECT ON nilus_it_incremental\.chk TO the source user$/));
  });

  it('incremental merge by a datetime(6) cursor moves only changed rows and ends equal', async () => {
    await my.query(`CREATE TABLE ${DB}.acc (id int PRIMARY KEY, v varchar(40), updated_at datetime(6) NOT NULL)`);
    await my.query(`INSERT INTO ${DB}.acc SELECT seq, CONCAT('v', seq), '2024-01-01 00:00:00' + INTERVAL seq * 1001 MICROSECOND FROM seq_1_to_5000`);
    const file = manifestFile('my-inc-merge', 'src', 'acc', 'merge', { incremental_key: 'updated_at', page_size: 700 });
    expect((await run(file)).finished).toMatchObject({ outcome: 'success', rows: 5000, cursor: '2024-01-01 00:00:05.005000' });
    await my.query(`UPDATE ${DB}.acc SET v = CONCAT(v, '*'), updated_at = '2024-03-01 00:00:00' + INTERVAL id MICROSECOND WHERE id % 100 = 1`);
    await my.query(`INSERT INTO ${DB}.acc VALUES (5001, 'new', '2024-03-02 00:00:00.000001')`);
    // 50 updated + 1 inserted + the row at the stored cursor (id 5000, unchanged: merge reads >=)
    expect((await run(file)).finished).toMatchObject({ outcome: 'success', rows: 52, cursor: '2024-03-02 00:00:00.000001' });
    const [src] = await my.query<any[]>(`SELECT id, v, DATE_FORMAT(updated_at, '%Y-%m-%d %H:%i:%s.%f') AS u FROM ${DB}.acc ORDER BY id`);
    const got = (await target.query(`SELECT id, v, to_char(updated_at, 'YYYY-MM-DD HH24:MI:SS.US') AS u FROM "${dst}".acc ORDER BY id`)).rows;
    expect(got).toEqual(src.map((r) => ({ id: r.id, v: r.v, u: r.u })));
  });

  it('a stop during a MySQL read is aborted, not waited out: rolled back, exit 0, the query gone on the server', async () => {
    await my.query(`CREATE TABLE ${DB}.big (id int PRIMARY KEY, v varchar(300))`);
    await my.query(`INSERT INTO ${DB}.big SELECT seq, REPEAT('z', 250) FROM seq_1_to_300000`);
    const file = manifestFile('my-stop', 'src', 'big', 'append', { incremental_key: 'id', page_size: 1000 });
    const r = await run(file, async (stop) => {
      // wait until rows are flowing into the target, then stop
      for (let i = 0; i < 600; i++) {
        const n = (await target.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1`, [`COPY %${dst}%big%FROM STDIN%`])).rows[0].n;
        if (n > 0) break;
        await new Promise((res) => setTimeout(res, 10));
      }
      await stop();
    });
    expect(r.code).toBe(0);
    expect(r.finished?.outcome).toBe('aborted');
    expect((await target.query(`SELECT count(*)::int AS n FROM "${dst}".nilus_batch_state WHERE pipeline = 'my-stop'`)).rows[0].n).toBe(0);
    // the server-side query is gone too
    const [procs] = await my.query<any[]>(`SELECT count(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE '%${DB}%big%' AND ID <> CONNECTION_ID()`);
    expect(Number(procs[0].n)).toBe(0);
    // and the rerun loads every row once
    expect((await run(file)).finished).toMatchObject({ outcome: 'success', rows: 300000 });
    expect((await target.query(`SELECT count(*)::int AS n, count(DISTINCT id)::int AS d FROM "${dst}".big`)).rows[0]).toEqual({ n: 300000, d: 300000 });
  });
});
