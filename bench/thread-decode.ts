/**
 * Costing decode on a worker thread in isolation (issue #15 item 4; the pipeline's version is
 * src/decode/pool.ts, measured end to end by the bench's merge-threads run): the
 * bench workload's records held in memory, decoded by the COPY-ready path (a) on the main thread,
 * (b) on one worker thread that posts back per record only what the merge buffer keeps (op, key,
 * COPY line or key line, the source position as text), rebuilt on the main thread. Main-thread
 * time is its event loop's active time (performance.eventLoopUtilization: structured-clone
 * deserialisation included); process CPU covers both threads.
 * Usage: node -r tsx/cjs bench/thread-decode.ts [records=200000] [batch=500]
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import type { RawRecord } from '../src/kernel/types';
import { CopyLine } from '../src/kernel/types';
import { Decoder } from '../src/decode/decoder';
import { records } from './copy-ready';

const PREFIX = 'bench';
const KEY = ['id'];

/** What crosses the thread boundary per record: flat strings and numbers only. */
type Compact = [op: string, key: string, text: string, lsn: string, tsMs: number] | null;

function compact(d: Decoder, r: RawRecord): Compact {
  const e = d.encodeOnly(r, KEY);
  if (e === null || e.key === undefined) return null;
  return [e.op, e.key, (e.op === 'd' ? e.keyLine : e.line) ?? '', String(e.source.lsn ?? ''), e.source.tsMs ?? 0];
}

interface Batch { keys: (Uint8Array | null)[]; values: (Uint8Array | null)[]; offsets: string[]; partition: number }

if (!isMainThread) {
  const d = new Decoder({ topicPrefix: PREFIX });
  const topic = workerData as string;
  parentPort!.on('message', (b: Batch) => {
    const out: Compact[] = [];
    for (let i = 0; i < b.offsets.length; i++) {
      const k = b.keys[i];
      const v = b.values[i];
      out.push(compact(d, { topic, partition: b.partition, offset: b.offsets[i]!, key: k ? Buffer.from(k.buffer, k.byteOffset, k.byteLength) : null, value: v ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : null }));
    }
    parentPort!.postMessage(out);
  });
} else {
  void main();
}

function cpuUs(): number {
  const c = process.cpuUsage();
  return c.user + c.system;
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 200_000);
  const batchSize = Number(process.argv[3] ?? 500);
  const recs = records(n);
  const topic = recs[0]!.topic;
  let held = 0;
  const keep = (op: string, key: string, text: string) => {
    // what the buffer would do with it: hold a CopyLine under the key
    if (op !== 'd') held += new CopyLine(text, KEY).line.length + key.length;
    else held += key.length;
  };

  // (a) inline, twice (the first pass warms up)
  let inline = 0;
  for (let pass = 0; pass < 2; pass++) {
    const d = new Decoder({ topicPrefix: PREFIX });
    const c0 = cpuUs();
    for (const r of recs) {
      const c = compact(d, r);
      if (c !== null) keep(c[0], c[1], c[2]);
    }
    inline = (cpuUs() - c0) / recs.length;
  }

  // (b) one worker thread, batches in flight while the main thread rebuilds earlier ones
  const worker = new Worker(__filename, { workerData: topic, execArgv: ['--require', 'tsx/cjs'] });
  const batches: Batch[] = [];
  for (let i = 0; i < recs.length; i += batchSize) {
    const part = recs.slice(i, i + batchSize);
    batches.push({ keys: part.map((r) => r.key), values: part.map((r) => r.value), offsets: part.map((r) => r.offset), partition: part[0]!.partition });
  }
  const run = async (): Promise<{ mainUs: number; cpu: number; wall: number }> => {
    const elu0 = performance.eventLoopUtilization();
    const c0 = cpuUs();
    const t0 = performance.now();
    let next = 0;
    let done = 0;
    await new Promise<void>((resolve) => {
      const send = () => worker.postMessage(batches[next++]!);
      worker.on('message', (out: Compact[]) => {
        for (const c of out) if (c !== null) keep(c[0], c[1], c[2]);
        if (++done === batches.length) resolve();
        else if (next < batches.length) send();
      });
      for (let k = 0; k < 4 && next < batches.length; k++) send();
    });
    worker.removeAllListeners('message');
    const elu = performance.eventLoopUtilization(elu0);
    return { mainUs: (elu.active * 1000) / recs.length, cpu: (cpuUs() - c0) / recs.length, wall: performance.now() - t0 };
  };
  await run(); // warm-up
  const t = await run();
  await worker.terminate();
  const f = (x: number) => x.toFixed(2);
  console.log(JSON.stringify({ records: recs.length, batchSize, held }));
  console.log(`inline: ${f(inline)} µs of CPU per record (main thread)`);
  console.log(`worker thread: main thread active ${f(t.mainUs)} µs per record; both threads ${f(t.cpu)} µs CPU per record; ${Math.round(recs.length / (t.wall / 1000))} records/s wall`);
}
