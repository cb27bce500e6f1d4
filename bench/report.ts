/** The results as a markdown report (printed and saved) and JSON; targets marked met / not met. */
import type { MachineFacts } from './stack';
import { usPer, type RunResult } from './result';

export interface BenchReport {
  startedAt: string;
  args: Record<string, unknown>;
  machine: MachineFacts;
  workload: Record<string, number | string>;
  shape: string[];
  runs: RunResult[];
}

const fmt = (n: number | undefined, digits = 0): string =>
  n === undefined || !Number.isFinite(n) ? '–' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** Peak RSS bound of every nilus-pg run, in MB (10^6 bytes; the table's column is MiB). */
export const RSS_TARGET_MB = 256;

interface Target {
  target: string;
  measured: string;
  met: boolean | undefined;
}

function targets(r: BenchReport): Target[] {
  const get = (name: string) => r.runs.find((x) => x.name === name);
  const good = (x: RunResult | undefined) => (x && x.ok ? x : undefined);
  const merge = good(get('merge'));
  const jdbc = good(get('jdbc'));
  const limit = good(get('pg-limit'));
  const lat = good(get('latency'));
  const scale = good(get('scale'));
  const missing = (names: string[]): Target['measured'] =>
    `not measured (${names.map((n) => `${n}: ${!get(n) ? 'not run' : get(n)!.ok ? 'ok' : 'FAIL'}`).join(', ')})`;
  const out: Target[] = [];
  const schemaless = good(get('merge-schemaless'));
  const perCpu = (x: RunResult): number => (x.cpuSeconds ? x.events / x.cpuSeconds : NaN);
  const pgUs = (x: RunResult): number => usPer(Number(x.extra?.pgCpuSeconds), x.events);
  // The limit writes each final row once; the worker writes a key once per flush it changes in,
  // so per row written tells PostgreSQL's own efficiency apart from the reduction a flush allows.
  const perRow = (m: RunResult, l: RunResult): string => {
    const written = Number(m.extra?.rowsWritten);
    const limitRows = Number(l.extra?.finalRows) + Number(l.extra?.finalDeletes);
    if (!(written > 0) || !(limitRows > 0)) return '';
    const a = usPer(Number(m.extra?.pgCpuSeconds), written);
    const b = usPer(Number(l.extra?.pgCpuSeconds), limitRows);
    const ratio = (Number(m.extra?.pgCpuSeconds) / written) / (Number(l.extra?.pgCpuSeconds) / limitRows); // unrounded
    return `; per row written ${fmt(a, 1)} vs ${fmt(b, 1)} µs (${fmt(ratio, 2)}×; ${fmt(written)} rows vs ${fmt(limitRows)})`;
  };
  // Issue #15's targets, each as measured in this run.
  out.push(merge ? { target: '≥ 80,000 events/s merge with schemas', measured: `${fmt(merge.eventsPerSec)} events/s`, met: merge.eventsPerSec >= 80_000 }
    : { target: '≥ 80,000 events/s merge with schemas', measured: missing(['merge']), met: undefined });
  out.push(schemaless ? { target: '≥ 100,000 events/s merge schemaless', measured: `${fmt(schemaless.eventsPerSec)} events/s`, met: schemaless.eventsPerSec >= 100_000 }
    : { target: '≥ 100,000 events/s merge schemaless', measured: missing(['merge-schemaless']), met: undefined });
  out.push(merge && jdbc ? { target: '≥ 10× the JDBC sink (events/s)', measured: `${fmt(merge.eventsPerSec / jdbc.eventsPerSec, 1)}×`, met: merge.eventsPerSec >= 10 * jdbc.eventsPerSec }
    : { target: '≥ 10× the JDBC sink (events/s)', measured: missing(['merge', 'jdbc']), met: undefined });
  if (merge && jdbc && merge.cpuSeconds && jdbc.cpuSeconds) {
    const ratio = perCpu(merge) / perCpu(jdbc);
    out.push({
      target: '≥ 10× the JDBC sink (events per CPU-second of its own process)',
      measured: `${fmt(ratio, 1)}× (${fmt(perCpu(merge))} vs ${fmt(perCpu(jdbc))} events per CPU-s: worker vs Kafka Connect JVM)`,
      met: ratio >= 10,
    });
  } else out.push({ target: '≥ 10× the JDBC sink (events per CPU-second of its own process)', measured: missing(['merge', 'jdbc']), met: undefined });
  out.push(merge && merge.cpuSeconds ? { target: 'worker CPU ≤ 10 µs per event, merge with schemas', measured: `${fmt(usPer(merge.cpuSeconds, merge.events), 1)} µs`, met: usPer(merge.cpuSeconds, merge.events) <= 10 }
    : { target: 'worker CPU ≤ 10 µs per event, merge with schemas', measured: missing(['merge']), met: undefined });
  if (merge && limit && Number.isFinite(pgUs(merge)) && Number.isFinite(pgUs(limit)) && pgUs(limit) > 0) {
    out.push({
      target: 'PostgreSQL CPU per event ≤ 1.5× the limit run\'s',
      measured: `${fmt(pgUs(merge), 1)} vs ${fmt(pgUs(limit), 1)} µs (${fmt(pgUs(merge) / pgUs(limit), 2)}×)${perRow(merge, limit)}`,
      met: pgUs(merge) <= 1.5 * pgUs(limit),
    });
  } else out.push({ target: 'PostgreSQL CPU per event ≤ 1.5× the limit run\'s', measured: missing(['merge', 'pg-limit']), met: undefined });
  out.push(merge && limit ? { target: 'share of the PostgreSQL limit (events/s)', measured: `${fmt((100 * merge.eventsPerSec) / limit.eventsPerSec, 1)}%`, met: undefined }
    : { target: 'share of the PostgreSQL limit (events/s)', measured: missing(['merge', 'pg-limit']), met: undefined });
  if (lat) {
    const sql = Number(lat.extra?.sqlP99Ms);
    const hist = Number(lat.extra?.histP99Ms);
    // The SQL figure covers every event; the worker's histogram only the first 256 events of
    // each flush (the oldest), so it is shown but not judged.
    out.push({ target: `p99 ≤ 500 ms at ${fmt(lat.eventsPerSec)} events/s`, measured: `${fmt(sql)} ms (SQL, all events); histogram ${fmt(hist)} ms`, met: sql <= 500 });
  } else out.push({ target: 'p99 ≤ 500 ms at 5k events/s', measured: missing(['latency']), met: undefined });
  // Every nilus-pg worker run (merge, merge-schemaless, merge-gzip, merge-wide, append, latency,
  // scale, batch-replace, batch-merge, batch-merge-existing); not the stage runs (consumer, decode:
  // no worker) nor merge-profiled (under --cpu-prof); batch-copy-limit has no worker (no RSS).
  const rss = r.runs.filter((x) => x.ok && x.peakRssMiB !== undefined && !['consumer', 'decode', 'merge-profiled'].includes(x.name));
  if (rss.length) {
    const peak = Math.max(...rss.map((x) => x.peakRssMiB!));
    const mb = (peak * 2 ** 20) / 1e6;
    out.push({
      target: `peak RSS ≤ ${RSS_TARGET_MB} MB (worst nilus-pg run)`,
      measured: `${fmt(mb)} MB (${rss.find((x) => x.peakRssMiB === peak)!.name}; worst of ${rss.length} run${rss.length > 1 ? 's' : ''})`,
      met: mb <= RSS_TARGET_MB,
    });
  } else out.push({ target: `peak RSS ≤ ${RSS_TARGET_MB} MB (worst nilus-pg run)`, measured: 'not measured', met: undefined });
  const soft = good(get('merge-soft'));
  out.push(merge && soft ? {
    target: '≤ 10% slower with delete_mode soft',
    measured: `${fmt(100 * (merge.eventsPerSec / soft.eventsPerSec - 1), 1)}% slower (${fmt(soft.eventsPerSec)} vs ${fmt(merge.eventsPerSec)} events/s)`,
    met: soft.eventsPerSec * 1.1 >= merge.eventsPerSec,
  } : { target: '≤ 10% slower with delete_mode soft', measured: missing(['merge', 'merge-soft']), met: undefined });
  out.push(merge && scale ? {
    target: `≤ 20% slower on a ${fmt(Number(scale.extra?.prefillRows))}-row target`,
    measured: `${fmt(100 * (merge.eventsPerSec / scale.eventsPerSec - 1), 1)}% slower (${fmt(scale.eventsPerSec)} vs ${fmt(merge.eventsPerSec)} events/s)`,
    met: scale.eventsPerSec * 1.2 >= merge.eventsPerSec,
  } : { target: '≤ 20% slower on the pre-filled target', measured: missing(['merge', 'scale']), met: undefined });
  return out;
}

export function renderMarkdown(r: BenchReport): string {
  const m = r.machine;
  const lines: string[] = [];
  lines.push(`# nilus-pg benchmark — ${r.startedAt}`, '');
  lines.push(`Machine: ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB RAM; Node ${m.node}; PostgreSQL ${m.postgres}; Kafka ${m.kafka}; Debezium ${m.debezium}; load average ${m.loadAvg1m} at start (${m.cores} = every core busy with other work).`, '');
  lines.push(`Flags: \`${JSON.stringify(r.args)}\``, '');
  lines.push('Workload: ' + Object.entries(r.workload).map(([k, v]) => `${k} ${typeof v === 'number' ? fmt(v, Number.isInteger(v) ? 0 : 1) : v}`).join(', ') + '.', '');
  lines.push(`Shape check against test/fixtures/debezium-real/: ${r.shape.length === 0 ? 'ok' : r.shape.join('; ')}`, '');
  lines.push('| run | result | events | seconds | events/s | peak RSS MiB | CPU s | details |', '| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const x of r.runs) {
    const extra = Object.entries(x.extra ?? {}).map(([k, v]) => `${k} ${typeof v === 'number' ? fmt(v, Number.isInteger(v) ? 0 : 1) : v}`).join(', ');
    lines.push(`| ${x.name} | ${x.ok ? 'ok' : '**FAIL**'} | ${fmt(x.events)} | ${fmt(x.seconds, 2)} | ${x.ok ? fmt(x.eventsPerSec) : '–'} | ${fmt(x.peakRssMiB)} | ${fmt(x.cpuSeconds, 1)} | ${[x.check, extra].filter(Boolean).join('; ')} |`);
  }
  lines.push(...batchSummary(r.runs, Number(r.args.batchRows)));
  lines.push('', '| target | measured | |', '| --- | --- | --- |');
  for (const t of targets(r)) lines.push(`| ${t.target} | ${t.measured} | ${t.met === undefined ? '–' : t.met ? 'met' : '**not met**'} |`);
  const notes = r.runs.flatMap((x) => (x.notes ?? []).map((n) => `- ${x.name}: ${n}`));
  if (notes.length) lines.push('', 'Notes:', ...notes);
  return lines.join('\n') + '\n';
}

/**
 * The batch runs beside the COPY limit: rows/s as a share of COPY alone into a table without a key
 * (the shape replace creates) and with the primary key (the shape merge creates).
 */
function batchSummary(runs: readonly RunResult[], rows: number): string[] {
  const batch = runs.filter((x) => x.name.startsWith('batch-'));
  if (batch.length === 0) return [];
  const limit = batch.find((x) => x.name === 'batch-copy-limit' && x.ok);
  const pk = limit ? Number(limit.extra?.pkRowsPerSec) : NaN;
  const pct = (v: number, of: number | undefined) => (of && Number.isFinite(of) && of > 0 ? `${fmt((100 * v) / of, 1)}%` : '–');
  const lines = ['', `Batch, MySQL → PostgreSQL (${fmt(rows)} rows), against COPY alone of the same rows:`, '',
    '| run | result | rows/s | of COPY, no key | of COPY, with key | seconds | CPU s | peak RSS MiB |', '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |'];
  for (const x of batch) {
    const ok = x.ok ? x.eventsPerSec : undefined;
    lines.push(`| ${x.name} | ${x.ok ? 'ok' : '**FAIL**'} | ${fmt(ok)} | ${ok === undefined ? '–' : pct(ok, limit?.eventsPerSec)} | ${ok === undefined ? '–' : pct(ok, pk)} | ${fmt(x.seconds, 2)} | ${fmt(x.cpuSeconds, 1)} | ${fmt(x.peakRssMiB)} |`);
    if (x === limit) lines.push(`| batch-copy-limit, with key | ok | ${fmt(pk)} | ${pct(pk, limit.eventsPerSec)} | 100.0% | ${fmt(Number(limit.extra?.pkSeconds), 2)} | – | – |`);
  }
  return lines;
}
