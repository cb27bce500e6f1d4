/** Source table and source position of an event: from the `source` block, `__` fields, or the topic. */
import type { SourceInfo, SourceTable } from '../kernel/types';
import { ConvertError } from './codecs/registry';
import { checkExact } from './codecs/types';

function num(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.length > 0) {
    const n = Number(v.charCodeAt(0) === 0 ? v.slice(1) : v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

function big(v: unknown): bigint | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) {
    checkExact(v);
    return BigInt(v);
  }
  if (typeof v === 'string') {
    const s = v.charCodeAt(0) === 0 ? v.slice(1) : v;
    if (/^\d+$/.test(s)) return BigInt(s);
  }
  return undefined;
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string' && v.length > 0) return v;
  if (typeof v === 'boolean') return String(v);
  return undefined;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export function sourceInfo(source: unknown, envelopeTsMs: unknown): SourceInfo {
  const info: Mutable<SourceInfo> = {};
  if (source !== null && typeof source === 'object') {
    const s = source as Record<string, unknown>;
    const lsn = big(s.lsn);
    if (lsn !== undefined) info.lsn = lsn;
    let tsMs = num(s.ts_ms);
    if (tsMs === undefined) {
      const tsUs = num(s.ts_us);
      if (tsUs !== undefined) tsMs = Math.floor(tsUs / 1000);
    }
    if (tsMs !== undefined) info.tsMs = tsMs;
    const snapshot = str(s.snapshot);
    if (snapshot !== undefined) info.snapshot = snapshot;
  }
  const eventTsMs = num(envelopeTsMs);
  if (eventTsMs !== undefined) info.eventTsMs = eventTsMs;
  return info;
}

/** ExtractNewRecordState metadata (`__lsn`, `__source_ts_ms`, …) → SourceInfo. */
export function flatSourceInfo(o: Record<string, unknown>): SourceInfo {
  return sourceInfo(
    {
      lsn: o.__lsn ?? o.__source_lsn,
      ts_ms: o.__source_ts_ms,
      ts_us: o.__source_ts_us,
      snapshot: o.__snapshot ?? o.__source_snapshot,
    },
    o.__ts_ms,
  );
}

/** Table named by a `source` block (PostgreSQL schema/table, MySQL db/table, MongoDB db/collection). */
export function tableFromSource(source: unknown): SourceTable | undefined {
  if (source === null || typeof source !== 'object') return undefined;
  const s = source as Record<string, unknown>;
  const schema = str(s.schema) ?? str(s.db);
  const table = str(s.table) ?? str(s.collection);
  return schema !== undefined && table !== undefined ? { schema, table } : undefined;
}

export function tableFromFlat(o: Record<string, unknown>): SourceTable | undefined {
  return tableFromSource({
    schema: o.__schema ?? o.__source_schema,
    db: o.__db ?? o.__source_db,
    table: o.__table ?? o.__source_table,
    collection: o.__collection ?? o.__source_collection,
  });
}

/** `<prefix>.<schema>.<table>`; a bare `<prefix>.<table>` means schema 'public'. */
export function tableFromTopic(topic: string, prefix: string): SourceTable {
  if (!topic.startsWith(prefix + '.')) {
    throw new ConvertError(`topic "${topic}" does not start with topic.prefix "${prefix}." and the event names no source table; check topic.prefix`);
  }
  const rest = topic.slice(prefix.length + 1).split('.');
  if (rest.length === 2 && rest[0] && rest[1]) return { schema: rest[0], table: rest[1] };
  if (rest.length === 1 && rest[0]) return { schema: 'public', table: rest[0] };
  throw new ConvertError(
    `cannot tell schema from table in topic "${topic}" after prefix "${prefix}" (expected <prefix>.<schema>.<table>) ` +
      'and the event names no source table; check topic.prefix or add source/__table fields',
  );
}

/**
 * The source tables behind a list of topics (`<prefix>.<schema>.<table>`), for `Router.check` at
 * start-up. Topics whose names do not say (their records name the table in their `source` block)
 * are left out: those are checked as their first record is routed.
 */
export function sourcesOfTopics(topics: readonly string[], prefix: string): SourceTable[] {
  const out: SourceTable[] = [];
  for (const t of topics) {
    try {
      out.push(tableFromTopic(t, prefix));
    } catch {
      // not <prefix>.<schema>.<table>: routed (and checked) per record
    }
  }
  return out;
}
