/**
 * How many cores this process may use: what Node reports (the CPU affinity mask), capped by a
 * cgroup CPU quota (a container's `--cpus`, a Kubernetes CPU limit). Node 20's libuv (1.46) does
 * not read the quota, so on a 16-core host a container limited to one CPU would count 16.
 * Only the container's own cgroup is read (cgroup namespaces make it the root of /sys/fs/cgroup).
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

export type ReadText = (path: string) => string | undefined;

const readText: ReadText = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/** Whole CPUs of a cgroup quota (at least 1), or undefined when none is set or readable. */
export function cgroupCpuLimit(read: ReadText = readText): number | undefined {
  // cgroup v2: "<quota> <period>" or "max <period>"
  const v2 = read('/sys/fs/cgroup/cpu.max')?.trim().split(/\s+/);
  if (v2 && v2.length === 2) return v2[0] === 'max' ? undefined : cpus(Number(v2[0]), Number(v2[1]));
  // cgroup v1: quota -1 means none
  for (const dir of ['/sys/fs/cgroup/cpu', '/sys/fs/cgroup/cpu,cpuacct']) {
    const quota = read(`${dir}/cpu.cfs_quota_us`);
    const period = read(`${dir}/cpu.cfs_period_us`);
    if (quota !== undefined && period !== undefined) return cpus(Number(quota.trim()), Number(period.trim()));
  }
  return undefined;
}

function cpus(quota: number, period: number): number | undefined {
  if (!Number.isFinite(quota) || !Number.isFinite(period) || quota <= 0 || period <= 0) return undefined;
  return Math.max(1, Math.floor(quota / period));
}

export function availableCores(read: ReadText = readText, reported: number = availableParallelism()): number {
  const limit = cgroupCpuLimit(read);
  return limit === undefined ? reported : Math.min(reported, limit);
}
