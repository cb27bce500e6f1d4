/**
 * Worker processes for the operations tests: `nilus-pg run` (built binary) with a manifest and
 * an optional connections file, output captured, the HTTP port read from its own log line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from './support';

export interface RunningWorker {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  /** Exit code, or 128 + signal number when a signal ended it (as a shell reports it). */
  code: Promise<number>;
}

export function runWorker(manifest: string, opts: { connections?: string; env?: NodeJS.ProcessEnv } = {}): RunningWorker {
  const dir = mkdtempSync(join(tmpdir(), 'nilus-ops-'));
  writeFileSync(join(dir, 'manifest.yaml'), manifest);
  const args = [join(__dirname, '../../../bin/nilus-pg.js'), 'run', join(dir, 'manifest.yaml')];
  if (opts.connections !== undefined) {
    writeFileSync(join(dir, 'connections.yaml'), opts.connections);
    args.push('--connections', join(dir, 'connections.yaml'));
  }
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  const code = new Promise<number>((resolve) => child.on('exit', (c, sig) => resolve(c ?? 128 + (sig === 'SIGKILL' ? 9 : sig === 'SIGINT' ? 2 : 15))));
  return { child, output: () => out, exited, code };
}

/** The port the worker serves /metrics on (its "serving …" log line; needs log level info or lower). */
export function workerPort(w: RunningWorker, timeoutMs = 30_000): Promise<number> {
  return until('the worker to log its HTTP port', async () => {
    const m = /"port":(\d+),"msg":"serving/.exec(w.output());
    return m ? Number(m[1]) : undefined;
  }, timeoutMs, 100);
}
