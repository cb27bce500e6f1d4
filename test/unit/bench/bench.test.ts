/** The benchmark's pure parts: workload bookkeeping, canonical rows, COPY escaping, flags, quantiles. */
import { parseArgs } from '../../../bench/args';
import { renderMarkdown } from '../../../bench/report';
import { withPgPerEvent } from '../../../bench/result';
import { canonicalLine } from '../../../bench/check';
import { selfTimes } from '../../../bench/cpuprofile';
import { histogramQuantile, parseLatencyBuckets } from '../../../bench/runners/latency';
import { copyField, copyLine } from '../../../bench/runners/pglimit';
import { partitionOf, Workload } from '../../../bench/workload';

describe('Workload', () => {
  it('keeps the 60/30/10 mix and a final state that replays the ops', () => {
    const w = new Workload(50_000, 3);
    const state = new Map<number, number>();
    for (const op of w.ops()) {
      if (op.kind === 'c') {
        expect(state.has(op.id)).toBe(false);
        state.set(op.id, op.version);
      } else {
        expect(state.get(op.id)).toBe(op.kind === 'u' ? op.version - 1 : op.version);
        if (op.kind === 'u') state.set(op.id, op.version);
        else state.delete(op.id);
      }
    }
    expect([...w.live]).toEqual([...state]);
    expect(w.counts.c + w.counts.u + w.counts.d).toBe(50_000);
    expect(w.counts.c / 50_000).toBeCloseTo(0.6, 1);
    expect(w.counts.u / 50_000).toBeCloseTo(0.3, 1);
    expect(w.counts.d / 50_000).toBeCloseTo(0.1, 1);
    expect(w.records).toBe(50_000 + w.counts.d);
    expect(w.maxId).toBe(w.counts.c);
  });

  it('is deterministic for a seed and keeps one key on one partition', () => {
    const a = [...new Workload(1000, 9).ops()];
    const b = [...new Workload(1000, 9).ops()];
    expect(a).toEqual(b);
    const seen = new Map<number, number>();
    for (let id = 1; id < 5000; id++) {
      const p = partitionOf(id, 4);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(4);
      seen.set(p, (seen.get(p) ?? 0) + 1);
      expect(partitionOf(id, 4)).toBe(p);
    }
    expect(seen.size).toBe(4);
  });
});

describe('canonical rows and COPY text', () => {
  it('typed lines hold PostgreSQL text forms; raw lines the JSON values', () => {
    const typed = canonicalLine(5, 3, 'typed').split('|');
    expect(typed[0]).toBe('5');
    expect(typed[3]).toMatch(/^-?\d+\.\d\d$/);
    expect(typed[5]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
    expect(typed[6]).toBe('2024-02-29T12:00:03.000Z');
    const raw = canonicalLine(5, 3, 'raw').split('|');
    expect(raw[5]).toMatch(/^\d+$/);
    expect(raw[3]).not.toBe(typed[3]); // base64 of the unscaled value, not the decimal text
    expect(canonicalLine(5, 5, 'typed').split('|')[4]).toBe('\\N'); // version % 5 === 0: NULL note
  });

  it('escapes backslash, tab and newlines for COPY and writes NULL as \\N', () => {
    expect(copyField('a\\b\tc\nd\re')).toBe('a\\\\b\\tc\\nd\\re');
    expect(copyField(null)).toBe('\\N');
    const fields = copyLine(7, 1).split('\t');
    expect(fields).toHaveLength(7);
    expect(fields[4]).toContain('\\t'); // the note's own tab, escaped
  });
});

describe('flags', () => {
  it('has defaults, --quick and --only', () => {
    expect(parseArgs([])).toMatchObject({ events: 1_000_000, prefill: 10_000_000, latencySeconds: 60 });
    expect(parseArgs(['--quick'])).toMatchObject({ events: 100_000, prefill: 1_000_000, latencySeconds: 20 });
    expect(parseArgs(['--only', 'merge,jdbc', '--skip-jdbc']).runs).toEqual(['merge']);
    expect(parseArgs(['--events', '2_000']).events).toBe(2000);
  });

  it('names the flag and the fix on bad input', () => {
    expect(() => parseArgs(['--events', 'many'])).toThrow(/--events needs an integer/);
    expect(() => parseArgs(['--only', 'fast'])).toThrow(/--only: unknown run name.*choose from/);
    expect(() => parseArgs(['--bogus'])).toThrow(/unknown flag "--bogus"/);
    expect(parseArgs(['--topics', 'bench_20261124145516_f569']).topics).toBe('bench_20261124145516_f569');
    expect(() => parseArgs(['--topics', 'orders'])).toThrow(/--topics needs the id of an earlier run/);
  });
});

describe('latency histogram', () => {
  it('parses Prometheus buckets and interpolates quantiles', () => {
    const text = [
      'nilus_end_to_end_latency_seconds_bucket{le="0.1",pipeline="p"} 50',
      'nilus_end_to_end_latency_seconds_bucket{le="0.5",pipeline="p"} 90',
      'nilus_end_to_end_latency_seconds_bucket{le="1",pipeline="p"} 100',
      'nilus_end_to_end_latency_seconds_bucket{le="+Inf",pipeline="p"} 100',
    ].join('\n');
    const b = parseLatencyBuckets(text);
    expect(b).toHaveLength(4);
    expect(histogramQuantile(0.5, b)).toBeCloseTo(0.1);
    expect(histogramQuantile(0.7, b)).toBeCloseTo(0.3);
    expect(histogramQuantile(0.99, b)).toBeCloseTo(0.95);
    expect(histogramQuantile(0.5, [])).toBeNaN();
  });
});

describe('cpuprofile self time', () => {
  it('charges each sample delta to its node, grouped by function and file', () => {
    const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 9 });
    const rows = selfTimes({
      nodes: [{ id: 1, callFrame: frame('parse', 'file:///x/dist/decode/message.js') }, { id: 2, callFrame: frame('', '') }],
      samples: [1, 1, 2],
      timeDeltas: [1000, 3000, 4000],
    });
    expect(rows[0]).toMatchObject({ fn: 'parse', where: 'dist/decode/message.js:10', ms: 4, pct: 50 });
    expect(rows[1]).toMatchObject({ fn: '(anonymous)', where: '(native)', ms: 4 });
  });
});

