/**
 * The core over a fake source and applier: every state and transition of src/engine/machine.ts,
 * driven in milliseconds.
 */
import { rowOf } from '../../../src/copy-text/line';
import { TRANSITIONS, Machine } from '../../../src/engine/machine';
import { ConfigError } from '../../../src/kernel/errors';
import { connectionLost, del, harness, harnessDefaults, P0, P1, tick, up } from './fakes';

async function started(o: Parameters<typeof harness>[0] = {}) {
  const h = harness(o);
  await h.core.start();
  h.source.assign([P0, P1]);
  await tick(5); // stored offsets read, partitions resumed
  return h;
}

async function until(what: string, cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await tick(2);
  }
}

describe('machine', () => {
  it('allows only the transitions in the table', () => {
    const m = new Machine();
    expect(() => m.to('running', 'x')).toThrow('no transition created → running');
    m.to('starting', 'x');
    m.to('running', 'x');
    m.to('paused', 'x');
    m.to('fenced', 'x');
    m.to('halting', 'x');
    m.to('failed', 'x');
    expect(TRANSITIONS.failed).toEqual([]);
    expect(() => m.to('stopping', 'x')).toThrow();
  });
});

// Every case also through DecodeAhead (decode threads): the same outcomes when batches are
// resolved at the source on arrival and handed to the core later.
describe.each([[''], [', reading through DecodeAhead']])('CdcEngine%s', (via) => {
  beforeAll(() => void (harnessDefaults.prefetch = via !== ''));
  afterAll(() => void (harnessDefaults.prefetch = false));

  it('applies, reduces per key and stores the offsets with the rows', async () => {
    const h = await started();
    h.source.produce(P0, [up(1, 1), up(2, 1), up(1, 2), del(2), null]);
    h.source.produce(P1, [up(3, 1)]);
    await h.source.pumpUntil('both partitions stored', () => h.applier.storedOf(P0) === '5' && h.applier.storedOf(P1) === '1');
    expect(Object.fromEntries(h.applier.rows)).toEqual({ '1': '2', '3': '1' });
    expect(h.applier.storedOf(P0)).toBe('5');
    expect(h.applier.storedOf(P1)).toBe('1');
    expect(h.core.state).toBe('running');
    await h.core.stop();
    expect(h.core.state).toBe('stopped');
  });

  it('a first join that lands while the source is still starting is loaded and read', async () => {
    const h = harness();
    h.applier.stored.set('1:pfx.public.t', '1');
    h.source.produce(P0, [up(1, 1)]);
    h.source.produce(P1, [up(2, 1), up(3, 1)]);
    h.source.assignOnStart = [P0, P1];
    await h.core.start();
    await h.source.pumpUntil('both partitions stored', () => h.applier.storedOf(P0) === '1' && h.applier.storedOf(P1) === '2');
    expect(Object.fromEntries(h.applier.rows)).toEqual({ '1': '1', '3': '1' });
    await h.core.stop();
  });

  it('records that hold no row (tombstones) still have their offsets stored, by age', async () => {
    const h = await started({ maxRows: 1000, maxAgeMs: 20 });
    h.source.produce(P0, [up(1, 1), del(1), null]);
    await h.source.pumpUntil('the delete stored', () => h.applier.storedOf(P0) === '3');
    h.source.produce(P0, [null, null]);
    await h.source.pumpUntil('the tombstones stored', () => h.applier.storedOf(P0) === '5');
    await h.core.stop();
  });

  it('resumes each partition from the offset stored in PostgreSQL, not from the first batch', async () => {
    const h = harness();
    h.applier.stored.set('0:pfx.public.t', '3');
    await h.core.start();
    h.source.produce(P0, [up(1, 1), up(1, 2), up(1, 3), up(1, 4)]);
    h.source.assign([P0]);
    await h.source.pumpUntil('offset 4 stored', () => h.applier.storedOf(P0) === '4');
    expect(Object.fromEntries(h.applier.rows)).toEqual({ '1': '4' });
    expect(h.applier.flushes.flatMap((f) => f.tables.flatMap((t) => t.upserts))).toHaveLength(1);
    await h.core.stop();
  });

  it('stop: final flush, then Kafka is told exactly what PostgreSQL stores, then the group is left', async () => {
    const h = await started({ maxAgeMs: 60_000, maxRows: 1000 });
    h.source.batchSize = 2; // P0 stays behind its high watermark: nothing is due
    h.source.produce(P0, [up(1, 1), up(2, 1), up(3, 1)]);
    h.source.produce(P1, [up(4, 1)]);
    await h.source.fetchOnce();
    expect(h.applier.flushes).toHaveLength(0); // held
    await h.core.stop();
    expect(h.applier.rows.size).toBe(3);
    expect(h.source.committed()).toEqual({ '0:pfx.public.t': '2', '1:pfx.public.t': '1' });
    expect(h.source.stopped).toBe(true);
    expect(h.core.state).toBe('stopped');
  });

  it('caught up (every partition taken to its high watermark): what is held is flushed at once, not after max age', async () => {
    const h = await started({ maxAgeMs: 60_000, maxRows: 1000 });
    h.source.produce(P0, [up(1, 1), up(2, 1)]);
    h.source.produce(P1, [up(3, 1)]);
    await h.source.fetchOnce();
    await until('the caught-up flush', () => h.applier.storedOf(P0) === '2' && h.applier.storedOf(P1) === '1');
    expect(h.applier.rows.size).toBe(3);
    await h.core.stop();
  });

  it('behind (a backlog past the records taken): flushes wait for a limit or max age, then catch up at once', async () => {
    const h = await started({ maxAgeMs: 60_000, maxRows: 1000 });
    h.source.batchSize = 3;
    h.source.produce(P0, [up(1, 1), up(2, 1), up(3, 1), up(4, 1), up(5, 1), up(6, 1), up(7, 1)]);
    await h.source.fetchOnce();
    await h.source.fetchOnce();
    await tick(5);
    expect(h.applier.flushes).toHaveLength(0); // 6 of 7 taken: still behind
    await h.source.fetchOnce(); // the last record: caught up
    await until('one flush of all seven', () => h.applier.storedOf(P0) === '7');
    expect(h.applier.flushes).toHaveLength(1);
    await h.core.stop();
  });

  it('caught up with a primary-key change half taken (its halves on two partitions): waits for the other half, then one flush', async () => {
    const h = await started({ maxAgeMs: 60_000, maxRows: 1000 });
    h.source.produce(P0, [JSON.stringify({ id: 1, del: true, moving: true })]);
    await h.source.fetchOnce();
    await tick(20);
    expect(h.applier.flushes).toHaveLength(0); // the delete of the old key waits for the create under the new one
    h.source.produce(P1, [JSON.stringify({ id: 2, v: 7, from: 1 })]);
    await h.source.fetchOnce();
    await until('one flush with both halves', () => h.applier.storedOf(P0) === '1' && h.applier.storedOf(P1) === '1');
    expect(h.applier.flushes).toHaveLength(1);
    expect(Object.fromEntries(h.applier.rows)).toEqual({ '2': '7' });
    await h.core.stop();
  });

  it('flushWhenCaughtUp false: caught up, what is held waits for a limit or max age', async () => {
    const h = await started({ maxAgeMs: 300, maxRows: 1000, flushWhenCaughtUp: false });
    h.source.produce(P0, [up(1, 1), up(2, 1)]);
    await h.source.fetchOnce();
    await tick(100);
    expect(h.applier.flushes).toHaveLength(0);
    await until('the age flush', () => h.applier.storedOf(P0) === '2', 3000);
    await h.core.stop();
  });

  it('records taken while a flush applies follow in the next flush as soon as it commits, when caught up', async () => {
    const h = await started({ maxAgeMs: 60_000, maxRows: 1000 });
    h.applier.block();
    h.source.produce(P0, [up(1, 1)]);
    await h.source.fetchOnce();
    await tick(5);
    h.source.produce(P0, [up(2, 1), up(3, 1)]);
    await h.source.fetchOnce();
    expect(h.applier.rows.size).toBe(0);
    h.applier.unblock();
    await until('the follow-up flush', () => h.applier.storedOf(P0) === '3');
    expect(h.applier.flushes).toHaveLength(2);
    await h.core.stop();
  });

  it('stop during a flush waits for it, then flushes the rest', async () => {
    const h = await started({ maxRows: 2, maxAgeMs: 60_000 });
    h.applier.block();
    h.source.produce(P0, [up(1, 1), up(2, 1), up(3, 1)]);
    await h.source.fetchOnce();
    const stopping = h.core.stop();
    await tick(5);
    expect(h.core.state).toBe('stopping');
    h.applier.unblock();
    await stopping;
    expect(h.applier.rows.size).toBe(3);
    expect(h.source.committed()['0:pfx.public.t']).toBe('3');
  });

  it('stop during start-up (PostgreSQL unreachable) ends the retries and stops cleanly', async () => {
    let attempts = 0;
    const h = harness({
      prepare: async () => {
        attempts++;
        throw connectionLost();
      },
    });
    const start = h.core.start();
    await until('a few start-up attempts', () => attempts >= 3);
    expect(h.core.state).toBe('starting');
    await h.core.stop();
    await start;
    expect(h.core.state).toBe('stopped');
    await expect(h.core.done).resolves.toBeUndefined();
  });

  it('rides out an unreachable PostgreSQL and Kafka at start-up (retried until they answer)', async () => {
    let pgDown = 4;
    const h = harness({
      prepare: async () => {
        if (pgDown-- > 0) throw connectionLost();
      },
    });
    h.source.startFailures = [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9092'), { name: 'KafkaJSConnectionError' })];
    await h.core.start();
    expect(h.core.state).toBe('running');
    expect(h.retries).toBe(5);
    await h.core.stop();
  });

  it('a start-up error a retry cannot fix fails at once', async () => {
    const h = harness();
    h.source.startFailures = [new ConfigError([{ path: 'spec.source.cdc.session.timeout.ms', message: 'outside the broker limits' }])];
    await h.core.start();
    expect(h.core.state).toBe('failed');
    await expect(h.core.done).rejects.toThrow('session.timeout.ms');
  });

  it('PostgreSQL down longer than any session: fetching pauses, nothing is lost, and it resumes', async () => {
    const h = await started({ maxRows: 2, maxAgeMs: 60_000 });
    h.applier.failures = Array.from({ length: 30 }, connectionLost);
    h.source.produce(P0, [up(1, 1), up(2, 1), up(3, 1), up(4, 1), up(5, 1), up(6, 1)]);
    await h.source.fetchOnce();
    // one flush in flight (failing), the next one full: every partition paused
    expect(h.core.state).toBe('paused');
    expect([...h.source.paused].sort()).toEqual(['0:pfx.public.t', '1:pfx.public.t']);
    await until('the outage to pass', () => h.applier.failures.length === 0);
    await h.source.pumpUntil('every row applied', () => h.applier.rows.size === 6);
    expect(h.core.state).toBe('running');
    expect(h.retries).toBeGreaterThanOrEqual(30);
    await h.core.stop();
  });

  it('memory budget: pauses when held plus in-flight bytes reach it, resumes under it', async () => {
    const h = await started({ maxRows: 1000, maxAgeMs: 1, memoryBudgetBytes: 60 });
    h.applier.block();
    h.source.produce(P0, Array.from({ length: 20 }, (_, i) => up(i, 1))); // ~14 bytes each
    await h.source.fetchOnce();
    await tick(5); // the age flush starts and blocks
    await h.source.fetchOnce();
    expect(h.core.state).toBe('paused');
    const fetchAt = h.source.logs.get('0:pfx.public.t')!.fetchAt;
    expect(fetchAt).toBeLessThan(20); // what was not taken is fetched again later
    h.applier.unblock();
    await h.source.pumpUntil('every row applied', () => h.applier.rows.size === 20);
    expect(h.core.state).toBe('running');
    await h.core.stop();
  });

  it('a rebalance during a flush: what is held is fenced, re-read and applied once', async () => {
    const h = await started({ maxRows: 2, maxAgeMs: 60_000 });
    h.applier.block();
    h.source.produce(P0, [up(1, 1), up(2, 1), up(3, 1)]);
    await h.source.fetchOnce();
    // Another member took P0 and applied up to offset 2 meanwhile.
    h.applier.stored.set('0:pfx.public.t', '2');
    h.source.assign([P0]);
    h.applier.unblock();
    await until('the fence recovered', () => h.logs.some((l) => l.msg.startsWith('re-reading')));
    await h.source.pump(10);
    expect(h.core.state).toBe('running');
    await h.core.stop(); // flushes the re-read record held below max_rows
    expect(h.applier.storedOf(P0)).toBe('3');
    // offsets 0 and 1 were applied by the other member only; this one applied offset 2 alone
    expect(h.applier.flushes.map((f) => f.tables.flatMap((t) => t.upserts.map((u) => rowOf(u).id)))).toEqual([['3']]);
  });

  it('fence: everything held is dropped and every partition re-read from the stored offsets', async () => {
    const h = await started({ maxRows: 3, maxAgeMs: 60_000 });
    h.source.produce(P0, [up(1, 1), up(2, 1), up(3, 1)]);
    await h.source.pump(5);
    expect(h.applier.storedOf(P0)).toBe('3');
    h.applier.stored.set('0:pfx.public.t', '5'); // a zombie's view: someone else applied 3..4
    h.applier.rows.set('4', '9');
    h.applier.rows.set('5', '9');
    h.source.produce(P0, [up(4, 1), up(5, 1), up(6, 1)]);
    await h.source.pumpUntil('the fence', () => h.logs.some((l) => /stored offsets moved/.test(l.msg)));
    await h.source.pump(10);
    await h.core.stop();
    expect(h.applier.storedOf(P0)).toBe('6');
    expect(Object.fromEntries(h.applier.rows)).toEqual({ '1': '1', '2': '1', '3': '1', '4': '9', '5': '9', '6': '1' });
  });

  it('tolerance none: the records before a bad one are applied and committed, then it stops naming the record', async () => {
    const h = await started({ maxRows: 1000, maxAgeMs: 60_000 });
    h.source.produce(P0, [up(1, 1), up(2, 1), up(3, 1), up(4, 1), up(5, 1), 'not json', up(6, 1)]);
    await h.source.fetchOnce();
    await expect(h.core.done).rejects.toThrow(/value is not JSON \(topic pfx\.public\.t, partition 0, offset 5\)/);
    expect(h.core.state).toBe('failed');
    expect(h.applier.rows.size).toBe(5);
    expect(h.applier.storedOf(P0)).toBe('5');
    expect(h.source.committed()['0:pfx.public.t']).toBe('5');
  });

  it('tolerance all: a poison record is dead-lettered with the flush and the rest applied', async () => {
    const h = await started({ tolerance: 'all' });
    h.source.produce(P0, [up(1, 1), '{"no":"id"}', up(2, 1), '\u0000\u00ff']);
    await h.source.pumpUntil('offset 4 stored', () => h.applier.storedOf(P0) === '4');
    expect(h.applier.rows.size).toBe(2);
    expect(h.applier.dead.map((d) => [d.offset, d.reason])).toEqual([
      ['1', 'value has no id (topic pfx.public.t, partition 0, offset 1)'],
      ['3', 'value is not JSON (topic pfx.public.t, partition 0, offset 3)'],
    ]);
    expect(h.applier.storedOf(P0)).toBe('4');
    await h.core.stop();
  });

  it('a flush error a retry cannot fix fails the pipeline', async () => {
    const h = await started();
    h.applier.failures = [new TypeError('bug')];
    h.source.produce(P0, [up(1, 1)]);
    await h.source.pump(5);
    await expect(h.core.done).rejects.toThrow('bug');
    expect(h.core.state).toBe('failed');
    expect(h.source.stopped).toBe(true);
  });

  it('bounded retries (errors.retry.max_attempts set) end in a failure', async () => {
    const h = await started({ maxAttempts: 3 });
    h.applier.failures = Array.from({ length: 5 }, connectionLost);
    h.source.produce(P0, [up(1, 1)]);
    await h.source.pump(10);
    await expect(h.core.done).rejects.toThrow(/apply failed after 3 attempt/);
  });

  it('the source crashing for good fails the pipeline', async () => {
    const h = await started();
    h.source.handler.crashed(new Error('broker gone for good'));
    await expect(h.core.done).rejects.toThrow('broker gone for good');
  });
});
