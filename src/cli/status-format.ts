/** `nilus-pg status` as text for a terminal: a verdict line, one table row per target table and partition, then the group and the source. */
import type { PartitionStatus, StatusReport } from './status-report';

const VERDICT = { healthy: 'HEALTHY', unhealthy: 'UNHEALTHY', unknown: 'CANNOT TELL' } as const;

/** Columns padded to their widest cell. */
export function columns(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ').trimEnd());
}

/** 1536 → "1.5 KiB". */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** "12:00:01Z (5 s ago)"-style: the time of day in UTC and how long ago, or "-". */
function when(isoTime: string | null, checkedAt: string): string {
  if (isoTime === null) return '-';
  const ago = Math.max(0, Math.round((Date.parse(checkedAt) - Date.parse(isoTime)) / 1000));
  return `${isoTime.slice(0, 19).replace('T', ' ')}Z (${ago} s ago)`;
}

const num = (n: number | string | null): string => (n === null ? '?' : String(n));

function partitionRow(p: PartitionStatus, r: StatusReport, deadCell: string): string[] {
  return [
    p.table,
    `${p.topic}[${p.partition}]`,
    p.storedOffset ?? '-',
    num(p.endOffset),
    num(p.lagMessages),
    p.lagSeconds === null ? '?' : String(p.lagSeconds),
    when(p.lastSourceTime, r.checkedAt),
    when(p.lastFlush, r.checkedAt),
    deadCell,
    p.lagging ? 'LAGGING' : p.lagMessages === null ? '?' : p.lagMessages === 0 ? 'caught up' : 'ok',
  ];
}

export function formatStatus(r: StatusReport): string[] {
  const out: string[] = [];
  out.push(`pipeline ${r.pipeline} (${r.mode}): ${VERDICT[r.health]} (exit ${r.exitCode}) at ${r.checkedAt}`);
  for (const p of r.problems) out.push(`  problem: ${p}`);
  for (const u of r.unreachable) out.push(`  cannot read ${u.part}: ${u.error}`);
  if (r.mode === 'cdc') {
    out.push('');
    if (r.partitions.length === 0) out.push(`no topic of this pipeline found${r.unreachable.length ? ' (see above)' : ' in Kafka'}`);
    else {
      // Dead letters are counted per table: shown on the table's first partition row.
      const seen = new Set<string>();
      const rows = [['TABLE', 'TOPIC[PARTITION]', 'STORED', 'END', 'LAG MSGS', 'LAG S', 'LAST CHANGE APPLIED (SOURCE TIME)', 'LAST FLUSH', 'DEAD LETTERS', 'STATE']];
      for (const p of r.partitions) {
        const dead = r.deadLetters === undefined ? '-' : seen.has(p.table) ? '' : num(r.tables.find((t) => t.table === p.table)?.deadLetters ?? null);
        seen.add(p.table);
        rows.push(partitionRow(p, r, dead));
      }
      out.push(...columns(rows));
    }
    out.push(`lag above ${r.maxLagSeconds} s while messages wait counts as lagging (--max-lag-seconds)`);
  }
  if (r.deadLetters) out.push(`dead letters: ${r.deadLetters.total === null ? 'not counted' : r.deadLetters.total} in ${r.deadLetters.where}`);
  if (r.group) {
    out.push(`consumer group ${r.group.id}: ${r.group.state ?? '?'}, ${r.group.members.length} member(s)`);
    for (const m of r.group.members) out.push(`  ${m.clientId} ${m.host} ${m.memberId}: ${m.partitions.length ? m.partitions.join(', ') : '(no partitions)'}`);
  }
  if (r.source) {
    const c = r.source.connector;
    out.push(`source connector ${c.name}: ${c.state}${c.tasks.map((t) => `, task ${t.id} ${t.state}`).join('')}`);
    const s = r.source.slot;
    if (s) {
      out.push(s.exists
        ? `replication slot ${s.name}: ${s.active ? 'active' : 'INACTIVE'}, retained WAL ${s.retainedWalBytes === null ? '?' : bytes(s.retainedWalBytes)}${s.restartLsn ? ` (restart_lsn ${s.restartLsn})` : ''}`
        : `replication slot ${s.name}: does not exist`);
    }
    if (r.source.binlog !== undefined) {
      const b = r.source.binlog;
      out.push(b ? `source binlog position: ${b.file}:${b.position}${b.gtids ? ` (GTIDs ${b.gtids})` : ''}` : 'source binlog position: binary logging is off');
    }
  }
  if (r.batch) {
    const b = r.batch;
    out.push('');
    out.push(`source table ${b.sourceTable}: ${b.cursorColumn ? `cursor ${b.cursorColumn} = ${b.cursorValue}, ${b.rowsLoaded} row(s) loaded` : 'no cursor stored'}`);
    out.push(`last run that stored the cursor: ${when(b.lastRun, r.checkedAt)}`);
    out.push(`next scheduled run: ${b.nextRun ?? 'none (no spec.schedule, or no cron fires again)'}`);
  }
  return out;
}