describe('report: PostgreSQL CPU against the limit', () => {
  const machine = { cores: 2, cpuModel: 'x', memoryGiB: 1, node: 'v20', postgres: '15', kafka: '4', debezium: '3', loadAvg1m: 0 };
  const run = (name: string, extra: Record<string, number>) => ({ name, ok: true, check: 'ok', events: 1_000_000, seconds: 10, eventsPerSec: 100_000, cpuSeconds: 10, extra });
  const report = (mergeExtra: Record<string, number>) => renderMarkdown({
    startedAt: 't', args: {}, machine, workload: {}, shape: [],
    runs: [run('merge', mergeExtra), run('pg-limit', { pgCpuSeconds: 2, finalRows: 500_000, finalDeletes: 100_000 })],
  });
  const line = (md: string) => md.split('\n').find((l) => l.startsWith('| PostgreSQL CPU per event'))!;

  it('judges per event and shows per row written beside it', () => {
    expect(line(report({ pgCpuSeconds: 6, rowsWritten: 1_000_000 }))).toBe(
      '| PostgreSQL CPU per event ≤ 1.5× the limit run\'s | 6.0 vs 2.0 µs (3.00×); per row written 6.0 vs 3.3 µs (1.80×; 1,000,000 rows vs 600,000) | **not met** |',
    );
  });

  it('leaves the per-row part out when the rows written are unknown', () => {
    expect(line(report({ pgCpuSeconds: 2.5 }))).toBe('| PostgreSQL CPU per event ≤ 1.5× the limit run\'s | 2.5 vs 2.0 µs (1.25×) | met |');
  });
});

describe('PostgreSQL CPU per event on every CDC run', () => {
  it('is added beside pgCpuSeconds, and left alone where there is none or it is set', () => {
    const base = { name: 'merge', ok: true, check: 'ok', events: 1_000_000, seconds: 1, eventsPerSec: 1 };
    expect(withPgPerEvent({ ...base, extra: { pgCpuSeconds: 6.3 } }).extra).toEqual({ pgCpuSeconds: 6.3, pgCpuUsPerEvent: 6.3 });
    expect(withPgPerEvent({ ...base, extra: { pgCpuSeconds: 2, pgCpuUsPerEvent: 1.9 } }).extra).toEqual({ pgCpuSeconds: 2, pgCpuUsPerEvent: 1.9 });
    expect(withPgPerEvent({ ...base, extra: { sqlP99Ms: 300 } }).extra).toEqual({ sqlP99Ms: 300 });
  });
});
