/**
 * Decoding merge batches on worker threads (spec.sink.options.decode_threads): each thread runs
 * Decoder.decodeForMerge on the batches it is sent and replies with what the merge buffer keeps of
 * each record it can hold as a COPY line — flat strings, cheap to move — which the main thread
 * turns back into the CopyReadyEvents the intake would have made itself. Every other record
 * (general path, tombstones, key changes, errors) is left to the main thread's own decoder, so
 * errors and the general path behave exactly as without threads.
 *
 * A topic whose records mostly take the general path (schemaless JSON, MongoDB) is not sent for a
 * while: the thread would parse every record for nothing and the main thread again.
 * A thread that fails turns the pool off; the main thread decodes everything from then on.
 */
import { extname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { CopyReadyEvent } from '../kernel/types';
import type { RawRecord, SourceTable } from '../kernel/types';
import { isKeyChange } from './record';
import { Kind, META_FIELDS, type DecodeReply, type DecodeRequest, type DecodeResponse, type RequestPart, type WireDesc, type WorkerInit } from './pool-protocol';

/** Per record: the event the intake takes as it is, or undefined where the main thread decodes. */
export type Prepared = readonly (CopyReadyEvent | undefined)[];

export interface DecodePoolOptions extends WorkerInit {
  readonly threads: number;
  /**
   * Each thread's old generation limit, MiB (64 when absent). Up to 256 MiB V8 lets an old
   * generation grow to at most 1.3× what its last collection left, not up to 4× (its heap
   * controller's factor for small limits); a thread holds its decoder's caches and one request.
   * A thread that reaches it fails like any other: the main thread decodes from then on.
   */
  readonly maxOldGenerationMb?: number;
  /** A thread failed: the pool is off from now on. */
  readonly onError?: (err: Error) => void;
}

/** Below this share of records held as lines, a topic is decoded on the main thread for a while. */
const MIN_SHARE = 0.5;
/** How many of a topic's batches stay on the main thread before it is tried on a thread again. */
const SKIP_BATCHES = 64;

const THREAD_YOUNG_GENERATION_MB = 8;

interface Pending {
  readonly part: RequestPart;
  readonly records: readonly RawRecord[];
  resolve(p: Prepared | undefined): void;
}

interface Thread {
  readonly worker: Worker;
  /** Requests sent and not answered yet. */
  busy: number;
  readonly pending: Map<number, Pending>;
  /** Descriptors by this thread's ids, as canonical arrays. */
  readonly descs: Map<number, Desc>;
  readonly tables: Map<number, SourceTable>;
}

interface Desc {
  readonly columns: WireDesc['columns'];
  readonly names: readonly string[];
  readonly keyColumns: readonly string[];
}

export class DecodePool {
  private readonly threads: Thread[] = [];
  private next = 0;
  private nextId = 0;
  /**
   * Request buffers the threads handed back. Reused: a fresh buffer of a few MiB is fresh memory
   * the copy faults in page by page (bench, merge-gzip: 1.4 s of 300k records' copies).
   */
  private readonly spares: ArrayBuffer[] = [];
  /** Batches handed over in this turn of the event loop: sent together, in one message. */
  private outbox: Pending[] = [];
  private sending: NodeJS.Immediate | undefined;
  private broken = false;
  /** One descriptor per content across threads: the buffer compares columns by identity first. */
  private readonly canonical = new Map<string, Desc>();
  /** Per topic: batches left on the main thread before the next try. */
  private readonly skip = new Map<string, number>();

  constructor(private readonly opts: DecodePoolOptions) {
    const ts = extname(__filename) === '.ts'; // run from source (tests, benches): the thread loads TypeScript too
    const file = join(__dirname, `pool-worker${ts ? '.ts' : '.js'}`);
    const init: WorkerInit = { decoder: opts.decoder, ...(opts.keyColumns ? { keyColumns: opts.keyColumns } : {}) };
    for (let i = 0; i < opts.threads; i++) {
      const worker = new Worker(file, {
        workerData: init,
        // A thread's garbage is short-lived parse output: a small young generation keeps its
        // memory down (bench: peak RSS 264–269 → 241 MiB, events/s not lower).
        resourceLimits: { maxYoungGenerationSizeMb: THREAD_YOUNG_GENERATION_MB, maxOldGenerationSizeMb: opts.maxOldGenerationMb ?? 64 },
        ...(ts ? { execArgv: ['--require', 'tsx/cjs'] } : {}),
      });
      const t: Thread = { worker, busy: 0, pending: new Map(), descs: new Map(), tables: new Map() };
      worker.on('message', (res: DecodeResponse) => {
        t.busy--;
        this.spare(res.data);
        for (const r of res.replies) this.reply(t, r);
        if (this.outbox.length > 0) this.send();
      });
      worker.on('error', (err) => this.fail(err));
      worker.on('exit', (code) => {
        if (!this.broken) this.fail(new Error(`a decode thread exited (code ${code})`));
      });
      worker.unref();
      this.threads.push(t);
    }
  }

  get size(): number {
    return this.broken ? 0 : this.threads.length;
  }

  /**
   * The batch decoded on a thread; undefined when the main thread is to decode all of it (pool
   * off, or a topic that mostly takes the general path). Never rejects.
   */
  decode(topic: string, partition: number, records: readonly RawRecord[]): Promise<Prepared | undefined> {
    if (this.broken || this.threads.length === 0 || records.length === 0) return Promise.resolve(undefined);
    const left = this.skip.get(topic);
    if (left !== undefined && left > 0) {
      this.skip.set(topic, left - 1);
      return Promise.resolve(undefined);
    }
    return new Promise((resolve) => {
      this.outbox.push({ part: { id: this.nextId++, topic, partition, count: records.length }, records, resolve });
      this.sending ??= setImmediate(() => this.send());
    });
  }

  /**
   * Everything handed over since the last message goes to an idle thread in one message: one
   * fetch's batches arrive one after another in one turn, and while every thread is busy batches
   * gather until one answers. A message costs two thread wake-ups (postMessage took ~0.1 ms each in a bench profile here), so
   * fewer, larger messages; an idle thread gets work at once, so latency does not grow.
   */
  private send(): void {
    this.sending = undefined;
    if (this.outbox.length === 0) return;
    if (this.broken) {
      for (const p of this.outbox.splice(0)) p.resolve(undefined);
      return;
    }
    let t: Thread | undefined;
    for (let k = 0; k < this.threads.length && t === undefined; k++) {
      const c = this.threads[(this.next + k) % this.threads.length]!;
      if (c.busy === 0) t = c;
    }
    if (t === undefined) return; // sent when a thread answers
    this.next = (this.threads.indexOf(t) + 1) % this.threads.length;
    const batch = this.outbox;
    this.outbox = [];
    t.busy++;
    const req = request(batch, (size) => this.buffer(size));
    for (const p of batch) t.pending.set(p.part.id, p);
    t.worker.postMessage(req, [req.data, req.meta.buffer as ArrayBuffer]);
  }

  async close(): Promise<void> {
    this.broken = true;
    if (this.sending) clearImmediate(this.sending);
    this.sending = undefined;
    for (const p of this.outbox.splice(0)) p.resolve(undefined);
    const ts = this.threads.splice(0);
    for (const t of ts) for (const p of t.pending.values()) p.resolve(undefined);
    await Promise.all(ts.map((t) => t.worker.terminate()));
  }

  /** A spare buffer of at least `size` bytes, or a new one (rounded up to 64 KiB, to be reusable). */
  private buffer(size: number): ArrayBuffer {
    const i = this.spares.findIndex((b) => b.byteLength >= size);
    if (i >= 0) return this.spares.splice(i, 1)[0]!;
    return Buffer.allocUnsafeSlow(Math.ceil(Math.max(size, 1) / 65536) * 65536).buffer as ArrayBuffer;
  }

  private spare(b: ArrayBuffer): void {
    this.spares.push(b);
    // Keep the largest few: one per thread in flight and one being filled.
    if (this.spares.length > this.threads.length + 2) {
      this.spares.sort((a, c) => c.byteLength - a.byteLength);
      this.spares.length = this.threads.length + 2;
    }
  }

  private fail(err: Error): void {
    if (this.broken) return;
    this.broken = true;
    for (const p of this.outbox.splice(0)) p.resolve(undefined);
    for (const t of this.threads) {
      for (const p of t.pending.values()) p.resolve(undefined);
      t.pending.clear();
    }
    this.opts.onError?.(err);
  }

  private reply(t: Thread, r: DecodeReply): void {
    const p = t.pending.get(r.id);
    if (p === undefined) return;
    t.pending.delete(r.id);
    for (const d of r.newDescs) t.descs.set(d.id, this.canonicalOf(d));
    for (const [id, table] of r.newTables) t.tables.set(id, table);
    const { records } = p;
    const out: (CopyReadyEvent | undefined)[] = new Array(records.length);
    let held = 0;
    for (let i = 0; i < records.length; i++) {
      const kind = r.kinds[i]!;
      if (kind === Kind.Main) continue;
      held++;
      const rec = records[i]!;
      const desc = t.descs.get(r.descs[i]!)!;
      const line = r.lines[i]!;
      out[i] = {
        copyReady: true,
        op: r.ops[i] as CopyReadyEvent['op'],
        key: r.keys[i],
        line: kind === Kind.Upsert ? line : null,
        mask: null,
        keyInRow: kind === Kind.Upsert,
        keyLine: kind === Kind.Delete ? line : null,
        beforeKey: undefined,
        columns: desc.columns,
        source: r.sources[i]!,
        table: t.tables.get(r.tables[i]!)!,
        pos: { topic: rec.topic, partition: rec.partition, offset: rec.offset },
        bytes: r.bytes[i]!,
        names: desc.names,
        keyColumns: desc.keyColumns,
      };
    }
    const topic = records[0]!.topic;
    if (held < records.length * MIN_SHARE) this.skip.set(topic, SKIP_BATCHES);
    p.resolve(out);
  }

  private canonicalOf(d: WireDesc): Desc {
    const k = JSON.stringify([d.columns, d.names, d.keyColumns]);
    let c = this.canonical.get(k);
    if (c === undefined) {
      c = { columns: Object.freeze(d.columns.map((x) => Object.freeze(x))), names: Object.freeze(d.names), keyColumns: Object.freeze(d.keyColumns) };
      this.canonical.set(k, c);
    }
    return c;
  }
}

/** Keys and values of every batch copied once into one transferable buffer. */
function request(batch: readonly Pending[], buffer: (size: number) => ArrayBuffer): DecodeRequest {
  let total = 0;
  let n = 0;
  for (const p of batch) {
    n += p.records.length;
    for (const r of p.records) if (r.value !== null) total += r.value.length + (r.key?.length ?? 0);
  }
  const data = buffer(total);
  const buf = Buffer.from(data);
  const meta = new Int32Array(n * META_FIELDS);
  let at = 0;
  let m = 0;
  for (const p of batch) {
    for (const r of p.records) {
      if (r.value === null || isKeyChange(r)) {
        meta[m + 1] = -1;
        meta[m + 3] = -1;
      } else {
        if (r.key === null) meta[m + 1] = -1;
        else {
          r.key.copy(buf, at);
          meta[m] = at;
          meta[m + 1] = r.key.length;
          at += r.key.length;
        }
        r.value.copy(buf, at);
        meta[m + 2] = at;
        meta[m + 3] = r.value.length;
        at += r.value.length;
      }
      m += META_FIELDS;
    }
  }
  return { parts: batch.map((p) => p.part), data, meta };
}
