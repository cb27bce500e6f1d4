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

/** A target, judged when `ok` is a boolean; `measured` undefined: not measured (names the runs missing). */
function target(t: string, measured: string | undefined, met: boolean | undefined, missing: string): Target {
  return measured === undefined ? { target: t, measured: missing, met: undefined } : { target: t, measured, met };
}

/** Issue #30's targets (and the standing ones), each as measured in this run. */
function targets(r: BenchReport): Target[] {
  const get = (name: string) => r.runs.find((x) => x.name === name);
  const good = (x: RunResult | undefined) => (x && x.ok ? x : undefined);
  const missing = (names: string[]): string =>
    `not measured (${names.map((n) => `${n}: ${!get(n) ? 'not run' : get(n)!.ok ? 'ok' : 'FAIL'}`).join(', ')})`;
  const [merge, jdbc, limit, scale, soft] = ['merge', 'jdbc', 'pg-limit', 'scale', 'merge-soft'].map((n) => good(get(n)));
  const [consumer, decode] = [good(get('consumer')), good(get('decode'))];
  const perCpu = (x: RunResult): number => (x.cpuSeconds ? x.events / x.cpuSeconds : NaN);
  const pgUs = (x: RunResult): number => usPer(Number(x.extra?.pgCpuSeconds), x.events);
  const out: Target[] = [];
  // Freshness: p99 of every event, SQL-measured, at a steady rate (the histogram is shown, not judged).
  for (const [rate, bound] of [[1000, undefined], [5000, 100], [20000, 150]] as const) {
    const name = `latency-${rate / 1000}k`;
    const lat = good(get(name));
    const sql = Number(lat?.extra?.sqlP99Ms);
    out.push(target(bound === undefined ? `p99 at ${fmt(rate)} events/s (shown)` : `p99 ≤ ${bound} ms at ${fmt(rate)} events/s`,
      lat && `${fmt(sql)} ms (SQL, all events; held ${fmt(lat.eventsPerSec)} events/s, ${fmt(Number(lat.extra?.flushes))} flushes); histogram ${fmt(Number(lat.extra?.histP99Ms))} ms`,
      bound === undefined || !lat ? undefined : sql <= bound, missing([name])));
  }
  // Batch loads against COPY alone of the same rows into a table without a key (batch-copy-limit).
  const copy = good(get('batch-copy-limit'));
  for (const [name, share] of [['batch-replace', 50], ['batch-merge', 40], ['batch-merge-existing', 30]] as const) {
    const b = good(get(name));
    const pct = b && copy ? (100 * b.eventsPerSec) / copy.eventsPerSec : undefined;
    out.push(target(`${name} ≥ ${share}% of COPY alone`, pct === undefined ? undefined : `${fmt(pct, 1)}% (${fmt(b!.eventsPerSec)} vs ${fmt(copy!.eventsPerSec)} rows/s)`,
      pct === undefined ? undefined : pct >= share, missing([name, 'batch-copy-limit'])));
  }
  // The worker's own share: its CPU per event less kafkajs alone and the decoder alone (judged in paired runs).
  const decodeUs = Number(decode?.extra?.mergeUsPerEvent);
  const own = merge?.cpuSeconds && consumer?.cpuSeconds && Number.isFinite(decodeUs)
    ? { merge: usPer(merge.cpuSeconds, merge.events), consumer: usPer(consumer.cpuSeconds, consumer.events) } : undefined;
  out.push(target('worker\'s own share per event (merge − consumer − decode; judged in paired runs)',
    own && `${fmt(own.merge - own.consumer - decodeUs, 1)} µs (${fmt(own.merge, 1)} − ${fmt(own.consumer, 1)} − ${fmt(decodeUs, 1)})`, undefined, missing(['merge', 'consumer', 'decode'])));
  const ratio = merge && jdbc && merge.cpuSeconds && jdbc.cpuSeconds ? perCpu(merge) / perCpu(jdbc) : undefined;
  out.push(target('≥ 7× the JDBC sink\'s events per CPU-second of its own process', ratio === undefined ? undefined
    : `${fmt(ratio, 1)}× (${fmt(perCpu(merge!))} vs ${fmt(perCpu(jdbc!))} events per CPU-s: worker vs Kafka Connect JVM)`, ratio === undefined ? undefined : ratio >= 7, missing(['merge', 'jdbc'])));
  const pg = merge && limit && pgUs(limit) > 0 && Number.isFinite(pgUs(merge)) ? pgUs(merge) / pgUs(limit) : undefined;
  out.push(target('PostgreSQL CPU per event ≤ 2× the limit run\'s', pg === undefined ? undefined : `${fmt(pgUs(merge!), 1)} vs ${fmt(pgUs(limit!), 1)} µs (${fmt(pg, 2)}×)`,
    pg === undefined ? undefined : pg <= 2, missing(['merge', 'pg-limit'])));
  // The limit writes each final row once; the worker writes a key once per flush it changes in.
  const written = Number(merge?.extra?.rowsWritten);
  const limitRows = Number(limit?.extra?.finalRows) + Number(limit?.extra?.finalDeletes);
  const row = merge && limit && written > 0 && limitRows > 0
    ? { a: usPer(Number(merge.extra?.pgCpuSeconds), written), b: usPer(Number(limit.extra?.pgCpuSeconds), limitRows),
        x: (Number(merge.extra?.pgCpuSeconds) / written) / (Number(limit.extra?.pgCpuSeconds) / limitRows) } : undefined;
  out.push(target('PostgreSQL CPU per row written ≤ 1.5× the limit run\'s', row && `${fmt(row.a, 1)} vs ${fmt(row.b, 1)} µs (${fmt(row.x, 2)}×; ${fmt(written)} rows vs ${fmt(limitRows)})`,
    row && row.x <= 1.5, missing(['merge', 'pg-limit'])));
  out.push(target('merge events/s at saturation (shown; judged against the previous code in paired runs)', merge && `${fmt(merge.eventsPerSec)} events/s${limit ? `, ${fmt((100 * merge.eventsPerSec) / limit.eventsPerSec, 1)}% of the PostgreSQL limit` : ''}`, undefined, missing(['merge'])));
  // Every nilus-pg worker run; not the stage runs (consumer, decode: no worker) nor merge-profiled
  // (under --cpu-prof); batch-copy-limit has no worker (no RSS).
  const rss = r.runs.filter((x) => x.ok && x.peakRssMiB !== undefined && !['consumer', 'decode', 'merge-profiled'].includes(x.name));
  const peak = rss.length ? Math.max(...rss.map((x) => x.peakRssMiB!)) : undefined;
  const mb = peak === undefined ? undefined : (peak * 2 ** 20) / 1e6;
  out.push(target(`peak RSS ≤ ${RSS_TARGET_MB} MB (worst nilus-pg run)`, mb === undefined ? undefined
    : `${fmt(mb)} MB (${rss.find((x) => x.peakRssMiB === peak)!.name}; worst of ${rss.length} run${rss.length > 1 ? 's' : ''})`, mb === undefined ? undefined : mb <= RSS_TARGET_MB, 'not measured'));
  out.push(target('≤ 10% slower with delete_mode soft', merge && soft ? `${fmt(100 * (merge.eventsPerSec / soft.eventsPerSec - 1), 1)}% slower (${fmt(soft.eventsPerSec)} vs ${fmt(merge.eventsPerSec)} events/s)` : undefined,
    merge && soft ? soft.eventsPerSec * 1.1 >= merge.eventsPerSec : undefined, missing(['merge', 'merge-soft'])));
  out.push(target(`≤ 20% slower on a ${fmt(Number(scale?.extra?.prefillRows))}-row target`, merge && scale ? `${fmt(100 * (merge.eventsPerSec / scale.eventsPerSec - 1), 1)}% slower (${fmt(scale.eventsPerSec)} vs ${fmt(merge.eventsPerSec)} events/s)` : undefined,
    merge && scale ? scale.eventsPerSec * 1.2 >= merge.eventsPerSec : undefined, missing(['merge', 'scale'])));
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
