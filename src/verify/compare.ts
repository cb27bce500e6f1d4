/**
 * The comparison behind `nilus-pg verify`, pure over two DigestReaders (src/verify/digest.ts):
 *
 *  1. both sides digest every bucket at the first depth (chosen so a bucket holds about
 *     `leafRows` rows) — a row count and a sum of row hashes per bucket, computed in each database;
 *  2. buckets whose count or sum differ are bisected: those holding more than `leafRows` rows on
 *     either side are digested again as 16 sub-buckets each (4 more bits), only those;
 *  3. the differing buckets that are small enough (leaves) have their rows streamed from both
 *     sides, one query per side ordered by key hash, and merged and compared key by key: missing (source only), extra
 *     (target only, or a key the target holds twice) and differing rows. A bucket with rows on
 *     one side only is neither bisected nor compared: its rows are all missing (or extra), and
 *     only a few of them are read for sample keys (an empty target costs no row transfer).
 * Equal buckets are never fetched, so an equal table costs one aggregate query per side.
 * MySQL JSON columns (mode 'json') are the exception: their documents are streamed to the worker
 * and digested here per bucket after parsing, because MySQL has no SQL text equal to jsonb's.
 */
import { createHash } from 'node:crypto';
import type { BucketDigest, BucketSet, DigestPlan, DigestReader, DigestRow, HashedRow } from './digest';
import { canonicalJson, jsonEqual } from './json';

export interface CompareOptions {
  /** A differing bucket with more rows than this (on either side) is bisected before its rows are fetched. */
  readonly leafRows: number;
  /** Depth bounds of the first pass (2^bits buckets). */
  readonly minBits: number;
  readonly maxBits: number;
  /** Sample keys kept per kind of difference. */
  readonly samples: number;
}

export const COMPARE_DEFAULTS: CompareOptions = { leafRows: 512, minBits: 4, maxBits: 20, samples: 5 };

export interface Differences {
  readonly count: number;
  /** Up to `samples` keys, as text (`42`, or `(1, abc)` for a composite key). */
  readonly samples: readonly string[];
}

export interface Verdict {
  readonly equal: boolean;
  readonly sourceRows: number;
  readonly targetRows: number;
  readonly missing: Differences;
  readonly extra: Differences;
  readonly differing: Differences;
  /** Buckets compared, over every depth. */
  readonly chunks: number;
  /** Buckets split into sub-buckets. */
  readonly bisected: number;
  /** Buckets whose rows were fetched. */
  readonly fetched: number;
  /**
   * The differing buckets (the leaves: fetched, or one-sided), by depth, with their rows on each
   * side: what a re-check compares again (compareTables' `within`).
   */
  readonly differingBuckets: readonly BucketSet[];
  readonly differingRows: { readonly source: number; readonly target: number };
}

export interface ComparePlans {
  readonly source: DigestPlan;
  readonly target: DigestPlan;
}

/** First depth: about `leafRows` rows per bucket for the estimate, within [minBits, maxBits]. */
export function firstBits(estimatedRows: number | undefined, o: CompareOptions): number {
  const want = estimatedRows && estimatedRows > o.leafRows ? Math.ceil(Math.log2(estimatedRows / o.leafRows)) : o.minBits;
  return Math.min(o.maxBits, Math.max(o.minBits, want));
}

class Tally {
  count = 0;
  readonly samples: string[] = [];
  constructor(private readonly max: number) {}
  get full(): boolean {
    return this.samples.length >= this.max;
  }
  add(key: readonly string[]): void {
    this.count++;
    this.sample(key);
  }
  sample(key: readonly string[]): void {
    if (!this.full) this.samples.push(key.length === 1 ? key[0]! : `(${key.join(', ')})`);
  }
  done(): Differences {
    return { count: this.count, samples: this.samples };
  }
}

interface Tallies {
  readonly missing: Tally;
  readonly extra: Tally;
  readonly differing: Tally;
}

/** A differing bucket, small enough to fetch (or holding rows on one side only). */
interface Leaf {
  readonly bits: number;
  readonly bucket: number;
  readonly sourceRows: number;
  readonly targetRows: number;
}

interface Located {
  readonly leaves: Leaf[];
  readonly chunks: number;
  readonly bisected: number;
  readonly sourceRows: number;
  readonly targetRows: number;
}

const same = (a: BucketDigest | undefined, b: BucketDigest | undefined): boolean => a?.rows === b?.rows && a?.sum === b?.sum;

