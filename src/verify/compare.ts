/**
 * The comparison behind `nilus-pg verify`, pure over two DigestReaders (src/source/digest.ts):
 *
 *  1. both sides digest every bucket at the first depth (chosen so a bucket holds about
 *     `leafRows` rows) — a row count and a sum of row hashes per bucket, computed in each database;
 *  2. buckets whose count or sum differ are bisected: those holding more than `leafRows` rows on
 *     either side are digested again as 16 sub-buckets each (4 more bits), only those;
 *  3. the differing buckets that are small enough (leaves) have their rows fetched from both sides,
 *     a batch of buckets per query, and compared key by key: missing (source only), extra
 *     (target only, or a key the target holds twice) and differing rows.
 * Equal buckets are never fetched, so an equal table costs one aggregate query per side.
 * MySQL JSON columns (mode 'json') are the exception: their documents are streamed to the worker
 * and digested here per bucket after parsing, because MySQL has no SQL text equal to jsonb's.
 */
import { createHash } from 'node:crypto';
import type { BucketDigest, BucketSet, DigestPlan, DigestReader, DigestRow } from '../source/digest';
import { canonicalJson, jsonEqual } from './json';

export interface CompareOptions {
  /** A differing bucket with more rows than this (on either side) is bisected before its rows are fetched. */
  readonly leafRows: number;
  /** Depth bounds of the first pass (2^bits buckets). */
  readonly minBits: number;
  readonly maxBits: number;
  /** Leaf buckets fetched per query. */
  readonly fetchBuckets: number;
  /** Sample keys kept per kind of difference. */
  readonly samples: number;
}

export const COMPARE_DEFAULTS: CompareOptions = { leafRows: 512, minBits: 4, maxBits: 20, fetchBuckets: 256, samples: 5 };

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
  add(key: readonly string[]): void {
    this.count++;
    if (this.samples.length < this.max) this.samples.push(key.length === 1 ? key[0]! : `(${key.join(', ')})`);
  }
  done(): Differences {
    return { count: this.count, samples: this.samples };
  }
}

const same = (a: BucketDigest | undefined, b: BucketDigest | undefined): boolean => a?.rows === b?.rows && a?.sum === b?.sum;

export async function compareTables(source: DigestReader, target: DigestReader, plans: ComparePlans, estimatedRows: number | undefined, opts: CompareOptions = COMPARE_DEFAULTS): Promise<Verdict> {
  const missing = new Tally(opts.samples);
  const extra = new Tally(opts.samples);
  const differing = new Tally(opts.samples);
  let bits = firstBits(estimatedRows, opts);
  let within: BucketSet | undefined;
  let chunks = 0;
  let bisected = 0;
  let sourceRows = 0;
  let targetRows = 0;
  const leaves: BucketSet[] = [];
  for (;;) {
    const [a, b, ja, jb] = await Promise.all([
      source.digest(plans.source, bits, within),
      target.digest(plans.target, bits, within),
      jsonDigest(source, plans.source, bits, within),
      jsonDigest(target, plans.target, bits, within),
    ]);
    const sa = new Map(a.map((d) => [d.bucket, d]));
    const sb = new Map(b.map((d) => [d.bucket, d]));
    if (!within) {
      sourceRows = a.reduce((n, d) => n + d.rows, 0);
      targetRows = b.reduce((n, d) => n + d.rows, 0);
    }
    const all = [...new Set([...sa.keys(), ...sb.keys()])].sort((x, y) => x - y);
    chunks += all.length;
    const differ = all.filter((k) => !same(sa.get(k), sb.get(k)) || ja?.get(k) !== jb?.get(k));
    const big = bits + 4 <= 32 ? differ.filter((k) => Math.max(sa.get(k)?.rows ?? 0, sb.get(k)?.rows ?? 0) > opts.leafRows) : [];
    const bigSet = new Set(big);
    const leaf = differ.filter((k) => !bigSet.has(k));
    if (leaf.length > 0) leaves.push({ bits, buckets: leaf });
    if (big.length === 0) break;
    bisected += big.length;
    within = { bits, buckets: big };
    bits += 4;
  }
  let fetched = 0;
  for (const set of leaves) {
    for (let i = 0; i < set.buckets.length; i += opts.fetchBuckets) {
      const part: BucketSet = { bits: set.bits, buckets: set.buckets.slice(i, i + opts.fetchBuckets) };
      fetched += part.buckets.length;
      const [ra, rb] = await Promise.all([source.rows(plans.source, part), target.rows(plans.target, part)]);
      compareRows(ra, rb, plans.source, { missing, extra, differing });
    }
  }
  const equal = missing.count === 0 && extra.count === 0 && differing.count === 0 && sourceRows === targetRows;
  return { equal, sourceRows, targetRows, missing: missing.done(), extra: extra.done(), differing: differing.done(), chunks, bisected, fetched };
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

function compareRows(src: readonly DigestRow[], dst: readonly DigestRow[], plan: DigestPlan, t: { missing: Tally; extra: Tally; differing: Tally }): void {
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
