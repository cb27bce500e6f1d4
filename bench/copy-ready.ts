/**
 * Micro-benchmark of the COPY-ready decode path (src/decode/copy-ready.ts) against the general
 * path, on the records the `merge` bench writes (bench/workload.ts ops through the orders
 * EventFactory with the real connector's source block, 4 partitions, tombstones included), held
 * in memory: no Kafka, no PostgreSQL, one core.
 *
 *   (a) general: Decoder.decode → Row, then what the buffer and apply derive from it per event —
 *       encodeKey (+ the old key of an update with a before image, the key-in-row check),
 *       appendRow + unavailableMask of `after`, keyRow + appendRow of a delete's key;
 *   (b) fast: Decoder.encodeOnly, which yields the same strings (proved byte-identical by
 *       test/unit/decode/copy-ready*.test.ts).
 *
 * Usage: npx tsx bench/copy-ready.ts [events=100000] [passes=5]
 */
import type { ChangeEvent, RawRecord } from '../src/kernel/types';
import { UNAVAILABLE } from '../src/kernel/types';
import { Decoder } from '../src/decode/decoder';
import { appendRow, unavailableMask } from '../src/copy-text/encode';
import { encodeKey, keyRow, keyValue } from '../src/buffer/keys';
import type { CodecContext } from '../src/decode/codecs/registry';
import { MessageParser } from '../src/decode/message';
import { type CompiledRow, type CompiledValue, compileKey, compileValue, decodeRow } from '../src/decode/schema';
import { sourceInfo, tableFromSource } from '../src/decode/source';
import { EventFactory, ordersTable } from '../test/fixtures/factory';
import { messagesOf, Workload } from './workload';

const PREFIX = 'bench';
const PARTITIONS = 4;
const KEY = ['id'];

/** The bench workload's records (schema+payload, 4 partitions), held in memory. */
export function records(events: number): RawRecord[] {
  const w = new Workload(events);
  const f = new EventFactory(ordersTable(PREFIX), true, { realSource: true });
  const out: RawRecord[] = [];
  let offset = 0;
  for (const op of w.ops()) {
    for (const m of messagesOf(f, op, PARTITIONS, 1_700_000_000_000 + offset)) {
      out.push({
        topic: f.topic, partition: m.partition, offset: String(offset++),
        key: m.key === null ? null : Buffer.from(m.key), value: m.value === null ? null : Buffer.from(m.value),
      });
    }
  }
  return out;
}

/** One pass of the general path; returns a checksum so nothing is optimised away. */
function generalPass(recs: readonly RawRecord[], d: Decoder): number {
  let sum = 0;
  let lastColumns: ChangeEvent['columns'] | undefined;
  let names: string[] = [];
  for (const r of recs) {
    const ev = d.decode(r);
    if (ev === null) continue;
    if (ev.columns !== lastColumns) {
      // apply takes the batch's column names once per batch, not per event
      lastColumns = ev.columns;
      names = ev.columns.map((c) => c.name);
    }
    if (ev.op === 'd') {
      const key = encodeKey(KEY, ev.key, ev.before);
      if (key !== undefined) sum += key.length + appendRow('', keyRow(KEY, ev.key, ev.before), KEY).length;
      continue;
    }
    if (ev.op === 't') continue;
    const after = ev.after!;
    const key = encodeKey(KEY, ev.key, after);
    let inRow = true;
    for (const c of KEY) {
      const v = keyValue(c, null, after);
      if (v === undefined || v === UNAVAILABLE) inRow = false;
    }
    const beforeKey = ev.op === 'u' && ev.before !== null ? encodeKey(KEY, null, ev.before) : undefined;
    const line = appendRow('', after, names);
    const mask = unavailableMask(after, names);
    sum += (key?.length ?? 0) + line.length + (mask?.length ?? 0) + (beforeKey?.length ?? 0) + (inRow ? 1 : 0);
  }
  return sum;
}

