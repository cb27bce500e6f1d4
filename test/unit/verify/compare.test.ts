import { createHash } from 'node:crypto';
import type { BucketDigest, BucketSet, DigestPlan, DigestReader, DigestTableInfo, HashedRow, JsonRow } from '../../../src/verify/digest';
import { compareTables, firstBits, COMPARE_DEFAULTS, type CompareOptions } from '../../../src/verify/compare';
import { describeVerdict } from '../../../src/verify/table';
import { canonicalJson, jsonEqual } from '../../../src/verify/json';

/** JS shifts by the count mod 32, so depth 0 is spelled out. */
const bucketOf = (h: number, bits: number): number => (bits === 0 ? 0 : h >>> (32 - bits));

type FakeRow = { key: string[]; values: (string | null)[] };

/** A digester over rows in memory, bucketing and hashing the way the SQL does (md5 of texts). */
class FakeReader implements DigestReader {
  readonly fetchedRows: number[] = [];
  readonly digestCalls: { bits: number; within?: BucketSet }[] = [];
  jsonCalls = 0;
  constructor(private readonly data: FakeRow[], private readonly json: boolean[] = []) {}

  private static h32(key: string[]): number {
    return parseInt(createHash('md5').update(JSON.stringify(key)).digest('hex').slice(0, 8), 16);
  }

  private text(r: FakeRow, i: number): string | null {
    const v = r.values[i] ?? null;
    // 'json' columns digest their shape only, as MySQL's side does
    return v !== null && this.json[i] ? String((JSON.parse(v) as unknown[]).length ?? typeof JSON.parse(v)) : v;
  }

  private inside(r: FakeRow, within?: BucketSet): boolean {
    return !within || within.buckets.includes(bucketOf(FakeReader.h32(r.key), within.bits));
  }

  async describe(): Promise<DigestTableInfo> {
    return { columns: [], primaryKey: ['id'] };
  }

  async tables(): Promise<{ schema: string; table: string }[]> {
    return [];
  }

  async digest(_plan: DigestPlan, bits: number, within?: BucketSet): Promise<BucketDigest[]> {
    this.digestCalls.push({ bits, ...(within ? { within } : {}) });
    const out = new Map<number, { rows: number; sum: bigint }>();
    for (const r of this.data) {
      if (!this.inside(r, within)) continue;
      const b = bucketOf(FakeReader.h32(r.key), bits);
      const h = BigInt('0x' + createHash('md5').update(JSON.stringify(r.values.map((_, i) => this.text(r, i)))).digest('hex').slice(0, 15));
      const d = out.get(b) ?? { rows: 0, sum: 0n };
      out.set(b, { rows: d.rows + 1, sum: d.sum + h });
    }
    return [...out].map(([bucket, d]) => ({ bucket, rows: d.rows, sum: d.sum.toString() }));
  }

  async *rows(_plan: DigestPlan, within: readonly BucketSet[]): AsyncGenerator<HashedRow> {
    const rows = this.data
      .filter((r) => within.some((w) => this.inside(r, w)))
      .map((r) => ({ ...r, hash: FakeReader.h32(r.key) }))
      .sort((x, y) => x.hash - y.hash);
    this.fetchedRows.push(rows.length);
    yield* rows;
  }

  async *jsonRows(plan: DigestPlan, within?: BucketSet): AsyncGenerator<JsonRow> {
    this.jsonCalls++;
    for (const r of this.data) {
      if (this.inside(r, within)) yield { hash: FakeReader.h32(r.key), key: r.key, docs: plan.columns.flatMap((c, i) => (c.mode === 'json' ? [r.values[i] ?? null] : [])) };
    }
  }

  async close(): Promise<void> {}
}

const plan = (json = false): DigestPlan => ({
  table: { schema: 's', table: 't' },
  canon: 'postgresql',
  key: ['id'],
  columns: [{ name: 'v', mode: 'exact' }, { name: 'j', mode: json ? 'json' : 'exact' }],
});
const plans = (json = false) => ({ source: plan(json), target: plan(json) });

