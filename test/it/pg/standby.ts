/**
 * A streaming standby of a throwaway cluster (./clusters.ts): pg_basebackup -R from the primary into
 * a second data directory on another port, asynchronous replication (PostgreSQL 15's defaults:
 * wal_level replica, max_wal_senders 10; the primary needs a `local replication postgres trust`
 * line). The standby is a hot standby: it answers reads, refuses writes, until promoted.
 */
import { appendFileSync, chownSync, mkdtempSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { asPostgres, BIN, freePort, running, type Cluster } from './clusters';

/** The pg_hba.conf line a primary needs for its standby's base backup and WAL stream. */
export const REPLICATION_HBA = 'local replication postgres trust';

export interface Standby extends Cluster {
  /** pg_ctl promote, waiting until the server accepts writes. */
  promote(): void;
  /**
   * Stops the WAL stream from the primary (primary_conninfo emptied, reloaded): what the standby
   * has is all it will get, as with a standby lagging behind when its primary dies.
   */
  cutReplication(): Promise<void>;
  /** true while a WAL receiver is streaming from the primary. */
  streaming(): Promise<boolean>;
}

async function query<T extends Record<string, unknown>>(c: Cluster, text: string): Promise<T[]> {
  const client = new pg.Client({ host: c.dir, port: c.port, user: 'postgres', database: 'postgres' });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

export async function startStandby(primary: Cluster): Promise<Standby> {
  const dir = mkdtempSync(join(tmpdir(), 'nilus-standby-'));
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
  chownSync(dir, uid, gid);
  const data = join(dir, 'data');
  asPostgres(`${BIN}/pg_basebackup`, ['-D', data, '-h', primary.dir, '-p', String(primary.port), '-U', 'postgres', '-R', '-X', 'stream', '-c', 'fast', '--no-sync']);
  const port = await freePort();
  // The backup carries the primary's port and socket directory; the later lines win.
  appendFileSync(join(data, 'postgresql.auto.conf'), [`port = ${port}`, `unix_socket_directories = '${dir}'`, 'hot_standby = on', ''].join('\n'));
  asPostgres(`${BIN}/pg_ctl`, ['-D', data, '-l', join(dir, 'log'), '-w', 'start']);
  const self = running(dir, port);
  return {
    ...self,
    promote() {
      asPostgres(`${BIN}/pg_ctl`, ['-D', data, '-w', 'promote']);
    },
    async cutReplication() {
      await self.sql(`ALTER SYSTEM SET primary_conninfo = ''`);
      await self.sql('SELECT pg_reload_conf()');
    },
    async streaming() {
      const rows = await query<{ n: string }>(self, `SELECT count(*)::text AS n FROM pg_stat_wal_receiver WHERE status = 'streaming'`);
      return rows[0]?.n === '1';
    },
  };
}
