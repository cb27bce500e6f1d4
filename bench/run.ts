/**
 * `npm run bench`: writes one workload into fresh topics, runs every sink over it, checks each
 * target against the workload's final state and reports throughput, resources, latency and the
 * targets. See docs/benchmark.md.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, type RunName } from './args';
import { renderMarkdown, type BenchReport } from './report';
import { failed, withPgPerEvent, type RunResult } from './result';
import { consumerOnlyRun, decodeOnlyRun } from './runners/stages';
import { jdbcRun, removeConnector } from './runners/jdbc';
import { latencyName, latencyRun } from './runners/latency';
import { appendRun, mergeRun } from './runners/nilus';
import { pgLimitRun } from './runners/pglimit';
import { batchCopyLimitRun, BatchSource, batchWorkerRun, isBatchRun } from './runners/batch';
import { shapeCheck } from './shape';
import { kafka, machineFacts, quoteIdent, TARGET_URL, withPg } from './stack';
import { factories, gzipFactory, produceWorkload, wideFactory, type ProduceGroup } from './topics';
import { expectedWideDigest, WIDE_TABLE, wideRow, wideTableDigest } from './wide';
import { expectedDigest, tableDigest } from './check';
import { CompressionTypes } from 'kafkajs';
import { Workload } from './workload';
import { renderTop, selfTimes } from './cpuprofile';
import { settle } from './machine-cpu';

const log = (s: string): void => console.log(`[${new Date().toISOString().slice(11, 19)}] ${s}`);

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const startedAt = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const id = args.topics ?? `bench_${startedAt.replace(/[-:TZ]/g, '').slice(0, 14)}_${randomBytes(2).toString('hex')}`;
  const machine = await machineFacts();
  const cdc = args.runs.some((r) => !isBatchRun(r));
  log(`bench ${id}: runs ${args.runs.join(', ')}; ${cdc ? `${args.events} events` : `${args.batchRows} batch rows`}`);
  const shape = shapeCheck();
  console.log(shape.length === 0 ? 'shape check: ok' : `shape check: differences:\n  ${shape.join('\n  ')}`);

  const w = new Workload(args.events);
  const ww = new Workload(args.wideEvents);
  const fs = factories(id, `${id}_nos`);
  const gz = gzipFactory(`${id}_gz`);
  const wide = wideFactory(`${id}_wide`);
  const wants = (r: RunName) => args.runs.includes(r);
  const needsBase = args.runs.some((r) => !['latency', 'merge-gzip', 'merge-wide'].includes(r) && !isBatchRun(r));
  // With --topics a base topic must exist; the gzip and wide topics are produced if that run had none.
  const groups: ProduceGroup[] = [];
  if (needsBase && !(args.topics && (await reusable(fs.map((f) => f.topic), w, true)))) groups.push({ factories: fs });
  if (wants('merge-gzip') && !(args.topics && (await reusable([gz.topic], w, false)))) groups.push({ factories: [gz], options: { compression: CompressionTypes.GZIP } });
  if (groups.length) log(`producing ${args.events} events into ${groups.flatMap((g) => g.factories.map((f) => f.topic)).join(', ')}`);
  const produced = cdc ? await produceWorkload(w, groups, log) : { seconds: 0, rawBytes: new Map<string, number>() };
  let wideRaw: number | undefined;
  let wideSeconds = 0;
  if (wants('merge-wide')) {
    const reuse = args.topics !== undefined && (await reusable([wide.topic], ww, false));
    if (!reuse) log(`producing ${args.wideEvents} wide events into ${wide.topic}`);
    const p = await produceWorkload(ww, reuse ? [] : [{ factories: [wide], options: { row: wideRow } }], log);
    wideRaw = p.rawBytes.get(wide.topic);
    wideSeconds = p.seconds;
  }
  const workload: Record<string, number | string> = !cdc ? {} : {
    events: w.events, creates: w.counts.c, updates: w.counts.u, deletes: w.counts.d, 'Kafka records (with tombstones)': w.records,
    'keys used': w.maxId, 'final rows': w.live.size, partitions: 4, 'produce seconds': Math.round(produced.seconds + wideSeconds),
  };
  const raw = produced.rawBytes.get(fs[0]!.topic);
  if (raw !== undefined) workload['raw MiB (schema+payload topic)'] = Math.round(raw / 2 ** 20);
  if (wants('merge-wide')) {
    Object.assign(workload, { 'wide events': ww.events, 'wide records': ww.records, 'wide final rows': ww.live.size });
    if (wideRaw !== undefined) workload['wide raw MiB'] = Math.round(wideRaw / 2 ** 20);
  }
  // Batch runs: one MySQL source table for all of them, generated and dumped now (not timed).
  const batch = args.runs.some(isBatchRun) ? new BatchSource(`${id}_orders`, args.batchRows) : undefined;
  if (batch) {
    try {
      Object.assign(workload, await batch.prepare(log));
    } catch (e) {
      await batch.cleanup().catch(() => undefined);
      throw e;
    }
  }
  log(`workload: ${JSON.stringify(workload)}`);

  // --memory-budget / --sink-option / --worker-node-args: the same for every nilus-pg worker run.
  const tuning = {
    ...(args.memoryBudget !== undefined || Object.keys(args.sinkOptions).length
      ? { options: { ...args.sinkOptions, ...(args.memoryBudget !== undefined ? { memory_budget_bytes: args.memoryBudget } : {}) } } : {}),
    ...(args.workerNodeArgs.length ? { nodeArgs: [...args.workerNodeArgs] } : {}),
  };
  const schemas: string[] = [];
  const schema = (run: string) => {
    const s = `${id}_${run.replace(/-/g, '_')}`;
    schemas.push(s);
    return s;
  };
  const plan: Record<RunName, () => Promise<RunResult | RunResult[]>> = {
    merge: () => mergeRun({ name: 'merge', schema: schema('merge'), prefix: id, flavour: 'typed', workload: w, ...tuning }),
    // merge again with one decode thread (spec.sink.options.decode_threads), whatever the machine's default.
    'merge-threads': () => mergeRun({ name: 'merge-threads', schema: schema('merge_threads'), prefix: id, flavour: 'typed', workload: w, ...tuning, options: { ...tuning.options, decode_threads: 1 } }),
    // merge with delete_mode soft: deletes become UPDATEs that mark the row; checked on the live rows.
    'merge-soft': () => {
      const s = schema('merge_soft');
      return mergeRun({
        name: 'merge-soft', schema: s, prefix: id, flavour: 'typed', workload: w, ...tuning, options: { ...tuning.options, delete_mode: 'soft' },
        table: { name: 'orders', expected: () => expectedDigest(w, 'typed'), actual: (c) => tableDigest(c, s, 'orders', 'typed', w.maxId, true) },
      });
    },
    // merge with a column filter (spec.sink.options.columns.exclude: [note]): the decoder's compiled filter on the hot path.
    'merge-filtered': () => {
      const s = schema('merge_filtered');
      return mergeRun({
        name: 'merge-filtered', schema: s, prefix: id, flavour: 'typed', workload: w, ...tuning,
        options: { ...tuning.options, columns: { exclude: ['note'] } },
        table: { name: 'orders', expected: () => expectedDigest(w, 'typed', { withoutNote: true }), actual: (c) => tableDigest(c, s, 'orders', 'typed', w.maxId, false, { withoutNote: true }) },
      });
    },
    'merge-schemaless': () => mergeRun({ name: 'merge-schemaless', schema: schema('merge_nos'), prefix: `${id}_nos`, flavour: 'raw', workload: w, ...tuning }),
    'merge-gzip': () => mergeRun({ name: 'merge-gzip', schema: schema('merge_gz'), prefix: `${id}_gz`, flavour: 'typed', workload: w, ...tuning }),
    'merge-wide': () => {
      const s = schema('merge_wide');
      return mergeRun({
        name: 'merge-wide', schema: s, prefix: `${id}_wide`, flavour: 'typed', workload: ww, ...tuning,
        table: { name: WIDE_TABLE, expected: () => expectedWideDigest(ww), actual: (c) => wideTableDigest(c, s) },
      });
    },
    consumer: () => consumerOnlyRun(fs[0]!.topic, w),
    decode: () => decodeOnlyRun(fs[0]!.topic, id, w),
    jdbc: () => jdbcRun(`${id}_jdbc`, fs[0]!.topic, w),
    'pg-limit': () => pgLimitRun(schema('pglimit'), w),
    append: () => appendRun('append', schema('append'), id, w, tuning.options, tuning.nodeArgs),
    scale: () => mergeRun({ name: 'scale', schema: schema('scale'), prefix: id, flavour: 'typed', workload: w, prefill: args.prefill, ...tuning }),
    // One run per rate (--latency-rates), each on a fresh topic: latency-1k, latency-5k, latency-20k.
    latency: async () => {
      const out: RunResult[] = [];
      for (const r of args.latencyRates) {
        const name = latencyName(r);
        out.push(await latencyRun(name, schema(name.replace('-', '_')), `${id}_lat${r}`, args.latencySeconds, r, tuning.options, tuning.nodeArgs).catch((err: unknown) => failed(name, err)));
      }
      return out;
    },
    'batch-copy-limit': () => batchCopyLimitRun(schema('batch_copy_limit'), batch!),
    'batch-replace': () => batchWorkerRun({ name: 'batch-replace', schema: schema('batch_replace'), source: batch!, ...tuning }),
    'batch-merge': () => batchWorkerRun({ name: 'batch-merge', schema: schema('batch_merge'), source: batch!, ...tuning }),
    'batch-merge-existing': () => batchWorkerRun({ name: 'batch-merge-existing', schema: schema('batch_merge_existing'), source: batch!, ...tuning }),
    'batch-merge-changed': () => batchWorkerRun({ name: 'batch-merge-changed', schema: schema('batch_merge_changed'), source: batch!, ...tuning }),
    'batch-verify': async () => (await import('./runners/verify')).batchVerifyRun(schema('batch_verify'), batch!),
  };
  const runs: RunResult[] = [];
  try {
    for (const name of args.runs) {
      // Each run starts on a quiet machine: the previous one's writes checkpointed, its load gone.
      await withPg(TARGET_URL, (c) => c.query('CHECKPOINT')).catch((e: unknown) => log(`checkpoint: ${String(e)}`));
      const waited = await settle();
      log(`run ${name}… (machine settled after ${(waited / 1000).toFixed(0)} s)`);
      const got = await plan[name]().catch((err: unknown) => failed(name, err));
      for (const r0 of Array.isArray(got) ? got : [got]) {
        const r = isBatchRun(name) ? r0 : withPgPerEvent(r0);
        runs.push(r);
        log(`  ${r.name} ${r.ok ? 'ok' : 'FAIL'}: ${r.ok ? `${r.eventsPerSec} ${isBatchRun(name) ? 'rows' : 'events'}/s in ${r.seconds.toFixed(2)} s; ` : ''}${r.check}`);
      }
    }
    if (args.profileDir) runs.push(await profiledMerge(args.profileDir, schema('profiled'), id, w, tuning.options));
  } finally {
    await cleanup(schemas, `${id}_jdbc`);
    await batch?.cleanup().catch((e: unknown) => log(`cleanup: batch source: ${String(e)}`));
  }

  const report: BenchReport = { startedAt, args: { ...args }, machine, workload, shape, runs };
  const md = renderMarkdown(report);
  console.log('\n' + md);
  mkdirSync(args.resultsDir, { recursive: true });
  const stamp = startedAt.replace(/:/g, '-');
  writeFileSync(join(args.resultsDir, `${stamp}.md`), md);
  writeFileSync(join(args.resultsDir, `${stamp}.json`), JSON.stringify(report, null, 2));
  log(`written ${join(args.resultsDir, stamp)}.md and .json`);
  return runs.every((r) => r.ok) ? 0 : 1;
}

/** A separate merge run under node --cpu-prof (profiling slows it, so its figures are not the merge figures). */
async function profiledMerge(dir: string, schemaName: string, prefix: string, w: Workload, options?: Record<string, unknown>): Promise<RunResult> {
  mkdirSync(dir, { recursive: true });
  const before = new Set(readdirSync(dir));
  const r = await mergeRun({ name: 'merge-profiled', schema: schemaName, prefix, flavour: 'typed', workload: w, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`], ...(options ? { options } : {}) })
    .catch((err: unknown) => failed('merge-profiled', err));
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile') && !before.has(f));
  if (file) {
    const top = renderTop(selfTimes(JSON.parse(readFileSync(join(dir, file), 'utf8'))), 25);
    console.log(`\nCPU profile ${join(dir, file)} — top self time:\n${top}\n`);
    r.notes = [...(r.notes ?? []), `profile ${join(dir, file)}; summarise with: npx tsx bench/cpuprofile.ts <file>`];
  }
  return r;
}

/**
 * --topics: true when every topic exists and holds exactly this workload's records (same --events);
 * a missing topic is an error when `required`, else false (it is produced anew).
 */
async function reusable(topics: string[], w: Workload, required: boolean): Promise<boolean> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t));
    if (missing.length) {
      if (required) throw new Error(`--topics: topic ${missing[0]} does not exist; give the id of a run whose topics are still in Kafka`);
      return false;
    }
    // The record count is known once the ops ran; a replay of the seeded generator gives it.
    const records = new Workload(w.events).countRecords();
    for (const t of topics) {
      const held = (await admin.fetchTopicOffsets(t)).reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
      if (held !== records) {
        throw new Error(`--topics: ${t} holds ${held} records but this workload has ${records}; pass the --events (or --wide-events) of the run that produced it`);
      }
    }
    log(`reusing ${topics.join(' and ')}`);
    return true;
  } finally {
    await admin.disconnect();
  }
}

/** Drops every schema the bench made and its JDBC connector; topics stay. */
async function cleanup(schemas: string[], connector: string): Promise<void> {
  await removeConnector(connector).catch((e: unknown) => log(`cleanup: connector ${connector}: ${String(e)}`));
  await withPg(TARGET_URL, async (c) => {
    for (const s of schemas) await c.query(`DROP SCHEMA IF EXISTS ${quoteIdent(s)} CASCADE`);
  }).catch((e: unknown) => log(`cleanup: ${String(e)}`));
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(2);
  },
);
