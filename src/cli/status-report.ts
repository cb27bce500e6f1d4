/**
 * `nilus-pg status`, the pure part: what was read (target tables, Kafka, Connect, the source) →
 * one report with its verdict and exit code, and the report as text. No I/O, so every rule of the
 * verdict is unit-tested (test/unit/cli/status-report.test.ts). The shape of `StatusReport` is what
 * `--json` prints (README "Operating a pipeline"): fields are added, never renamed or removed.
 */
import type { GroupMember, KafkaState } from '../kafka/group-status';
import type { BatchCursorStatus, StoredPartition } from '../sink/state-status';
import type { BinlogPosition, SlotState } from '../managed/source-status';

/** A part that was read, or why it could not be. */
export type Read<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

export interface StatusInputs {
  readonly pipeline: string;
  readonly mode: 'cdc' | 'batch';
  readonly nowMs: number;
  readonly maxLagSeconds: number;
  readonly groupId?: string;
  /** Topic → the target table its changes land in (`schema.table`). */
  readonly tableOf?: (topic: string) => string;
  readonly stored?: Read<readonly StoredPartition[]>;
  readonly kafka?: Read<KafkaState>;
  /** Dead letters per topic: a table's count; `topic` when they go to a Kafka topic (not counted); absent when none is configured. */
  readonly deadLetters?: { readonly where: string; readonly kind: 'table' | 'topic'; readonly counts?: Read<ReadonlyMap<string, number>> };
  readonly connector?: { readonly name: string; readonly read: Read<{ state: string; tasks: readonly { id: number; state: string }[] }> };
  readonly slot?: Read<SlotState>;
  readonly binlog?: Read<BinlogPosition | undefined>;
  readonly batch?: { readonly sourceTable: string; readonly cursor: Read<BatchCursorStatus | undefined>; readonly nextRunMs?: number; readonly incremental: boolean };
}

export interface PartitionStatus {
  readonly table: string;
  readonly topic: string;
  readonly partition: number;
  /** Next offset stored in the target's offsets table; null when none is stored yet. */
  readonly storedOffset: string | null;
  /** Kafka's end offset (high watermark); null when Kafka could not be read. */
  readonly endOffset: string | null;
  /** endOffset − storedOffset (log-start offset when none is stored); null when Kafka could not be read. */
  readonly lagMessages: number | null;
  /** Source commit time of the last change applied (ISO 8601); null when unknown. */
  readonly lastSourceTime: string | null;
  /** Seconds from lastSourceTime to now; null when unknown. */
  readonly lagSeconds: number | null;
  /** When a flush last stored this partition's offset (ISO 8601); null when never. */
  readonly lastFlush: string | null;
  /** Messages behind and the lag (or, unknown, the time since the last flush) above maxLagSeconds. */
  readonly lagging: boolean;
}

export interface TableStatus {
  readonly table: string;
  readonly topics: readonly string[];
  readonly lagMessages: number | null;
  /** Largest lagSeconds of its partitions that are behind; 0 when all are caught up; null when unknown. */
  readonly lagSeconds: number | null;
  /** Newest source commit time applied to it (ISO 8601), and the newest flush. */
  readonly lastSourceTime: string | null;
  readonly lastFlush: string | null;
  /** Dead letters held for its topics; null when not counted (a topic destination, or the table unreadable). */
  readonly deadLetters: number | null;
  readonly lagging: boolean;
}