function fastPass(recs: readonly RawRecord[], d: Decoder): number {
  let sum = 0;
  for (const r of recs) {
    const e = d.encodeOnly(r, KEY);
    if (e === null) continue;
    sum += (e.key?.length ?? 0) + (e.line?.length ?? 0) + (e.mask?.length ?? 0) + (e.keyLine?.length ?? 0) + (e.beforeKey?.length ?? 0) + (e.keyInRow ? 1 : 0);
  }
  return sum;
}

/** Payloads parsed once, for timing the per-event work after JSON.parse alone. */
interface Parsed { value: CompiledValue; p: Record<string, unknown>; key: CompiledRow | null; kp: unknown }

const PLACEHOLDER = '__debezium_unavailable_value';
const CTX: CodecContext = { placeholder: PLACEHOLDER, placeholderBase64: Buffer.from(PLACEHOLDER).toString('base64'), binaryStrings: 'base64' };

function preParse(recs: readonly RawRecord[]): Parsed[] {
  const values = new MessageParser((s) => compileValue(s, CTX));
  const keys = new MessageParser((s) => compileKey(s, CTX));
  const out: Parsed[] = [];
  for (const r of recs) {
    if (r.value === null) continue;
    const v = values.parse(r.value, false);
    const k = r.key === null ? { compiled: null, payload: null } : keys.parse(r.key, false);
    out.push({ value: v.compiled!, p: v.payload as Record<string, unknown>, key: k.compiled, kp: k.payload });
  }
  return out;
}

/** The general path from a parsed payload: Decoder.envelope's rows (decodeRow), source, table, key row, then buffer/apply. */
function generalFromParsed(xs: readonly Parsed[]): number {
  let sum = 0;
  let last: CompiledRow | undefined;
  let names: readonly string[] = [];
  for (const x of xs) {
    const row = x.value.row!;
    if (row !== last) {
      last = row;
      names = row.columns.map((c) => c.name);
    }
    const p = x.p;
    const op = p.op as string;
    const source = sourceInfo(p.source, p.ts_ms);
    const table = tableFromSource(p.source);
    const after = op === 'd' || p.after === null ? null : decodeRow(row, p.after, PLACEHOLDER, 'after');
    const before = p.before === null ? null : decodeRow(row, p.before, PLACEHOLDER, 'before');
    const key = x.key === null ? null : decodeRow(x.key, x.kp, PLACEHOLDER, 'key');
    sum += (source.lsn === undefined ? 0 : 1) + (table === undefined ? 0 : 1);
    if (op === 'd') {
      const k = encodeKey(KEY, key, before);
      if (k !== undefined) sum += k.length + appendRow('', keyRow(KEY, key, before), KEY).length;
      continue;
    }
    const k = encodeKey(KEY, key, after);
    let inRow = true;
    for (const c of KEY) {
      const v = keyValue(c, null, after);
      if (v === undefined || v === UNAVAILABLE) inRow = false;
    }
    const beforeKey = op === 'u' && before !== null ? encodeKey(KEY, null, before) : undefined;
    const line = appendRow('', after!, names);
    const mask = unavailableMask(after!, names);
    sum += (k?.length ?? 0) + line.length + (mask?.length ?? 0) + (beforeKey?.length ?? 0) + (inRow ? 1 : 0);
  }
  return sum;
}

const INFO = { pos: { topic: `${PREFIX}.public.orders`, partition: 0, offset: '0' }, bytes: 0, topicTable: { schema: 'public', table: 'orders' } };

function fastFromParsed(xs: readonly Parsed[], d: Decoder): number {
  let sum = 0;
  for (const x of xs) {
    const e = d.encoderFor(x.value, x.key, KEY)!.encode(x.p, x.kp, INFO)!;
    sum += (e.source.lsn === undefined ? 0 : 1) + (e.table === undefined ? 0 : 1);
    sum += (e.key?.length ?? 0) + (e.line?.length ?? 0) + (e.mask?.length ?? 0) + (e.keyLine?.length ?? 0) + (e.beforeKey?.length ?? 0) + (e.keyInRow ? 1 : 0);
  }
  return sum;
}

