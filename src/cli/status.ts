/**
 * `nilus-pg status`: reads how a pipeline stands from the places that hold it — the target's own
 * tables (offsets with flush and source times, dead letters, a batch cursor), Kafka (end offsets,
 * the consumer group), Kafka Connect and the source database (a managed source) — so it answers
 * with the worker stopped too. Each part is read on its own: one that cannot be read is reported
 * as such and the rest still are. The verdict and the text are ./status-report.ts and ./status-format.ts.
 */
import type { PipelineConfig } from '../config/types';
import { parseTableName } from '../config/names';
import { createPool, type Pool } from '../pg/pool';
import { readKafkaState } from '../kafka/group-status';
import { offsetsTable } from '../sink/offsets';
import { batchStateTable } from '../sink/batch-cursor';
import { reservedTables } from '../sink/reserved';
import { countDeadLetters, readBatchCursor, readStoredPartitions } from '../sink/state-status';
import { Router } from '../engine/route';
import { tableFromTopic } from '../decode/source';
import { readBinlogPosition, readConnector, readSlot, slotName } from '../managed/source-status';
import { nextScheduledRun } from '../batch/schedule';
import { buildReport, type Read, type StatusInputs, type StatusReport } from './status-report';

/** Default of --max-lag-seconds. */
export const DEFAULT_MAX_LAG_SECONDS = 300;

async function read<T>(f: () => Promise<T>): Promise<Read<T>> {
  try {
    return { ok: true, value: await f() };
  } catch (e) {
    return { ok: false, error: (e as Error).message || String(e) };
  }
}

/** Topic → `schema.table` it lands in, as the worker's router names it (the topic itself when its name does not say). */
function topicRouter(cfg: PipelineConfig): (topic: string) => string {
  const dest = parseTableName(cfg.sink.options.destTable);
  if (typeof dest === 'string') return (t) => t;
  const router = new Router(dest, { reserved: reservedTables(cfg) });
  const prefix = cfg.cdc!.topicPrefix;
  return (topic) => {
    try {
      const t = router.route(tableFromTopic(topic, prefix));
      return `${t.schema}.${t.table}`;
    } catch {
      // a topic named otherwise (its records name their table): shown by topic
      return topic;
    }
  };
}

export async function pipelineStatus(cfg: PipelineConfig, opts: { maxLagSeconds: number; now?: () => number }): Promise<StatusReport> {
  let pool: Pool | undefined;
  const target = async (): Promise<Pool> => (pool ??= await createPool(cfg.sink.pg, 2));
  try {
    const base = { pipeline: cfg.name, mode: cfg.mode, maxLagSeconds: opts.maxLagSeconds } as const;
    if (cfg.mode === 'batch') {
      const b = cfg.batch!;
      const sourceTable = `${b.sourceTable.schema}.${b.sourceTable.table}`;
      const cursor = await read(async () => readBatchCursor(await target(), batchStateTable(cfg.sink.options), cfg.name, sourceTable));
      const next = cfg.schedule ? nextScheduledRun(cfg.schedule) : undefined;
      return buildReport({
        ...base,
        nowMs: (opts.now ?? Date.now)(),
        batch: { sourceTable, cursor, incremental: b.incrementalKey !== undefined, ...(next ? { nextRunMs: next.getTime() } : {}) },
      });
    }
    const cdc = cfg.cdc!;
    const m = cdc.managed;
    const dl = cfg.errors.deadLetter;
    // The parts are independent: read side by side, each failure kept as its own answer.
    const [stored, kafka, deadCounts, connector, slot, binlog] = await Promise.all([
      read(async () => readStoredPartitions(await target(), offsetsTable(cfg.sink.options), cdc.groupId)),
      read(() => readKafkaState(cdc.kafka, cdc.groupId, { prefix: cdc.topicPrefix, include: cdc.include, exclude: cdc.exclude })),
      dl?.kind === 'table' ? read(async () => countDeadLetters(await target(), dl.table)) : Promise.resolve(undefined),
      m ? readConnector(m) : Promise.resolve(undefined),
      m?.kind === 'postgresql' ? read(() => readSlot(m.db, slotName(m))) : Promise.resolve(undefined),
      m?.kind === 'mysql' ? read(() => readBinlogPosition(m)) : Promise.resolve(undefined),
    ]);
    const inputs: StatusInputs = {
      ...base,
      nowMs: (opts.now ?? Date.now)(),
      groupId: cdc.groupId,
      tableOf: topicRouter(cfg),
      stored,
      kafka,
      ...(dl ? { deadLetters: dl.kind === 'table' ? { kind: 'table', where: `table ${dl.table.schema}.${dl.table.table}`, ...(deadCounts ? { counts: deadCounts } : {}) } : { kind: 'topic', where: `topic ${dl.topic}` } } : {}),
      ...(m && connector
        ? { connector: { name: m.connectorName, read: connector.error !== undefined && connector.state === 'UNREACHABLE' ? { ok: false, error: connector.error } : { ok: true, value: connector } } }
        : {}),
      ...(slot ? { slot } : {}),
      ...(binlog ? { binlog } : {}),
    };
    return buildReport(inputs);
  } finally {
    await pool?.end().catch(() => undefined);
  }
}
