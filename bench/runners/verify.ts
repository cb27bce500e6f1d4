/**
 * batch-verify: `nilus-pg verify <manifest> --connections <file>` as a child process, as users run
 * it, over the batch runs' MySQL source table and a PostgreSQL copy of it (filled untimed by COPY of
 * the rows dumped from MySQL: the table `replace` creates). Timed from spawn to exit: once on the
 * equal copy (must print `equal`, exit 0), once after one row of the copy was changed (must find
 * exactly that row, exit 1).
 */
import { spawn } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import { mysqlAddress, PG_COLUMNS } from '../batch';
import { rate, type RunResult } from '../result';
import { quoteIdent, TARGET_URL, withPg } from '../stack';
import { procStats } from '../worker';
import { freshSchema } from './nilus';
import type { BatchSource } from './batch';

const TABLE = 'orders';

function files(dir: string, sourceTable: string, dest: string): { manifest: string; connections: string } {
  const a = mysqlAddress();
  const manifest = join(dir, 'manifest.yaml');
  const connections = join(dir, 'connections.yaml');
  writeFileSync(connections, JSON.stringify({
    connections: { 'mysql-source': { type: 'mysql', host: a.host, port: a.port, database: a.database, username: a.user, password: a.password, 'ssl-mode': 'disabled' } },
  }));
  writeFileSync(manifest, JSON.stringify({
    name: 'bench-verify', version: 'v1alpha', type: 'nilus',
    spec: {
      type: 'batch', compute: 'bench',
      source: { address: 'dataos://mysql-source', options: { source_table: sourceTable } },
      sink: { address: TARGET_URL, options: { dest_table: dest, incremental_strategy: 'replace' } },
    },
  }));
  return { manifest, connections };
}

/** One `nilus-pg verify`: exit code, its output, seconds, peak RSS (VmHWM polled every 100 ms). */
async function verify(manifest: string, connections: string): Promise<{ code: number | null; out: string; seconds: number; peakRssMiB: number }> {
  const bin = resolve(__dirname, '../../bin/nilus-pg.js');
  const t0 = process.hrtime.bigint();
  const child = spawn(process.execPath, [bin, 'verify', manifest, '--connections', connections], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  let peakRssMiB = NaN;
  const poll = setInterval(() => {
    try {
      const s = procStats(child.pid!);
      if (Number.isFinite(s.peakRssMiB)) peakRssMiB = Number.isFinite(peakRssMiB) ? Math.max(peakRssMiB, s.peakRssMiB) : s.peakRssMiB;
    } catch {
      // exited between two polls
    }
  }, 100);
  try {
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    return { code, out: out.trim(), seconds: Number(process.hrtime.bigint() - t0) / 1e9, peakRssMiB };
  } finally {
    clearInterval(poll);
  }
}

export async function batchVerifyRun(schema: string, src: BatchSource): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'nilus-bench-verify-'));
  try {
    return await withPg(TARGET_URL, async (c) => {
      await freshSchema(c, schema);
      const target = `${quoteIdent(schema)}.${quoteIdent(TABLE)}`;
      await c.query(`CREATE TABLE ${target} ${PG_COLUMNS}`);
      await pipeline(createReadStream(src.copyFile, { highWaterMark: 1 << 20 }), c.query(copyFrom(`COPY ${target} FROM STDIN`)));
      await c.query(`ANALYZE ${target}`);
      const f = files(dir, `${mysqlAddress().database}.${src.table}`, `${schema}.${TABLE}`);
      const equal = await verify(f.manifest, f.connections);
      const changedId = Math.ceil(src.rows / 2);
      await c.query(`UPDATE ${target} SET quantity = quantity + 1 WHERE id = $1`, [changedId]);
      const changed = await verify(f.manifest, f.connections);
      await c.query(`DROP SCHEMA ${quoteIdent(schema)} CASCADE`);
      const okEqual = equal.code === 0 && /: equal, /.test(equal.out);
      const okChanged = changed.code === 1 && changed.out.includes(`1 differing [${changedId}]`);
      const check = okEqual && okChanged ? `equal copy reported equal; one changed row found (${changed.seconds.toFixed(2)} s)` : `equal run: exit ${equal.code}, ${equal.out.slice(0, 200)}; changed run: exit ${changed.code}, ${changed.out.slice(0, 200)}`;
      return {
        name: 'batch-verify', ok: okEqual && okChanged, check, events: src.rows, seconds: equal.seconds, eventsPerSec: rate(src.rows, equal.seconds),
        peakRssMiB: Math.max(equal.peakRssMiB, changed.peakRssMiB),
        extra: { changedRowSeconds: Math.round(changed.seconds * 100) / 100 },
        notes: [`nilus-pg verify of the source table against a COPY of it (untimed), spawn to exit; then with one row changed: ${changed.out.slice(0, 300)}`],
      };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