function decodeOnlyPass(recs: readonly RawRecord[], d: Decoder): number {
  let n = 0;
  for (const r of recs) if (d.decode(r) !== null) n++;
  return n;
}

/** CPU time of this process (user + system), less disturbed than wall time by other work on the machine. */
function time(f: () => number): { us: number; check: number } {
  const c0 = process.cpuUsage();
  const check = f();
  const c = process.cpuUsage(c0);
  return { us: c.user + c.system, check };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function main(): void {
  const events = Number(process.argv[2] ?? 100_000);
  const passes = Number(process.argv[3] ?? 5);
  const recs = records(events);
  const tombstones = recs.filter((r) => r.value === null).length;
  const general = new Decoder({ topicPrefix: PREFIX });
  const fast = new Decoder({ topicPrefix: PREFIX });
  // Warm-up: compiles the schemas, lets V8 optimise both paths; the fast path must take every record.
  const g0 = generalPass(recs, general);
  const f0 = fastPass(recs, fast);
  decodeOnlyPass(recs, general);
  let deferred = 0;
  for (const r of recs) if (r.value !== null && fast.encodeOnly(r, KEY) === null) deferred++;
  if (deferred > 0) throw new Error(`the fast path deferred ${deferred} records to the general path`);
  // Both paths' checksums must agree (the strings have the same lengths), else the comparison is void.
  if (g0 !== f0) throw new Error(`checksums differ: general ${g0}, fast ${f0}`);

  const parsed = preParse(recs);
  const gp0 = generalFromParsed(parsed);
  const fp0 = fastFromParsed(parsed, fast);
  if (gp0 !== fp0) throw new Error(`checksums after parse differ: general ${gp0}, fast ${fp0}`);

  const g: number[] = [];
  const gp: number[] = [];
  const fp: number[] = [];
  const f: number[] = [];
  const d: number[] = [];
  for (let p = 0; p < passes; p++) {
    // Interleaved so drift (GC, CPU frequency, neighbours) hits both alike.
    g.push(time(() => generalPass(recs, general)).us);
    f.push(time(() => fastPass(recs, fast)).us);
    d.push(time(() => decodeOnlyPass(recs, general)).us);
    gp.push(time(() => generalFromParsed(parsed)).us);
    fp.push(time(() => fastFromParsed(parsed, fast)).us);
  }
  const fmt = (x: number) => x.toFixed(2);
  const n = recs.length;
  const ev = n - tombstones;
  const per = (us: number[]) => `${fmt(median(us) / n)} (${fmt(Math.min(...us) / n)})`;
  const perEv = (us: number[]) => fmt(median(us) / ev);
  console.log(`records ${n} (${ev} events, ${tombstones} tombstones) from ${events} workload ops; ${passes} passes each, median (min) of CPU µs`);
  console.log(`(a) general: decode + appendRow + encodeKey (+ mask, keyRow, old key) : ${per(g)} µs/record, ${perEv(g)} µs/event`);
  console.log(`(b) fast:    Decoder.encodeOnly                                         : ${per(f)} µs/record, ${perEv(f)} µs/event`);
  console.log(`    for reference, Decoder.decode alone (the bench's decode stage)      : ${per(d)} µs/record`);
  console.log(`after JSON.parse only (payloads parsed beforehand), per event:`);
  console.log(`(a') general: decodeRow (after, before, key) + source + appendRow + encodeKey + mask : ${fmt(median(gp) / ev)} (${fmt(Math.min(...gp) / ev)}) µs/event`);
  console.log(`(b') fast:    encoder.encode                                                       : ${fmt(median(fp) / ev)} (${fmt(Math.min(...fp) / ev)}) µs/event`);
  console.log(`fast / general: ${(median(fp) / median(gp)).toFixed(2)}× after parse;`, `whole record`);
  console.log(`fast / general: ${(median(f) / median(g)).toFixed(2)}×   all passes µs/record: general ${g.map((x) => fmt(x / n)).join(' ')}; fast ${f.map((x) => fmt(x / n)).join(' ')}`);
}

if (require.main === module) main();
