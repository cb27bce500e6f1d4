/** What every run reports. */
export interface RunResult {
  name: string;
  /** The target was checked equal to the expected final state. */
  ok: boolean;
  check: string;
  /** Change events (c/u/d) the run applied; Kafka records also hold one tombstone per delete. */
  events: number;
  seconds: number;
  eventsPerSec: number;
  peakRssMiB?: number;
  cpuSeconds?: number;
  /** Run-specific figures (latency percentiles, prefill size, …). */
  extra?: Record<string, string | number>;
  notes?: string[];
}

export const rate = (events: number, seconds: number): number => (seconds > 0 ? Math.round(events / seconds) : 0);

/** CPU µs per event, one decimal; NaN when nothing was measured. */
export const usPer = (cpuSeconds: number | undefined, events: number): number =>
  cpuSeconds !== undefined && events > 0 ? Math.round((cpuSeconds * 1e7) / events) / 10 : NaN;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A run that threw: reported as FAIL with the reason, the others still run. */
export function failed(name: string, err: unknown): RunResult {
  const msg = err instanceof Error ? err.message : String(err);
  return { name, ok: false, check: `error: ${msg.slice(0, 500)}`, events: 0, seconds: 0, eventsPerSec: 0 };
}

/** PostgreSQL CPU µs per event beside a CDC run's pgCpuSeconds (issue #15: for each run, beside the limit's). */
export function withPgPerEvent(r: RunResult): RunResult {
  const pg = r.extra?.pgCpuSeconds;
  if (typeof pg !== 'number' || r.extra?.pgCpuUsPerEvent !== undefined || !(r.events > 0)) return r;
  return { ...r, extra: { ...r.extra, pgCpuUsPerEvent: usPer(pg, r.events) } };
}
