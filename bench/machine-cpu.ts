/**
 * Where the machine's CPU went during a run: the whole machine (/proc/stat), the stack's Kafka
 * broker and PostgreSQL server. On a 2-core machine the three share the cores with the worker,
 * so this split says whether a run was bound by the worker or by the machine.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const CLOCK_TICKS = 100; // USER_HZ on Linux
// The stack's state folder, as scripts/stack/common.sh resolves it.
const STACK = resolve(process.env.NILUS_STACK_STATE ?? resolve(__dirname, '../.stack'));

interface Snapshot {
  busy: number;
  total: number;
  kafka: number;
  pg: number;
  connect: number;
}

/**
 * The fields of /proc/<pid>/stat after the command name (which may hold spaces or parentheses:
 * split after the last ')'), so [1] is ppid, [11]/[12] utime/stime, [13]/[14] reaped children's;
 * undefined when the process is gone.
 */
export function statFields(pid: number | string): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** utime+stime (+ reaped children's when `children`), in ticks; 0 when the process is gone. */
function processTicks(pid: number | string, children: boolean): number {
  const f = statFields(pid);
  if (!f) return 0;
  return Number(f[11]) + Number(f[12]) + (children ? Number(f[13]) + Number(f[14]) : 0);
}

function pidFrom(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const n = Number(readFileSync(file, 'utf8').split('\n')[0]);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** The postmaster (with the backends it reaped) plus its live children. */
function pgTicks(postmaster: number): number {
  let t = processTicks(postmaster, true);
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    if (Number(statFields(d)?.[1]) === postmaster) t += processTicks(d, false); // 0 if it exited meanwhile
  }
  return t;
}

export function snapshot(): Snapshot {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
  const kafkaPid = pidFrom(join(STACK, 'kafka/kafka.pid'));
  const pgPid = pidFrom(join(STACK, 'pg/data/postmaster.pid'));
  const connectPid = pidFrom(join(STACK, 'connect/connect.pid'));
  return {
    busy: total - idle, total, kafka: kafkaPid ? processTicks(kafkaPid, false) : 0, pg: pgPid ? pgTicks(pgPid) : 0,
    connect: connectPid ? processTicks(connectPid, false) : 0,
  };
}

export interface CpuSplit {
  /** Share of all cores busy over the run, 0..100. */
  machineBusyPct: number;
  kafkaCpuSeconds: number;
  pgCpuSeconds: number;
  /** The Kafka Connect worker's JVM (the JDBC sink's own process in the jdbc run; idle otherwise). */
  connectCpuSeconds: number;
}

export function since(a: Snapshot): CpuSplit {
  const b = snapshot();
  return {
    machineBusyPct: Math.round((100 * (b.busy - a.busy)) / Math.max(1, b.total - a.total)),
    kafkaCpuSeconds: Math.round((b.kafka - a.kafka) / CLOCK_TICKS * 10) / 10,
    pgCpuSeconds: Math.round((b.pg - a.pg) / CLOCK_TICKS * 10) / 10,
    connectCpuSeconds: Math.round((b.connect - a.connect) / CLOCK_TICKS * 10) / 10,
  };
}

/**
 * Waits (at most `maxMs`) until the machine has been nearly idle for a second: what the previous
 * run left behind (PostgreSQL writing out its checkpoint, Kafka Connect's JVM collecting garbage)
 * must not count against the next one. Returns the milliseconds waited.
 */
export async function settle(maxMs = 30_000, busyPct = 15): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const a = snapshot();
    await new Promise((r) => setTimeout(r, 1000));
    const b = snapshot();
    const pct = (100 * (b.busy - a.busy)) / Math.max(1, b.total - a.total);
    if (pct < busyPct || Date.now() - t0 >= maxMs) return Date.now() - t0;
  }
}