function table(n: number): FakeRow[] {
  return Array.from({ length: n }, (_, i) => ({ key: [String(i + 1)], values: [`value ${i + 1}`, null] }));
}

const small: CompareOptions = { ...COMPARE_DEFAULTS, leafRows: 50, minBits: 4 };

describe('compareTables', () => {
  it('finds two equal tables equal with one digest per side and no rows fetched', async () => {
    const src = new FakeReader(table(1000));
    const dst = new FakeReader(table(1000).reverse());
    const v = await compareTables(src, dst, plans(), 1000, small);
    expect(v).toMatchObject({ equal: true, sourceRows: 1000, targetRows: 1000, bisected: 0, fetched: 0 });
    expect(v.missing.count + v.extra.count + v.differing.count).toBe(0);
    expect(src.digestCalls).toHaveLength(1);
    expect(src.fetchedRows).toEqual([]);
  });

  it('reports a missing row, an extra row, a changed value and a value changed to NULL, with sample keys', async () => {
    const rows = table(2000);
    const dst = table(2000).filter((r) => r.key[0] !== '17');
    dst.push({ key: ['5000'], values: ['new', null] });
    dst.find((r) => r.key[0] === '42')!.values[0] = 'changed';
    dst.find((r) => r.key[0] === '99')!.values[0] = null;
    const v = await compareTables(new FakeReader(rows), new FakeReader(dst), plans(), 2000, small);
    expect(v.equal).toBe(false);
    expect(v.missing).toEqual({ count: 1, samples: ['17'] });
    expect(v.extra).toEqual({ count: 1, samples: ['5000'] });
    expect(v.differing.count).toBe(2);
    expect([...v.differing.samples].sort()).toEqual(['42', '99']);
    expect(v.sourceRows).toBe(2000);
    expect(v.targetRows).toBe(2000);
  });

  it('re-compares only the differing buckets of an earlier verdict (a re-check), which then hold the counts', async () => {
    const dstRows = table(3000).filter((r) => r.key[0] !== '17');
    dstRows.find((r) => r.key[0] === '42')!.values[0] = 'in flight';
    const src = new FakeReader(table(3000));
    const dst = new FakeReader(dstRows);
    const first = await compareTables(src, dst, plans(), 3000, { ...small, maxBits: 6 });
    expect(first.missing.count + first.differing.count).toBe(2);
    const buckets = first.differingBuckets.reduce((n, s) => n + s.buckets.length, 0);
    expect(buckets).toBeGreaterThanOrEqual(1);
    expect(buckets).toBeLessThanOrEqual(2);
    expect(first.differingRows.source).toBeGreaterThan(0);
    expect(first.differingRows.source).toBeLessThan(200);
    // the changes land: only those buckets are digested again, and they are equal now
    dstRows.push({ key: ['17'], values: ['value 17', null] });
    dstRows.find((r) => r.key[0] === '42')!.values[0] = 'value 42';
    const calls = src.digestCalls.length;
    const again = await compareTables(src, dst, plans(), 3000, small, first.differingBuckets);
    expect(again).toMatchObject({ equal: true, sourceRows: first.differingRows.source, targetRows: first.differingRows.source, differingBuckets: [] });
    expect(src.digestCalls.slice(calls).every((c) => c.within !== undefined)).toBe(true);
    // a change still missing stays reported
    dstRows.splice(dstRows.findIndex((r) => r.key[0] === '17'), 1);
    const still = await compareTables(src, dst, plans(), 3000, small, first.differingBuckets);
    expect(still.missing).toEqual({ count: 1, samples: ['17'] });
    expect(still.targetRows).toBe(still.sourceRows - 1);
  });

  it('bisects only differing buckets bigger than leafRows and fetches only the small ones', async () => {
    const src = new FakeReader(table(20000));
    const changed = table(20000);
    changed[12345]!.values[0] = 'x';
    const dst = new FakeReader(changed);
    // estimate 20000 rows, leafRows 50: the first depth is capped at 6 bits (~312 rows per bucket)
    const v = await compareTables(src, dst, plans(), 20000, { ...small, maxBits: 6 });
    expect(v.differing).toEqual({ count: 1, samples: ['12346'] });
    expect(v.bisected).toBe(1);
    expect(src.digestCalls.map((c) => c.bits)).toEqual([6, 10]);
    expect(src.digestCalls[1]!.within!.buckets).toHaveLength(1);
    expect(v.fetched).toBe(1);
    // one sub-bucket of ~20 rows fetched, not the table
    expect(src.fetchedRows[0]).toBeLessThan(60);
    expect(v.chunks).toBeGreaterThan(64);
  });

  it('counts a key the target holds twice as extra', async () => {
    const dst = table(100);
    dst.push({ key: ['7'], values: ['value 7', null] });
    const v = await compareTables(new FakeReader(table(100)), new FakeReader(dst), plans(), 100, small);
    expect(v).toMatchObject({ equal: false, targetRows: 101, extra: { count: 1, samples: ['7'] }, missing: { count: 0 }, differing: { count: 0 } });
  });

  it('compares json columns after parsing: a layout difference is equal, a value difference is not', async () => {
    const src = [
      { key: ['1'], values: ['a', '{"b": [1, 2.50], "a": null}'] },
      { key: ['2'], values: ['b', '{"x": 1}'] },
    ];
    const dst = [
      { key: ['1'], values: ['a', '{"a":null,"b":[1,2.5]}'] },
      { key: ['2'], values: ['b', '{"x": 2}'] },
    ];
    // one bucket (depth 0); a row missing from the target makes it differ, so its rows are fetched
    const v = await compareTables(new FakeReader([...src, { key: ['3'], values: ['c', null] }], [false, true]), new FakeReader(dst, [false, true]), plans(true), 3, { ...small, minBits: 0, maxBits: 0 });
    expect(v).toMatchObject({ fetched: 1, missing: { count: 1, samples: ['3'] }, differing: { count: 1, samples: ['2'] } });
    dst[0]!.values[0] = 'A';
    const w = await compareTables(new FakeReader(src, [false, true]), new FakeReader(dst, [false, true]), plans(true), 2, { ...small, minBits: 0, maxBits: 0 });
    expect(w.differing).toEqual({ count: 2, samples: ['1', '2'] });
  });

  it('finds a json document changed in a way its SQL shape does not show, from the worker-side json digest', async () => {
    const src = table(500).map((r) => ({ key: r.key, values: [r.values[0]!, `{"n": ${r.key[0]}, "f": 1.50}`] }));
    const dst = src.map((r) => ({ key: r.key, values: [r.values[0]!, `{"f":1.5,"n":${r.key[0]}}`] }));
    const a = new FakeReader(src, [false, true]);
    expect((await compareTables(a, new FakeReader(dst, [false, true]), plans(true), 500, small)).equal).toBe(true);
    expect(a.jsonCalls).toBe(1);
    dst[250]!.values[1] = '{"f": 2, "n": 251}';
    const v = await compareTables(new FakeReader(src, [false, true]), new FakeReader(dst, [false, true]), plans(true), 500, small);
    expect(v.differing).toEqual({ count: 1, samples: ['251'] });
    expect(v.fetched).toBe(1);
  });

  it('streams no json documents when the plan has no json column', async () => {
    const a = new FakeReader(table(10));
    await compareTables(a, new FakeReader(table(10)), plans(), 10, small);
    expect(a.jsonCalls).toBe(0);
  });

  it('counts the rows of buckets one side lacks without fetching them, reading only a few for sample keys', async () => {
    const src = new FakeReader(table(5000));
    const dst = new FakeReader([]);
    const v = await compareTables(src, dst, plans(), 5000, small);
    expect(v).toMatchObject({ equal: false, sourceRows: 5000, targetRows: 0, bisected: 0, missing: { count: 5000 }, extra: { count: 0 } });
    expect(v.missing.samples).toHaveLength(5);
    // 2^7 buckets of ~39 rows: one of them read for the samples, the target never asked for rows
    expect(src.fetchedRows).toHaveLength(1);
    expect(dst.fetchedRows).toEqual([]);
    const back = await compareTables(new FakeReader([]), new FakeReader(table(3)), plans(), 3, small);
    expect(back).toMatchObject({ extra: { count: 3, samples: expect.arrayContaining(['1', '2', '3']) }, missing: { count: 0 } });
  });

  it('streams the rows of every differing bucket in one query per side, whatever their number', async () => {
    const rows = table(4000);
    const changed = rows.map((r, i) => ({ key: r.key, values: [i % 10 === 0 ? r.values[0] + '!' : r.values[0]!, null] }));
    const src = new FakeReader(rows);
    const v = await compareTables(src, new FakeReader(changed), plans(), 4000, { ...small, leafRows: 100 });
    expect(v.differing.count).toBe(400);
    expect(src.fetchedRows).toHaveLength(1);
  });

  it('shows composite keys as tuples', async () => {
    const p = { ...plan(), key: ['a', 'b'] };
    const v = await compareTables(new FakeReader([{ key: ['1', 'x'], values: ['v', null] }]), new FakeReader([]), { source: p, target: p }, 1, small);
    expect(v.missing).toEqual({ count: 1, samples: ['(1, x)'] });
  });

  it('handles empty tables on both sides', async () => {
    const v = await compareTables(new FakeReader([]), new FakeReader([]), plans(), undefined, small);
    expect(v).toMatchObject({ equal: true, sourceRows: 0, targetRows: 0, chunks: 0 });
  });
});

