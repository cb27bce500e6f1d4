/** Runs `nilus-pg run` as a child process and reads its resource use from /proc. */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BROKERS, TARGET_URL } from './stack';
import { CLOCK_TICKS, statFields } from './machine-cpu';

export interface WorkerManifest {
  name: string;
  prefix: string;
  dest: string;
  strategy: 'merge' | 'append';
  httpPort?: number;
  /** collection.include.list; public.orders by default. */
  include?: string;
  /** Sink options beyond the defaults (none for the benchmark's "default settings" runs). */
  options?: Record<string, unknown>;
}

export function manifestText(m: WorkerManifest): string {
  return JSON.stringify({
    name: m.name,
    version: 'v1alpha',
    type: 'nilus',
    spec: {
      type: 'cdc',
      compute: 'bench',
      source: {
        address: `kafka://${BROKERS.join(',')}`,
        // A group of its own: a rerun on reused topics (--topics) must not resume from an earlier run's Kafka offsets.
        cdc: { 'topic.prefix': m.prefix, 'collection.include.list': m.include ?? 'public.orders', 'group.id': `nilus-pg.${m.name}.${randomBytes(3).toString('hex')}` },
      },
      sink: {
        address: TARGET_URL,
        options: { dest_table: m.dest, incremental_strategy: m.strategy, http_port: m.httpPort ?? 0, log_level: 'warn', ...m.options },
      },
    },
  }, null, 2);
}

export interface Worker {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

/** Workers still running: killed if the bench itself exits early (crash, Ctrl-C). */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    for (const c of live) c.kill('SIGKILL');
    process.exit(130);
  });
}

export function startWorker(m: WorkerManifest, nodeArgs: string[] = []): Worker {
  const dir = mkdtempSync(join(tmpdir(), 'nilus-bench-'));
  const file = join(dir, 'manifest.yaml');
  writeFileSync(file, manifestText(m));
  const bin = resolve(__dirname, '../bin/nilus-pg.js');
  const child = spawn(process.execPath, [...nodeArgs, bin, 'run', file], { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  live.add(child);
  const exited = new Promise<number | null>((r) =>
    child.on('exit', (code) => {
      live.delete(child);
      r(code);
    }),
  );
  const stop = async (graceMs = 30_000) => {
    if (child.exitCode !== null) return child.exitCode;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  return { child, output: () => out, exited, stop };
}

export interface ProcStats {
  /** Peak resident set (VmHWM), MiB. */
  peakRssMiB: number;
  /** utime + stime, seconds. */
  cpuSeconds: number;
}

/** Reads VmHWM and CPU time of a live process; call it before the process exits. */
export function procStats(pid: number): ProcStats {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
  const fields = statFields(pid) ?? [];
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return { peakRssMiB: hwm ? Number(hwm[1]) / 1024 : NaN, cpuSeconds: (utime + stime) / CLOCK_TICKS };
}

/** A free TCP port on 127.0.0.1 (for a worker's /metrics). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Where the worker's memory was at the sample with the highest RSS (MiB, from its /metrics). */
export interface MemorySample {
  rssMiB: number;
  heapTotalMiB: number;
  heapUsedMiB: number;
  externalMiB: number;
  bufferedMiB: number;
}

const metric = (text: string, name: string): number => {
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (line.startsWith(name + ' ') || line.startsWith(name + '{')) {
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
      found = true;
    }
  }
  return found ? sum / 2 ** 20 : NaN;
};

/**
 * Flushes the worker committed, their mean size, and the rows they wrote (upserts, deletes,
 * appends: what PostgreSQL did per event), from its /metrics (undefined when unreachable).
 */
export async function flushStats(port: number): Promise<{ flushes: number; eventsPerFlush: number; rowsWritten: number } | undefined> {
  try {
    const t = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    // metric() reports MiB; these are counts.
    const count = (name: string) => Math.round(metric(t, name) * 2 ** 20);
    const flushes = count('nilus_flushes_total');
    const events = count('nilus_batch_events_sum');
    const rowsWritten = count('nilus_rows_applied_total');
    return Number.isFinite(flushes) && flushes > 0 ? { flushes, eventsPerFlush: Math.round(events / flushes), rowsWritten } : undefined;
  } catch {
    return undefined;
  }
}

/** Scrapes the worker's /metrics every `everyMs` and keeps the sample with the highest RSS. */
export function memorySampler(port: number, everyMs = 500): { stop(): MemorySample | undefined } {
  let best: MemorySample | undefined;
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    fetch(`http://127.0.0.1:${port}/metrics`)
      .then((r) => r.text())
      .then((t) => {
        const s = {
          rssMiB: metric(t, 'process_resident_memory_bytes'), heapTotalMiB: metric(t, 'nodejs_heap_size_total_bytes'),
          heapUsedMiB: metric(t, 'nodejs_heap_size_used_bytes'), externalMiB: metric(t, 'nodejs_external_memory_bytes'),
          bufferedMiB: metric(t, 'nilus_buffered_bytes'),
        };
        if (Number.isFinite(s.rssMiB) && (!best || s.rssMiB > best.rssMiB)) best = s;
      }, () => undefined)
      .finally(() => (busy = false));
  }, everyMs);
  return { stop: () => { clearInterval(timer); return best; } };
}
