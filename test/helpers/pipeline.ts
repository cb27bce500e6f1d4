/**
 * Runs nilus-pg pipelines in integration tests: in-process (startService) or as a separate
 * worker process (for crash tests), configured through a real manifest.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { buildConfig, parseManifest } from '../../src/config';
import { loadConnectionsFile } from '../../src/config/connections';
import { startService, type Service } from '../../src/service/run';
import { createLogger } from '../../src/observe/logger';
import { kafkaBrokers } from './stack';
import { produce } from './kafka';
import { targetPgUrl } from './pg';

export interface CdcManifestOptions {
  name: string;
  prefix: string;
  dest: string;
  strategy: 'merge' | 'append' | 'replace';
  include?: string;
  primaryKey?: string | string[];
  /** Extra sink options, e.g. { 'batch.max_rows': 1000 }. */
  options?: Record<string, unknown>;
  groupId?: string;
  /** Extra spec.source.cdc keys. */
  cdc?: Record<string, unknown>;
}

export function cdcManifest(o: CdcManifestOptions): string {
  const options: Record<string, unknown> = {
    dest_table: o.dest,
    incremental_strategy: o.strategy,
    http_port: 0,
    'batch.max_age_ms': 200,
    log_level: 'warn',
    ...(o.primaryKey ? { primary_key: o.primaryKey } : {}),
    ...o.options,
  };
  const cdc: Record<string, unknown> = { 'topic.prefix': o.prefix, 'topic.refresh.ms': 1000 };
  if (o.include) cdc['collection.include.list'] = o.include;
  if (o.groupId) cdc['group.id'] = o.groupId;
  Object.assign(cdc, o.cdc);
  return JSON.stringify({
    name: o.name,
    version: 'v1alpha',
    type: 'nilus',
    spec: {
      type: 'cdc',
      compute: 'test',
      source: { address: `kafka://${kafkaBrokers().join(',')}`, cdc },
      sink: { address: targetPgUrl(), options },
    },
  }, null, 2);
}

/**
 * Starts a pipeline in this process; the caller stops it. `logs()` returns what it logged (warn and
 * up). `connectionsPath`: a connections file for dataos:// addresses.
 */
export async function startInProcess(manifestText: string, connectionsPath?: string): Promise<Service & { logs(): string }> {
  const { manifest } = parseManifest(manifestText, 'test-manifest.yaml');
  const cfg = await buildConfig(manifest, connectionsPath ? await loadConnectionsFile(connectionsPath) : undefined, process.env);
  const lines: string[] = [];
  const log = createLogger({ level: 'warn', name: 'nilus-pg-test', destination: { write: (l: string) => lines.push(l) } });
  const svc = await startService(cfg, { log });
  const logs = () => lines.join('');
  // A failed stop prints why, so a red test says more than "expected 0, got 1".
  const stop = async () => {
    const code = await svc.stop();
    if (code !== 0) console.error(`pipeline exited ${code}; its log:\n${logs()}`);
    return code;
  };
  return { ...svc, stop, logs };
}

/** Writes the manifest to a temp file and starts `nilus-pg run` as a child process. */
export function startWorker(manifestText: string): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const dir = mkdtempSync(join(tmpdir(), 'nilus-worker-'));
  const file = join(dir, 'manifest.yaml');
  writeFileSync(file, manifestText);
  const child = spawn(process.execPath, [join(__dirname, '../../bin/nilus-pg.js'), 'run', file], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: process.env,
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

/** Polls a SQL query until `done(rows)` holds, or fails after `timeoutMs` with the last rows. */
export async function waitFor<T extends Record<string, unknown>>(
  pool: Pool,
  sql: string,
  done: (rows: T[]) => boolean,
  timeoutMs = 60_000,
): Promise<T[]> {
  const deadline = Date.now() + timeoutMs;
  let last: T[] = [];
  for (;;) {
    try {
      last = (await pool.query<T>(sql)).rows;
      if (done(last)) return last;
    } catch (err) {
      // the table may not exist yet (auto-created by the first flush)
      if (!/does not exist/.test(String(err))) throw err;
    }
    if (Date.now() > deadline) throw new Error(`waitFor timed out after ${timeoutMs} ms; last result: ${JSON.stringify(last).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Produces any number of messages (test/helpers/kafka.ts splits them into broker-sized requests). */
export function produceMany(topic: string, messages: { key: string | null; value: string | null; partition?: number }[]): Promise<void> {
  return produce(topic, messages);
}
