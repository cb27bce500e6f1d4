/** The cores decode_threads' default counts: Node's figure capped by a cgroup CPU quota. */
import { availableCores, cgroupCpuLimit, type ReadText } from '../../../src/service/cores';

const files = (m: Record<string, string>): ReadText => (p) => m[p];

describe('cgroupCpuLimit / availableCores', () => {
  it('cgroup v2 cpu.max: whole CPUs of the quota (at least 1); "max" is no limit', () => {
    expect(cgroupCpuLimit(files({ '/sys/fs/cgroup/cpu.max': '200000 100000\n' }))).toBe(2);
    expect(cgroupCpuLimit(files({ '/sys/fs/cgroup/cpu.max': '250000 100000\n' }))).toBe(2);
    expect(cgroupCpuLimit(files({ '/sys/fs/cgroup/cpu.max': '50000 100000\n' }))).toBe(1);
    expect(cgroupCpuLimit(files({ '/sys/fs/cgroup/cpu.max': 'max 100000\n' }))).toBeUndefined();
  });

  it('cgroup v1 cfs quota and period (either mount name); -1 is no limit', () => {
    expect(cgroupCpuLimit(files({ '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '400000\n', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n' }))).toBe(4);
    expect(cgroupCpuLimit(files({ '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us': '100000', '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us': '100000' }))).toBe(1);
    expect(cgroupCpuLimit(files({ '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1\n', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n' }))).toBeUndefined();
    expect(cgroupCpuLimit(files({}))).toBeUndefined();
  });

  it("the fewer of Node's count and the quota", () => {
    const oneCpu = files({ '/sys/fs/cgroup/cpu.max': '100000 100000' });
    expect(availableCores(oneCpu, 16)).toBe(1);
    expect(availableCores(files({ '/sys/fs/cgroup/cpu.max': '800000 100000' }), 4)).toBe(4);
    expect(availableCores(files({}), 6)).toBe(6);
  });
});
