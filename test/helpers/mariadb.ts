/**
 * A throwaway MariaDB server for one test file: its own temp data directory and a free port, the
 * same Debian binaries and options the stack uses (scripts/stack/mariadb.sh), stopped and deleted
 * in afterAll. For tests that need a server configured unlike the shared stack's (a STATEMENT
 * binlog, no binlog, a version string Debezium's MySQL connector accepts), which must never be
 * done to the shared server.
 */
import { execFile, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createConnection, type Connection } from 'mysql2/promise';

const exec = promisify(execFile);
const bin = (name: string): string => [`/usr/sbin/${name}`, `/usr/bin/${name}`].find((p) => existsSync(p)) ?? name;

export interface ThrowawayMariadb {
  readonly port: number;
  readonly dir: string;
  /** A root connection (no password) over TCP. */
  sql(statement: string, values?: unknown[]): Promise<unknown[]>;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** mariadb-install-db and mariadbd refuse root without --user: as root they run as the mysql OS user. */
function asOwner(cmd: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'mysql', '--', cmd, ...args]] : [cmd, args];
}

/**
 * Starts a MariaDB with `--no-defaults`, a row binlog and `server_id=1` unless `args` say otherwise
 * (later options win), and waits until root can connect.
 */
export async function startMariadb(args: readonly string[] = [], timeoutMs = 30_000): Promise<ThrowawayMariadb> {
  const dir = mkdtempSync(join(tmpdir(), 'nilus-mariadb-'));
  if (process.getuid?.() === 0) {
    chmodSync(dir, 0o755);
    const { stdout } = await exec('id', ['-u', 'mysql']);
    const { stdout: gid } = await exec('id', ['-g', 'mysql']);
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const data = join(dir, 'data');
  const [icmd, iargs] = asOwner(bin('mariadb-install-db'), ['--no-defaults', `--datadir=${data}`, '--auth-root-authentication-method=normal', '--skip-test-db', '--skip-name-resolve', '--tmpdir=/tmp']);
  await exec(icmd, iargs, { cwd: '/' });
  const port = await freePort();
  const [cmd, cargs] = asOwner(bin('mariadbd'), [
    '--no-defaults', `--datadir=${data}`, `--pid-file=${join(dir, 'mariadbd.pid')}`, `--socket=${join(dir, 'mariadbd.sock')}`,
    `--log-error=${join(dir, 'mariadbd.log')}`, '--tmpdir=/tmp', '--bind-address=127.0.0.1', `--port=${port}`, '--skip-name-resolve',
    '--server-id=1', '--log-bin=binlog', '--binlog-format=ROW', '--binlog-row-image=FULL',
    '--character-set-server=utf8mb4', '--collation-server=utf8mb4_general_ci', '--innodb-buffer-pool-size=16M', '--innodb-log-file-size=8M',
    ...args,
  ]);
  const child = spawn(cmd, cargs, { cwd: '/', stdio: 'ignore', detached: true });
  let exited = false;
  child.on('exit', () => (exited = true));
  const connect = (): Promise<Connection> => createConnection({ host: '127.0.0.1', port, user: 'root', multipleStatements: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const c = await connect();
      await c.end();
      break;
    } catch (e) {
      if (exited || Date.now() > deadline) {
        const log = existsSync(join(dir, 'mariadbd.log')) ? readFileSync(join(dir, 'mariadbd.log'), 'utf8').slice(-2000) : '';
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`throwaway MariaDB on port ${port} did not start (${(e as Error).message}): ${log}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    port,
    dir,
    async sql(statement, values = []) {
      const c = await connect();
      try {
        const [rows] = await c.query(statement, values);
        return rows as unknown[];
      } finally {
        await c.end();
      }
    },
    async stop() {
      const pidFile = join(dir, 'mariadbd.pid');
      const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : undefined;
      // Only the server this helper started (its own pid file in its own folder).
      if (pid) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // already gone
        }
        const until = Date.now() + 30_000;
        while (Date.now() < until && existsSync(`/proc/${pid}`)) await new Promise((r) => setTimeout(r, 100));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
