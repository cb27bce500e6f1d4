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
  const line = (md: string, start = '| PostgreSQL CPU per event') => md.split('\n').find((l) => l.startsWith(start))!;

  it('judges per event against 2× the limit and per row written against 1.5×', () => {
    const md = report({ pgCpuSeconds: 6, rowsWritten: 1_000_000 });
    expect(line(md)).toBe('| PostgreSQL CPU per event ≤ 2× the limit run\'s | 6.0 vs 2.0 µs (3.00×) | **not met** |');
    expect(line(md, '| PostgreSQL CPU per row written')).toBe(
      '| PostgreSQL CPU per row written ≤ 1.5× the limit run\'s | 6.0 vs 3.3 µs (1.80×; 1,000,000 rows vs 600,000) | **not met** |',
    );
    const met = report({ pgCpuSeconds: 3.9, rowsWritten: 1_000_000 });
    expect(line(met)).toBe('| PostgreSQL CPU per event ≤ 2× the limit run\'s | 3.9 vs 2.0 µs (1.95×) | met |');
    expect(line(met, '| PostgreSQL CPU per row written')).toContain('(1.17×; 1,000,000 rows vs 600,000) | met |');
  });

  it('says per row written is not measured when the rows written are unknown', () => {
    const md = report({ pgCpuSeconds: 2.5 });
    expect(line(md)).toBe('| PostgreSQL CPU per event ≤ 2× the limit run\'s | 2.5 vs 2.0 µs (1.25×) | met |');
    expect(line(md, '| PostgreSQL CPU per row written')).toContain('not measured');
  });
});

describe('report: issue #30 targets', () => {
  const machine = { cores: 2, cpuModel: 'x', memoryGiB: 1, node: 'v20', postgres: '15', kafka: '4', debezium: '3', loadAvg1m: 0 };
  const run = (name: string, eventsPerSec: number, extra: Record<string, number> = {}, cpuSeconds?: number) =>
    ({ name, ok: true, check: 'ok', events: 1_000_000, seconds: 10, eventsPerSec, ...(cpuSeconds ? { cpuSeconds } : {}), extra });
  const md = renderMarkdown({
    startedAt: 't', args: {}, machine, workload: {}, shape: [],
    runs: [
      run('latency-5k', 5000, { sqlP99Ms: 90, flushes: 3000, histP99Ms: 120 }), run('latency-20k', 20000, { sqlP99Ms: 151 }),
      run('batch-copy-limit', 400_000), run('batch-replace', 200_000), run('batch-merge', 150_000),
      run('merge', 50_000, {}, 20), run('consumer', 200_000, {}, 5), run('decode', 100_000, { mergeUsPerEvent: 7.5 }), run('jdbc', 9000, {}, 100),
    ],
  });
  const row = (start: string) => md.split('\n').find((l) => l.startsWith(`| ${start}`))!;

  it('judges latency per rate on the SQL p99 and shows the rate not run as not measured', () => {
    expect(row('p99 ≤ 100 ms at 5,000')).toMatch(/90 ms .* \| met \|$/);
    expect(row('p99 ≤ 150 ms at 20,000')).toMatch(/151 ms .* \| \*\*not met\*\* \|$/);
    expect(row('p99 at 1,000')).toContain('not measured (latency-1k: not run)');
  });

  it('judges batch runs as a share of COPY alone', () => {
    expect(row('batch-replace ≥ 50%')).toContain('50.0% (200,000 vs 400,000 rows/s) | met |');
    expect(row('batch-merge ≥ 40%')).toContain('37.5% (150,000 vs 400,000 rows/s) | **not met** |');
    expect(row('batch-merge-existing ≥ 30%')).toContain('not measured (batch-merge-existing: not run, batch-copy-limit: ok)');
  });

  it('shows the worker\'s own share (merge − consumer − decode) without a verdict, and judges events per CPU-second against the JDBC sink', () => {
    expect(row('worker\'s own share')).toBe('| worker\'s own share per event (merge − consumer − decode; judged in paired runs) | 7.5 µs (20.0 − 5.0 − 7.5) | – |');
    expect(row('≥ 7× the JDBC sink')).toContain('5.0× (50,000 vs 10,000 events per CPU-s');
    expect(row('≥ 7× the JDBC sink')).toMatch(/\*\*not met\*\* \|$/);
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