describe('firstBits', () => {
  it('aims at leafRows rows per bucket within the bounds', () => {
    expect(firstBits(undefined, COMPARE_DEFAULTS)).toBe(4);
    expect(firstBits(100, COMPARE_DEFAULTS)).toBe(4);
    expect(firstBits(1_000_000, COMPARE_DEFAULTS)).toBe(11);
    expect(firstBits(1e12, COMPARE_DEFAULTS)).toBe(20);
  });
});

describe('describeVerdict', () => {
  const none = { count: 0, samples: [] };
  it('prints equal tables and differences with samples', () => {
    const base = { sourceRows: 10, targetRows: 10, missing: none, extra: none, differing: none, chunks: 16, bisected: 0, fetched: 0, differingBuckets: [], differingRows: { source: 0, target: 0 } };
    expect(describeVerdict('a.t → b.t', { ...base, equal: true })).toBe('a.t → b.t: equal, 10 rows (16 chunks compared, 0 bisected, 0 fetched)');
    const d = { ...base, equal: false, targetRows: 9, fetched: 2, missing: { count: 7, samples: ['1', '2', '3', '4', '5'] }, differing: { count: 1, samples: ['9'] } };
    expect(describeVerdict('a.t → b.t', d, ['note'])).toBe(
      'a.t → b.t: DIFFERENT: 7 missing [1, 2, 3, 4, 5, …], 1 differing [9], column(s) note missing in the target; source 10 rows, target 9 rows (16 chunks compared, 0 bisected, 2 fetched)',
    );
  });
});

describe('json comparison', () => {
  it('ignores layout, key order and number spelling; keeps the last duplicate key', () => {
    expect(canonicalJson('{"b": 1, "a": [1e2, 1.50]}')).toBe('{"a":[100,1.5],"b":1}');
    expect(jsonEqual('{"a": 1, "a": 2}', '{"a": 2}')).toBe(true);
    expect(jsonEqual('{"a": 1}', '{"a": "1"}')).toBe(false);
    expect(jsonEqual(null, 'null')).toBe(false);
    expect(jsonEqual(null, null)).toBe(true);
  });
});
