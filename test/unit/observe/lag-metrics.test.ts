/** nilus_table_lag_seconds (computed at each scrape from the newest source time applied per table) and nilus_source_slot_retained_wal_bytes. */
import { CoreEmitter } from '../../../src/kernel/events';
import { createMetrics } from '../../../src/observe/metrics';

const flushed = (tables: { table: string; sourceTsMs?: number }[]) => ({
  durationSeconds: 0.01, events: 1, sourceTsMs: [], commitTsMs: Date.now(),
  tables: tables.map((t) => ({ ...t, upserts: 1, deletes: 0, appends: 0, truncates: 0 })),
});

async function value(m: ReturnType<typeof createMetrics>, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = (await m.registry.getMetricsAsJSON()).find((x) => x.name === name);
  return (metric?.values as { value: number; labels: Record<string, string> }[] | undefined)?.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
}

describe('lag metrics', () => {
  it('a table\'s lag is now minus the newest source time applied to it, growing between flushes; an older flush never moves it back', async () => {
    const emitter = new CoreEmitter();
    const m = createMetrics(emitter, { pipeline: 'p' });
    const t = Date.now();
    emitter.emit('flushed', flushed([{ table: '"s"."a"', sourceTsMs: t - 30_000 }, { table: '"s"."b"' }]));
    const first = (await value(m, 'nilus_table_lag_seconds', { pipeline: 'p', table: '"s"."a"' }))!;
    expect(first).toBeGreaterThanOrEqual(30);
    expect(first).toBeLessThan(30 + (Date.now() - t) / 1000 + 0.001);
    expect(await value(m, 'nilus_table_lag_seconds', { table: '"s"."b"' })).toBeUndefined(); // no source time: no series
    await new Promise((r) => setTimeout(r, 20));
    expect((await value(m, 'nilus_table_lag_seconds', { table: '"s"."a"' }))!).toBeGreaterThan(first);
    emitter.emit('flushed', flushed([{ table: '"s"."a"', sourceTsMs: t - 60_000 }]));
    expect((await value(m, 'nilus_table_lag_seconds', { table: '"s"."a"' }))!).toBeLessThan(31 + (Date.now() - t) / 1000);
    emitter.emit('flushed', flushed([{ table: '"s"."a"', sourceTsMs: t - 1_000 }]));
    expect((await value(m, 'nilus_table_lag_seconds', { table: '"s"."a"' }))!).toBeLessThan(1 + (Date.now() - t) / 1000 + 0.001);
    m.close();
  });

  it('the slot\'s retained WAL follows each poll, and is removed while it cannot be told', async () => {
    const emitter = new CoreEmitter();
    const m = createMetrics(emitter, { pipeline: 'p' });
    emitter.emit('sourceSlot', { slot: 'nilus_p', exists: true, active: true, retainedBytes: 123456 });
    expect(await value(m, 'nilus_source_slot_retained_wal_bytes', { pipeline: 'p', slot: 'nilus_p' })).toBe(123456);
    emitter.emit('sourceSlot', { slot: 'nilus_p', exists: false });
    expect(await value(m, 'nilus_source_slot_retained_wal_bytes', { slot: 'nilus_p' })).toBeUndefined();
    m.close();
  });
});