/**
 * Compares the two tables; with `within`, only the rows of those buckets (e.g. a previous verdict's
 * differingBuckets, re-checked), whose row counts are then the counts of those buckets.
 */
export async function compareTables(source: DigestReader, target: DigestReader, plans: ComparePlans, estimatedRows: number | undefined, opts: CompareOptions = COMPARE_DEFAULTS, within?: readonly BucketSet[]): Promise<Verdict> {
  const t: Tallies = { missing: new Tally(opts.samples), extra: new Tally(opts.samples), differing: new Tally(opts.samples) };
  const found = within ? await locateWithin(source, target, plans, within, opts) : await locate(source, target, plans, firstBits(estimatedRows, opts), opts);
  // A bucket with rows on one side only needs no comparison: all its rows are missing (or extra).
  const oneSided = found.leaves.filter((l) => l.sourceRows === 0 || l.targetRows === 0);
  for (const l of oneSided) {
    t.missing.count += l.sourceRows;
    t.extra.count += l.targetRows;
  }
  let fetched = await sampleOneSided(source, target, plans, oneSided, t);
  fetched += await fetchLeaves(source, target, plans, found.leaves.filter((l) => l.sourceRows > 0 && l.targetRows > 0), t);
  const equal = t.missing.count === 0 && t.extra.count === 0 && t.differing.count === 0 && found.sourceRows === found.targetRows;
  const { chunks, bisected, sourceRows, targetRows } = found;
  const differingRows = { source: found.leaves.reduce((n, l) => n + l.sourceRows, 0), target: found.leaves.reduce((n, l) => n + l.targetRows, 0) };
  return { equal, sourceRows, targetRows, missing: t.missing.done(), extra: t.extra.done(), differing: t.differing.done(), chunks, bisected, fetched, differingBuckets: bucketSets(found.leaves), differingRows };
}

/** Leaves grouped by depth. */
function bucketSets(leaves: readonly { bits: number; bucket: number }[]): BucketSet[] {
  const byBits = new Map<number, number[]>();
  for (const l of leaves) byBits.set(l.bits, [...(byBits.get(l.bits) ?? []), l.bucket]);
  return [...byBits].sort((a, b) => a[0] - b[0]).map(([bits, buckets]) => ({ bits, buckets }));
}

/** locate, over the buckets of each set (at its own depth), summed. */
async function locateWithin(source: DigestReader, target: DigestReader, plans: ComparePlans, sets: readonly BucketSet[], opts: CompareOptions): Promise<Located> {
  const out: Located = { leaves: [], chunks: 0, bisected: 0, sourceRows: 0, targetRows: 0 };
  for (const s of sets) {
    if (s.buckets.length === 0) continue;
    const l = await locate(source, target, plans, s.bits, opts, s);
    out.leaves.push(...l.leaves);
    Object.assign(out, { chunks: out.chunks + l.chunks, bisected: out.bisected + l.bisected, sourceRows: out.sourceRows + l.sourceRows, targetRows: out.targetRows + l.targetRows });
  }
  return out;
}

/** Digests level by level: the differing buckets, bisected until small (or at 32 bits). */
async function locate(source: DigestReader, target: DigestReader, plans: ComparePlans, startBits: number, opts: CompareOptions, start?: BucketSet): Promise<Located> {
  let bits = startBits;
  let within: BucketSet | undefined = start;
  let first = true;
  let chunks = 0;
  let bisected = 0;
  let sourceRows = 0;
  let targetRows = 0;
  const leaves: Leaf[] = [];
  for (;;) {
    const [a, b, ja, jb] = await Promise.all([
      source.digest(plans.source, bits, within),
      target.digest(plans.target, bits, within),
      jsonDigest(source, plans.source, bits, within),
      jsonDigest(target, plans.target, bits, within),
    ]);
    const sa = new Map(a.map((d) => [d.bucket, d]));
    const sb = new Map(b.map((d) => [d.bucket, d]));
    if (first) {
      sourceRows = a.reduce((n, d) => n + d.rows, 0);
      targetRows = b.reduce((n, d) => n + d.rows, 0);
      first = false;
    }
    const all = [...new Set([...sa.keys(), ...sb.keys()])].sort((x, y) => x - y);
    chunks += all.length;
    const big: number[] = [];
    for (const k of all) {
      if (same(sa.get(k), sb.get(k)) && ja?.get(k) === jb?.get(k)) continue;
      const leaf = { bits, bucket: k, sourceRows: sa.get(k)?.rows ?? 0, targetRows: sb.get(k)?.rows ?? 0 };
      const split = bits + 4 <= 32 && leaf.sourceRows > 0 && leaf.targetRows > 0 && Math.max(leaf.sourceRows, leaf.targetRows) > opts.leafRows;
      if (split) big.push(k);
      else leaves.push(leaf);
    }
    if (big.length === 0) return { leaves, chunks, bisected, sourceRows, targetRows };
    bisected += big.length;
    within = { bits, buckets: big };
    bits += 4;
  }
}