export interface StatusReport {
  readonly pipeline: string;
  readonly mode: 'cdc' | 'batch';
  readonly checkedAt: string;
  /** healthy (exit 0), unhealthy (exit 1: lagging, failed, dead letters held), unknown (exit 2: a part could not be read). */
  readonly health: 'healthy' | 'unhealthy' | 'unknown';
  readonly exitCode: 0 | 1 | 2;
  /** Why it is unhealthy, one line each. */
  readonly problems: readonly string[];
  /** Parts that could not be read, with why. */
  readonly unreachable: readonly { readonly part: string; readonly error: string }[];
  readonly maxLagSeconds: number;
  readonly tables: readonly TableStatus[];
  readonly partitions: readonly PartitionStatus[];
  readonly group?: { readonly id: string; readonly state: string | null; readonly members: readonly GroupMember[] };
  readonly deadLetters?: { readonly where: string; readonly total: number | null };
  readonly source?: {
    readonly connector: { readonly name: string; readonly state: string; readonly tasks: readonly { id: number; state: string }[] };
    readonly slot?: { readonly name: string; readonly exists: boolean; readonly active: boolean | null; readonly retainedWalBytes: number | null; readonly restartLsn: string | null };
    readonly binlog?: { readonly file: string; readonly position: string; readonly gtids: string | null } | null;
  };
  readonly batch?: { readonly sourceTable: string; readonly cursorColumn: string | null; readonly cursorValue: string | null; readonly rowsLoaded: string | null; readonly lastRun: string | null; readonly nextRun: string | null };
}

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());
const secs = (ms: number): number => Math.max(0, Math.round(ms / 100) / 10);

export function buildReport(i: StatusInputs): StatusReport {
  const problems: string[] = [];
  const unreachable: { part: string; error: string }[] = [];
  const down = (part: string, r: { ok: boolean; error?: string } | undefined): void => {
    if (r && !r.ok) unreachable.push({ part, error: r.error ?? 'unknown' });
  };
  down('target PostgreSQL (offsets)', i.stored);
  down('Kafka', i.kafka);
  down(`dead-letter table ${i.deadLetters?.where ?? ''}`, i.deadLetters?.counts);
  down(`Kafka Connect (connector ${i.connector?.name ?? ''})`, i.connector?.read);
  down('source database (replication slot)', i.slot);
  down('source database (binlog position)', i.binlog);
  down('target PostgreSQL (batch cursor)', i.batch?.cursor);

  const partitions = i.mode === 'cdc' ? partitionRows(i) : [];
  const tables = tableRows(i, partitions);
  for (const t of tables) {
    if (t.lagging) problems.push(`${t.table}: ${t.lagMessages} message(s) behind, last change applied ${t.lagSeconds ?? '?'} s ago (more than ${i.maxLagSeconds} s)`);
  }
  const report: { -readonly [K in keyof StatusReport]: StatusReport[K] } = {
    pipeline: i.pipeline,
    mode: i.mode,
    checkedAt: new Date(i.nowMs).toISOString(),
    health: 'healthy',
    exitCode: 0,
    problems,
    unreachable,
    maxLagSeconds: i.maxLagSeconds,
    tables,
    partitions,
  };
  if (i.groupId !== undefined) {
    report.group = { id: i.groupId, state: i.kafka?.ok ? i.kafka.value.groupState : null, members: i.kafka?.ok ? i.kafka.value.members : [] };
  }
  if (i.deadLetters) {
    const total = i.deadLetters.counts?.ok ? [...i.deadLetters.counts.value.values()].reduce((a, b) => a + b, 0) : null;
    report.deadLetters = { where: i.deadLetters.where, total };
    if (total) problems.push(`${total} dead letter(s) held in ${i.deadLetters.where}: changes that did not apply`);
  }
  if (i.connector) {
    const c = i.connector.read;
    const state = c.ok ? c.value.state : 'UNREACHABLE';
    const tasks = c.ok ? c.value.tasks : [];
    let slot: NonNullable<StatusReport['source']>['slot'];
    let binlog: NonNullable<StatusReport['source']>['binlog'];
    if (c.ok) {
      const bad = [...(state !== 'RUNNING' ? [`connector ${i.connector.name} is ${state}`] : []), ...tasks.filter((t) => t.state !== 'RUNNING').map((t) => `task ${t.id} is ${t.state}`)];
      if (state === 'RUNNING' && tasks.length === 0) bad.push(`connector ${i.connector.name} has no task`);
      if (bad.length) problems.push(`source ${bad.join(', ')}: nothing new is captured`);
    }
    if (i.slot?.ok) {
      const s = i.slot.value;
      slot = { name: s.slot, exists: s.exists, active: s.active ?? null, retainedWalBytes: s.retainedBytes ?? null, restartLsn: s.restartLsn ?? null };
      if (!s.exists && c.ok && state === 'RUNNING') problems.push(`replication slot ${s.slot} does not exist on the source`);
    }
    if (i.binlog?.ok) {
      const b = i.binlog.value;
      binlog = b ? { file: b.file, position: b.position, gtids: b.gtids ?? null } : null;
    }
    report.source = { connector: { name: i.connector.name, state, tasks }, ...(slot ? { slot } : {}), ...(binlog !== undefined ? { binlog } : {}) };
  }
  if (i.batch) {
    const c = i.batch.cursor.ok ? i.batch.cursor.value : undefined;
    report.batch = {
      sourceTable: i.batch.sourceTable,
      cursorColumn: c?.column ?? null,
      cursorValue: c?.value ?? null,
      rowsLoaded: c?.rowsLoaded ?? null,
      lastRun: iso(c?.updatedMs),
      nextRun: iso(i.batch.nextRunMs),
    };
  }
  // What was read and found wrong is a certain answer even when another part could not be read.
  if (problems.length > 0) Object.assign(report, { health: 'unhealthy', exitCode: 1 });
  else if (unreachable.length > 0) Object.assign(report, { health: 'unknown', exitCode: 2 });
  return report;
}

