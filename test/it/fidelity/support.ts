/**
 * Shared pieces of the fidelity tests: a column catalogue with the canonical text form each
 * column is compared by (the same expression on source and target), and a row-by-row comparison
 * that names the differing rows and columns when it fails.
 */
import type { Pool } from 'pg';
import { UNAVAILABLE, type RawRecord } from '../../../src/kernel/types';
import { Decoder } from '../../../src/decode/decoder';
import { testKafka } from '../../helpers/kafka';
import { uniqueName } from '../../helpers/pg';

export interface Col {
  readonly name: string;
  /** Source DDL type. */
  readonly ddl: string;
  /**
   * Canonical text of the column, the same on both sides. Default: cast to the source type, then
   * to text (so a target column auto-created as text compares by the source type's rules).
   */
  readonly canon?: (q: string) => string;
}

const qi = (s: string): string => '"' + s.replace(/"/g, '""') + '"';

export function canonExpr(c: Col): string {
  const q = qi(c.name);
  return c.canon ? c.canon(q) : `${q}::${c.ddl}::text`;
}

export interface Snapshot {
  /** id → canonical column texts (null = SQL NULL). */
  readonly rows: Map<string, (string | null)[]>;
}

export async function snapshot(pool: Pool, table: string, cols: readonly Col[]): Promise<Snapshot> {
  const sql = `SELECT id::text AS id, ARRAY[${cols.map(canonExpr).join(', ')}] AS v FROM ${table} ORDER BY id`;
  const res = await pool.query<{ id: string; v: (string | null)[] }>(sql);
  return { rows: new Map(res.rows.map((r) => [r.id, r.v])) };
}

const short = (v: string | null | undefined): string =>
  v === undefined ? '(absent)' : v === null ? 'NULL' : v.length > 80 ? `${v.slice(0, 60)}… (${v.length} chars)` : JSON.stringify(v);

/** Every difference between two snapshots, one line each; empty when they are equal. */
export function diff(want: Snapshot, got: Snapshot, cols: readonly Col[]): string[] {
  const out: string[] = [];
  for (const [id, w] of want.rows) {
    const g = got.rows.get(id);
    if (!g) {
      out.push(`row ${id}: missing in target`);
      continue;
    }
    cols.forEach((c, i) => {
      if (w[i] !== g[i]) out.push(`row ${id} column ${c.name}: source ${short(w[i])}, target ${short(g[i])}`);
    });
  }
  for (const id of got.rows.keys()) if (!want.rows.has(id)) out.push(`row ${id}: in target but not in source`);
  return out;
}

/** Polls until target equals source column for column; fails with the differences. */
export async function expectSameRows(
  source: Pool,
  srcTable: string,
  target: Pool,
  dstTable: string,
  cols: readonly Col[],
  timeoutMs = 90_000,
): Promise<number> {
  const want = await snapshot(source, srcTable, cols);
  const deadline = Date.now() + timeoutMs;
  let last: string[] = ['target table not created yet'];
  for (;;) {
    try {
      last = diff(want, await snapshot(target, dstTable, cols), cols);
      if (last.length === 0) return want.rows.size;
    } catch (err) {
      if (!/does not exist/.test(String(err))) throw err;
    }
    if (Date.now() > deadline) {
      throw new Error(`target differs from source after ${timeoutMs} ms:\n${last.slice(0, 40).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Reads a topic from the start and returns, per column, how many events carried the
 * unchanged-TOAST placeholder there: proof that the workload really exercised it.
 */
/**
 * Every record of `topic` (headers included): read until at least `expected` came and then none
 * for 2 s, or for 30 s at most.
 */
export async function topicRecords(topic: string, expected: number): Promise<RawRecord[]> {
  const consumer = testKafka().consumer({ groupId: uniqueName('fidscan') });
  const out: RawRecord[] = [];
  let lastAt = Date.now();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    void consumer.run({
      eachMessage: async ({ message, partition }) => {
        out.push({ topic, partition, offset: message.offset, key: message.key, value: message.value, headers: message.headers });
        lastAt = Date.now();
      },
    });
    const until = Date.now() + 30_000;
    while (Date.now() < until && !(out.length >= expected && Date.now() - lastAt > 2_000)) await new Promise((r) => setTimeout(r, 200));
  } finally {
    await consumer.disconnect();
  }
  return out;
}

/** Placeholders per column in the `after` rows of these records, as the general decoder reads them. */
export function unavailableCounts(records: readonly RawRecord[], prefix: string): Record<string, number> {
  const decoder = new Decoder({ topicPrefix: prefix });
  const counts: Record<string, number> = {};
  for (const r of records) {
    const ev = decoder.decode(r);
    for (const [k, v] of Object.entries(ev?.after ?? {})) if (v === UNAVAILABLE) counts[k] = (counts[k] ?? 0) + 1;
  }
  return counts;
}

export { qi };