/** Sample keys for one-sided buckets: one bucket at a time, until the samples are full. */
async function sampleOneSided(source: DigestReader, target: DigestReader, plans: ComparePlans, leaves: readonly Leaf[], t: Tallies): Promise<number> {
  let fetched = 0;
  for (const l of leaves) {
    const [reader, plan, tally] = l.targetRows === 0 ? [source, plans.source, t.missing] : [target, plans.target, t.extra];
    if (tally.full) continue;
    fetched++;
    // read to the end: a stream left early would leave the connection mid-result
    for await (const r of reader.rows(plan, [{ bits: l.bits, buckets: [l.bucket] }])) tally.sample(r.key);
  }
  return fetched;
}

/**
 * Rows of the leaves from both sides, one streamed query per side ordered by key hash, merged:
 * only the rows of one hash value are held at a time, however many rows differ.
 */
async function fetchLeaves(source: DigestReader, target: DigestReader, plans: ComparePlans, leaves: readonly Leaf[], t: Tallies): Promise<number> {
  if (leaves.length === 0) return 0;
  const sets = bucketSets(leaves);
  const a = source.rows(plans.source, sets)[Symbol.asyncIterator]();
  const b = target.rows(plans.target, sets)[Symbol.asyncIterator]();
  let [ra, rb] = await Promise.all([a.next(), b.next()]);
  while (!ra.done || !rb.done) {
    const hash = Math.min(ra.done ? Infinity : ra.value.hash, rb.done ? Infinity : rb.value.hash);
    const ga: HashedRow[] = [];
    const gb: HashedRow[] = [];
    while (!ra.done && ra.value.hash === hash) {
      ga.push(ra.value);
      ra = await a.next();
    }
    while (!rb.done && rb.value.hash === hash) {
      gb.push(rb.value);
      rb = await b.next();
    }
    compareRows(ga, gb, plans.source, t);
  }
  return leaves.length;
}

const bucketOf = (hash: number, bits: number): number => (bits === 0 ? 0 : Math.floor(hash / 2 ** (32 - bits)));

/** Per bucket, the sum of the first 60 bits of md5(key, parsed documents); undefined without json columns. */
async function jsonDigest(reader: DigestReader, plan: DigestPlan, bits: number, within: BucketSet | undefined): Promise<Map<number, bigint> | undefined> {
  if (!plan.columns.some((c) => c.mode === 'json')) return undefined;
  const out = new Map<number, bigint>();
  for await (const r of reader.jsonRows(plan, within)) {
    const text = JSON.stringify([r.key, r.docs.map((d) => (d === null ? null : canonicalJson(d)))]);
    const h = BigInt('0x' + createHash('md5').update(text).digest('hex').slice(0, 15));
    const b = bucketOf(r.hash, bits);
    out.set(b, (out.get(b) ?? 0n) + h);
  }
  return out;
}

function compareRows(src: readonly DigestRow[], dst: readonly DigestRow[], plan: DigestPlan, t: Tallies): void {
  const byKey = new Map(src.map((r) => [JSON.stringify(r.key), r]));
  const seen = new Set<string>();
  for (const r of dst) {
    const k = JSON.stringify(r.key);
    const s = byKey.get(k);
    if (!s || seen.has(k)) {
      t.extra.add(r.key);
      continue;
    }
    seen.add(k);
    if (!rowEqual(s, r, plan)) t.differing.add(r.key);
  }
  for (const [k, r] of byKey) if (!seen.has(k)) t.missing.add(r.key);
}

function rowEqual(a: DigestRow, b: DigestRow, plan: DigestPlan): boolean {
  return plan.columns.every((c, i) => {
    const x = a.values[i] ?? null;
    const y = b.values[i] ?? null;
    return c.mode === 'json' ? jsonEqual(x, y) : x === y;
  });
}
