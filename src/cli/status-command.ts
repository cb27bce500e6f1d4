/** `nilus-pg status` on the command line: options, the report printed as text or JSON, the exit code. */
import { loadConfig } from '../config/load';

export const STATUS_HELP = `Usage: nilus-pg status <manifest.yaml> [--connections <file>] [--json] [--max-lag-seconds <s>]

How the pipeline stands, read from the target's own tables, Kafka, Kafka Connect and the source
database (a managed source), so it answers whether the worker runs or not. Read-only.
CDC: per target table and partition, the offset stored in the target against Kafka's end offset
(lag in messages), the source time of the last change applied and its age (lag in seconds), the
last flush, the dead letters held (a dead-letter table); the consumer group's members; for a
managed source the connector's and tasks' states and the replication slot's retained WAL
(PostgreSQL) or the binlog position (MySQL/MariaDB). Batch: the stored cursor, when a run last
stored it, the next scheduled run.
--max-lag-seconds (default 300): a partition with messages waiting whose last applied change is
older than this (or, with no source time stored, whose last flush is) is lagging. A partition
with nothing waiting is never lagging, however old its last change.
--json prints the report as one JSON object (README "Operating a pipeline" describes its fields).
Exit 0 healthy; 1 unhealthy: a table lagging, the connector or a task not RUNNING, the slot
missing, or dead letters held; 2 cannot tell: a part could not be read (and nothing read was wrong),
or the manifest is invalid.`;

export async function statusCommand(manifest: string, connectionsPath: string | undefined, o: { json?: boolean; maxLagSeconds?: string }, io: { out(l: string): void; err(l: string): void }): Promise<number> {
  let maxLagSeconds: number | undefined;
  if (o.maxLagSeconds !== undefined) {
    const n = Number(o.maxLagSeconds);
    if (o.maxLagSeconds.trim() === '' || !Number.isFinite(n) || n < 0) {
      io.err(`--max-lag-seconds wants seconds (a number ≥ 0), got "${o.maxLagSeconds}"`);
      return 2;
    }
    maxLagSeconds = n;
  }
  const cfg = await loadConfig(manifest, { connectionsPath });
  // Imported lazily, like run and verify: validate/check must not load the clients status uses.
  const { pipelineStatus, DEFAULT_MAX_LAG_SECONDS } = await import('./status');
  const { formatStatus } = await import('./status-format');
  const report = await pipelineStatus(cfg, { maxLagSeconds: maxLagSeconds ?? DEFAULT_MAX_LAG_SECONDS });
  if (o.json) io.out(JSON.stringify(report, null, 2));
  else for (const line of formatStatus(report)) io.out(line);
  return report.exitCode;
}
