/**
 * What a buffered event costs on the heap against what memory accounting counts for it (ev.bytes):
 * 100k orders events (the bench's table, creates and updates) decoded and held in a merge buffer.
 * Usage: node --expose-gc -r tsx/cjs bench/held-bytes.ts [schemaless]
 */
import { EventFactory, ordersTable, orderRow } from '../test/fixtures/factory';
import type { RawRecord, TableRef } from '../src/kernel/types';
import { Decoder } from '../src/decode/decoder';
import { BufferSet } from '../src/buffer';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc -r tsx/cjs bench/held-bytes.ts');
const withSchemas = process.argv[2] !== 'schemaless';
const f = new EventFactory(ordersTable('held'), withSchemas, { realSource: true });
const decoder = new Decoder({ topicPrefix: 'held' });
const N = 100_000;
const buffers = new BufferSet({ maxRows: Number.MAX_SAFE_INTEGER, maxBytes: Number.MAX_SAFE_INTEGER, maxAgeMs: Number.MAX_SAFE_INTEGER });
const target: TableRef = { schema: 'public', table: 'orders' };
const records: RawRecord[] = [];
let raw = 0;
for (let i = 0; i < N; i++) {
  // every third event updates a row created three events before
  const m = i % 3 === 0 && i > 10 ? f.update(orderRow(i - 3, 0), orderRow(i - 3, 1), 1)[0]! : f.create(orderRow(i, 0), 1)[0]!;
  const key = Buffer.from(m.key!);
  const value = Buffer.from(m.value!);
  raw += key.length + value.length;
  records.push({ topic: 'held.public.orders', partition: 0, offset: String(i), key, value });
}
gc();
const before = process.memoryUsage().heapUsed;
for (const r of records) buffers.add(target, 'merge', ['id'], decoder.decode(r)!, 0);
gc();
const held = process.memoryUsage().heapUsed - before;
console.log(JSON.stringify({
  withSchemas, eventsHeld: buffers.events, heapBytesPerEvent: Math.round(held / buffers.events),
  countedBytesPerEvent: Math.round(buffers.bytes / buffers.events), rawBytesPerRecord: Math.round(raw / N),
}));
