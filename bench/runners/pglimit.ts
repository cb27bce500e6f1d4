/**
 * The PostgreSQL limit: the least work any sink must do for this workload — load the FINAL rows
 * with COPY into a temp staging table, upsert them with INSERT … ON CONFLICT, apply the final
 * deletes, in one transaction — timed as wall clock around one `psql` process.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { orderRow, orderRowText } from '../../test/fixtures/factory';
import { compareDigest, expectedDigest, tableDigest } from '../check';
import { rate, usPer, type RunResult } from '../result';
import { since, snapshot } from '../machine-cpu';
import { quoteIdent, TARGET_URL, withPg } from '../stack';
import type { Workload } from '../workload';
import { freshSchema } from './nilus';

const COLUMNS = ['customer_id', 'status', 'amount', 'note', 'created_at', 'updated_at'];

/** COPY text format: backslash, tab, newline and carriage return are escaped; NULL is \N. */
export function copyField(v: string | null): string {
  if (v === null) return '\\N';
  return v.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

export function copyLine(id: number, version: number): string {
  const [, customer, status, amount, , created] = orderRowText(id, version);
  const r = orderRow(id, version);
  return [String(id), customer!, status!, amount!, r.note === null ? null : String(r.note), created!, String(r.updated_at)].map(copyField).join('\t');
}

export function psqlBinary(): string {
  const debian = '/usr/lib/postgresql/15/bin/psql';
  return existsSync(debian) ? debian : 'psql';
}

export async function pgLimitRun(schema: string, w: Workload): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'nilus-bench-copy-'));
  try {
    const rowsFile = join(dir, 'rows.copy');
    const goneFile = join(dir, 'deleted.copy');
    const ids = [...w.live.keys()].sort((a, b) => a - b);
    writeFileSync(rowsFile, ids.map((id) => copyLine(id, w.live.get(id)!) + '\n').join(''));
    writeFileSync(goneFile, [...w.deleted].map((id) => `${id}\n`).join(''));
    const t = `${quoteIdent(schema)}.orders`;
    await withPg(TARGET_URL, async (c) => {
      await freshSchema(c, schema);
      await c.query(`CREATE TABLE ${t} (id bigint PRIMARY KEY, customer_id integer, status text, amount numeric(12,2), note text,
                       created_at timestamp without time zone, updated_at timestamp with time zone)`);
    });
    const script = [
      '\\set ON_ERROR_STOP 1',
      'BEGIN;',
      `CREATE TEMP TABLE stage (LIKE ${t}) ON COMMIT DROP;`,
      `\\copy stage FROM '${rowsFile}'`,
      `INSERT INTO ${t} SELECT * FROM stage ON CONFLICT (id) DO UPDATE SET ${COLUMNS.map((col) => `${col} = EXCLUDED.${col}`).join(', ')};`,
      'CREATE TEMP TABLE gone (id bigint) ON COMMIT DROP;',
      `\\copy gone FROM '${goneFile}'`,
      `DELETE FROM ${t} o USING gone g WHERE o.id = g.id;`,
      'COMMIT;',
    ].join('\n');
    const t0 = process.hrtime.bigint();
    const cpu0 = snapshot();
    const p = spawnSync(psqlBinary(), ['-X', '-q', '-d', TARGET_URL], { input: script, encoding: 'utf8' });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = since(cpu0);
    if (p.status !== 0) throw new Error(`psql exited ${p.status}: ${p.stderr || p.error?.message}`);
    return await withPg(TARGET_URL, async (c) => {
      const v = compareDigest(expectedDigest(w, 'typed'), await tableDigest(c, schema, 'orders', 'typed', w.maxId));
      await c.query(`DROP SCHEMA ${quoteIdent(schema)} CASCADE`);
      return {
        name: 'pg-limit', ok: v.ok, check: v.detail, events: w.events, seconds, eventsPerSec: rate(w.events, seconds),
        extra: { finalRows: ids.length, finalDeletes: w.deleted.size, ...cpu, pgCpuUsPerEvent: usPer(cpu.pgCpuSeconds, w.events) },
        notes: ['wall clock around one psql: COPY of the final rows into a temp table, INSERT … ON CONFLICT, DELETE … USING, one transaction'],
      };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
