/**
 * Shared by the hostile-input suite (issue 12): a small `items` table in Debezium's encoding, and
 * running a pipeline in-process (test/helpers/pipeline.ts) over produced records until every
 * record's offset is stored or the pipeline stops by itself.
 */
import type { Pool } from 'pg';
import type { Service } from '../../../src/service/run';
import { EventFactory, type TableDef } from '../../fixtures/factory';
import { cdcManifest, startInProcess, type CdcManifestOptions } from '../../helpers/pipeline';

/** `id int32 PK, name string NOT NULL, qty int32`: the shape of test/fixtures/debezium-real/items. */
export function itemsTable(prefix: string, table = 'items', schema = 'public', qtyType: 'int32' | 'string' = 'int32'): TableDef {
  return {
    prefix,
    schema,
    table,
    key: ['id'],
    fields: [
      { name: 'id', type: 'int32', optional: false },
      { name: 'name', type: 'string', optional: false },
      { name: 'qty', type: qtyType, optional: true },
    ],
  };
}

export const items = (prefix: string, table?: string, schema?: string): EventFactory => new EventFactory(itemsTable(prefix, table, schema));

export interface Outcome {
  /** Exit code when the pipeline stopped by itself; undefined when it applied everything and was stopped. */
  readonly stoppedWith: number | undefined;
  /** What the pipeline logged (warn and up), JSON lines. */
  readonly logs: string;
  readonly svc: Service & { logs(): string };
}

/**
 * Starts the pipeline and waits until the stored offsets of `topics` reach `expected` (records
 * produced per topic) or the pipeline ends by itself. A pipeline still running is then stopped
 * gracefully (its exit code must be 0, checked by the caller through `stoppedWith`).
 */
export async function runUntilApplied(
  pool: Pool,
  schema: string,
  manifest: CdcManifestOptions,
  expected: Record<string, number>,
  timeoutMs = 90_000,
): Promise<Outcome> {
  const svc = await startInProcess(cdcManifest(manifest));
  let ended: number | undefined;
  void svc.done.then((c) => (ended = c), () => (ended = -1));
  const deadline = Date.now() + timeoutMs;
  let last = '';
  try {
    for (;;) {
      if (ended !== undefined) return { stoppedWith: ended, logs: svc.logs(), svc };
      const got = await storedOffsets(pool, schema);
      last = JSON.stringify(got);
      if (Object.entries(expected).every(([t, n]) => got[t] === n)) break;
      if (Date.now() > deadline) throw new Error(`offsets did not reach ${JSON.stringify(expected)} within ${timeoutMs} ms; stored: ${last}; log:\n${svc.logs()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (err) {
    await svc.stop();
    throw err;
  }
  const code = await svc.stop();
  return { stoppedWith: code === 0 ? undefined : code, logs: svc.logs(), svc };
}

/** Waits for a pipeline expected to stop by itself; fails after `timeoutMs` if it keeps running. */
export async function runUntilStopped(manifest: CdcManifestOptions, timeoutMs = 90_000): Promise<Outcome> {
  const svc = await startInProcess(cdcManifest(manifest));
  const code = await Promise.race([svc.done, new Promise<'running'>((r) => setTimeout(() => r('running'), timeoutMs))]);
  if (code === 'running') {
    await svc.stop();
    throw new Error(`the pipeline was expected to stop by itself within ${timeoutMs} ms but kept running; log:\n${svc.logs()}`);
  }
  return { stoppedWith: code, logs: svc.logs(), svc };
}

/** topic → stored next offset, from the offsets table in `schema` (empty when it does not exist yet). */
export async function storedOffsets(pool: Pool, schema: string): Promise<Record<string, number>> {
  try {
    const r = await pool.query<{ topic: string; n: number }>(`SELECT topic, sum(next_offset)::int AS n FROM "${schema}".nilus_offsets GROUP BY topic`);
    return Object.fromEntries(r.rows.map((x) => [x.topic, x.n]));
  } catch (err) {
    if (/does not exist/.test(String(err))) return {};
    throw err;
  }
}

export interface DeadRow {
  topic: string;
  partition: number;
  o: string;
  key: Buffer | null;
  value: Buffer | null;
  value_text: string | null;
  reason: string;
  error_class: string;
}

export async function deadLetters(pool: Pool, schema: string, table = 'dead_letters'): Promise<DeadRow[]> {
  try {
    return (await pool.query<DeadRow>(`SELECT topic, partition, kafka_offset::text AS o, key, value, value_text, reason, error_class FROM "${schema}"."${table}" ORDER BY topic, kafka_offset`)).rows;
  } catch (err) {
    if (/does not exist/.test(String(err))) return [];
    throw err;
  }
}

/** The error line that stopped the pipeline (the last `error`-level log line's message and error text). */
export function stopMessage(logs: string): string {
  const lines = logs.split('\n').filter((l) => l.trim() !== '');
  const errs = lines.map((l) => { try { return JSON.parse(l) as Record<string, unknown>; } catch { return {}; } }).filter((o) => (o.level === 'error' || o.level === 50 || o.level === 'fatal'));
  return errs.map((o) => `${String(o.msg ?? '')} ${JSON.stringify(o.err ?? o.error ?? '')}`).join('\n') || logs;
}
