/**
 * The representative `items` table of the managed MySQL/MariaDB tests (mysql-managed.it.ts,
 * mariadb-managed.it.ts): its DDL, rows, and the two queries that show each column as the same
 * text on both sides (the MySQL side with session time_zone +00:00).
 */
import type { Pool } from 'pg';
import { waitFor } from './pipeline';
import { columnTypes } from './pg';

/** The table both files fill: every type whose mapping matters (decimal, bigint unsigned, datetime(6), timestamp, json, tinyint(1), …). */
export const ITEMS_DDL = (db: string, binary = 'blob'): string => `CREATE TABLE \`${db}\`.items (
      id int PRIMARY KEY, name varchar(100) CHARACTER SET utf8mb4, amount decimal(20,6), big bigint unsigned, qty smallint,
      at datetime(6), ts timestamp(3) NULL, d date, tm time(6), doc json, data ${binary}, note text NULL, f double, flag tinyint(1), e enum('small','größer'), y year)`;

/** MySQL side: each column as the text the PostgreSQL side must show (session time_zone +00:00). */
export const SRC = (db: string) => `
  SELECT id, name, CAST(amount AS CHAR) AS amount, CAST(big AS CHAR) AS big, CAST(qty AS CHAR) AS qty,
         DATE_FORMAT(at, '%Y-%m-%d %H:%i:%s.%f') AS at, DATE_FORMAT(ts, '%Y-%m-%d %H:%i:%s.%f') AS ts,
         DATE_FORMAT(d, '%Y-%m-%d') AS d, TIME_FORMAT(tm, '%H:%i:%s.%f') AS tm, CAST(doc AS CHAR) AS doc, LOWER(HEX(data)) AS data, note,
         CAST(f AS CHAR) AS f, CASE WHEN flag IS NULL THEN NULL WHEN flag <> 0 THEN 'true' ELSE 'false' END AS flag,
         e, CAST(y AS CHAR) AS y
    FROM \`${db}\`.items ORDER BY id`;
export const DST = (schema: string) => `
  SELECT id, name, amount::text AS amount, big::text AS big, qty::text AS qty,
         to_char(at, 'YYYY-MM-DD HH24:MI:SS.US') AS at, to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS ts,
         d::text AS d, to_char('2000-01-01'::date + tm, 'HH24:MI:SS.US') AS tm, doc::text AS doc, encode(data, 'hex') AS data, note,
         f::text AS f, flag::text AS flag, e, y::text AS y
    FROM "${schema}".items ORDER BY id`;

export const row = (i: number): unknown[] => [
  i,
  i % 7 === 0 ? null : `naïve ✓ 😀 Ünïcödé #${i}`,
  `${i}${i % 2 ? '.000001' : '.5'}`,
  i === 1 ? '18446744073709551615' : String(i * 1_000_000_007),
  i % 300 - 150,
  `2024-0${(i % 9) + 1}-1${i % 10} 0${i % 10}:0${i % 6}:59.${String(i * 1371).padStart(6, '0').slice(0, 6)}`,
  i % 5 === 0 ? null : `2023-12-31 23:59:5${i % 10}.${String(i % 1000).padStart(3, '0')}`,
  i % 3 === 0 ? '1970-01-01' : `19${50 + (i % 50)}-02-28`,
  `${String(i % 24).padStart(2, '0')}:30:00.${String(i * 7).padStart(6, '0').slice(0, 6)}`,
  i % 4 === 0 ? null : JSON.stringify({ i, tags: ['a', 'ü'], nested: { ok: i % 2 === 0 } }),
  i % 6 === 0 ? null : Buffer.from([0, 255, i % 256, 10, 13, 92]),
  i % 2 === 0 ? null : `note\twith\ttabs\nand "quotes" \\ ${i}`,
  i / 8,
  i % 11 === 0 ? null : i % 2,
  i % 3 === 0 ? null : i % 2 ? 'small' : 'größer',
  1901 + (i % 255),
];
export const INSERT = (db: string) => `INSERT INTO \`${db}\`.items (id, name, amount, big, qty, at, ts, d, tm, doc, data, note, f, flag, e, y) VALUES ?`;

/** Waits until the target's items show every source row as the source does; else fails naming the first difference. */
export async function itemsLanded(target: Pool, schema: string, source: () => Promise<Record<string, unknown>[]>, timeoutMs = 120_000): Promise<void> {
  const want = await source();
  let last: Record<string, unknown>[] = [];
  try {
    await waitFor<Record<string, unknown>>(target, DST(schema), (rows) => JSON.stringify((last = rows)) === JSON.stringify(want), timeoutMs);
  } catch (e) {
    const i = want.findIndex((r, k) => JSON.stringify(r) !== JSON.stringify(last[k]));
    throw new Error(`${(e as Error).message.slice(0, 80)}: ${last.length} target rows, ${want.length} source rows; first difference at #${i}: source ${JSON.stringify(want[i])} target ${JSON.stringify(last[i])}`);
  }
}

/**
 * The column types nilus created for `items` from the MySQL connector's events, and row 1 exact:
 * the max bigint unsigned and the unicode name.
 */
export async function expectItemsTyped(target: Pool, schema: string): Promise<void> {
  expect(await columnTypes(target, schema, 'items')).toEqual({
    id: 'integer', name: 'text', amount: 'numeric(20,6)', big: 'numeric(20,0)', qty: 'smallint', at: 'timestamp without time zone',
    ts: 'timestamp with time zone', d: 'date', tm: 'time without time zone', doc: 'text', data: 'bytea', note: 'text', f: 'double precision', flag: 'boolean',
    e: 'text', y: 'integer',
  });
  expect((await target.query(`SELECT big::text, name FROM "${schema}".items WHERE id = 1`)).rows[0]).toEqual({ big: '18446744073709551615', name: 'naïve ✓ 😀 Ünïcödé #1' });
}