function partitionRows(i: StatusInputs): PartitionStatus[] {
  const stored = new Map((i.stored?.ok ? i.stored.value : []).map((s) => [`${s.partition}:${s.topic}`, s]));
  const ends = i.kafka?.ok ? i.kafka.value.partitions : undefined;
  // Kafka lists the partitions; without it, those the offsets table knows.
  const keys = ends ? ends.map((e) => ({ topic: e.topic, partition: e.partition })) : [...stored.values()].map((s) => ({ topic: s.topic, partition: s.partition }));
  const tableOf = i.tableOf ?? ((t: string) => t);
  return keys.map(({ topic, partition }) => {
    const s = stored.get(`${partition}:${topic}`);
    const e = ends?.find((x) => x.topic === topic && x.partition === partition);
    const from = s ? BigInt(s.next) : e ? BigInt(e.low) : undefined;
    const lag = e && from !== undefined ? Number(BigInt(e.high) > from ? BigInt(e.high) - from : 0n) : null;
    const lagSeconds = s?.sourceMs !== undefined ? secs(i.nowMs - s.sourceMs) : null;
    // With no source time stored, how long since a flush last stored this partition; never stored: as old as can be.
    const age = lagSeconds ?? (s ? secs(i.nowMs - s.flushedMs) : Infinity);
    return {
      table: tableOf(topic),
      topic,
      partition,
      storedOffset: s?.next ?? null,
      endOffset: e?.high ?? null,
      lagMessages: lag,
      lastSourceTime: iso(s?.sourceMs),
      lagSeconds,
      lastFlush: iso(s?.flushedMs),
      lagging: lag !== null && lag > 0 && age > i.maxLagSeconds,
    };
  });
}

function tableRows(i: StatusInputs, parts: readonly PartitionStatus[]): TableStatus[] {
  const by = new Map<string, PartitionStatus[]>();
  for (const p of parts) by.set(p.table, [...(by.get(p.table) ?? []), p]);
  const counts = i.deadLetters?.counts?.ok ? i.deadLetters.counts.value : undefined;
  return [...by.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([table, ps]) => {
    const topics = [...new Set(ps.map((p) => p.topic))];
    const known = ps.every((p) => p.lagMessages !== null);
    const behind = ps.filter((p) => (p.lagMessages ?? 0) > 0);
    const maxOf = (xs: (string | null)[]): string | null => xs.filter((x): x is string => x !== null).sort().pop() ?? null;
    const ages = behind.map((p) => p.lagSeconds);
    return {
      table,
      topics,
      lagMessages: known ? ps.reduce((a, p) => a + (p.lagMessages ?? 0), 0) : null,
      lagSeconds: !known ? null : behind.length === 0 ? 0 : ages.includes(null) ? null : Math.max(...(ages as number[])),
      lastSourceTime: maxOf(ps.map((p) => p.lastSourceTime)),
      lastFlush: maxOf(ps.map((p) => p.lastFlush)),
      deadLetters: counts ? topics.reduce((a, t) => a + (counts.get(t) ?? 0), 0) : null,
      lagging: ps.some((p) => p.lagging),
    };
  });
}
