/**
 * `nilus-pg resync <manifest> --table <schema.table>`: one source table of a managed PostgreSQL
 * source re-read by Debezium's incremental snapshot while the others keep streaming
 * (src/managed/resync.ts). The running pipeline applies what it re-reads.
 */
import { loadConfig } from '../config/load';
import { parseTableName, tableSelected } from '../config';

export const RESYNC_HELP = `Usage: nilus-pg resync <manifest.yaml> --table <schema.table> [--wait] [--timeout <s>] [--connections <file>]

Re-reads one source table of a managed PostgreSQL source (the address names the source database)
while every other table keeps streaming: writes Debezium's execute-snapshot signal (an incremental
snapshot) to the connector's signal table, public.nilus_<pipeline>_signal (made when missing and
added to the connector's publication). Debezium reads the table in chunks and sends every row again;
the running pipeline merges them, so rows deleted or damaged in the target come back, and changes
made meanwhile keep their order. --table names the SOURCE table, one the connector captures.
--wait prints the chunks read as Debezium closes its snapshot windows, until all the table's
chunks are read or --timeout (default 600 s) passes; then check with nilus-pg verify.
For a batch pipeline (--table is its source_table): one run now that reads every source row,
ignoring the stored cursor and interval_start/interval_end, and then stores the cursor the source
holds now (merge; replace reloads as always; append is refused: it would add every row again).
Exit 0 when the signal was written (with --wait: and every chunk read) or the batch run committed,
1 when the source, the run or the wait failed, 2 when the manifest or command line is wrong or the
pipeline cannot be resynced (a Kafka address, a MySQL/MariaDB managed source: not supported yet).`;

export interface ResyncArgs {
  readonly manifest: string;
  readonly table?: string;
  readonly wait?: boolean;
  readonly timeout?: string;
  readonly connections?: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function resyncCommand(a: ResyncArgs, io: { out(l: string): void; err(l: string): void }): Promise<number> {
  if (a.table === undefined) {
    io.err(`resync needs --table <schema.table>\n\n${RESYNC_HELP}`);
    return 2;
  }
  const table = parseTableName(a.table);
  if (typeof table === 'string') {
    io.err(`--table wants <schema>.<table>: "${a.table}"`);
    return 2;
  }
  const timeoutS = a.timeout === undefined ? 600 : Number(a.timeout);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0 || a.timeout?.trim() === '') {
    io.err(`--timeout wants seconds (a number > 0), got "${a.timeout}"`);
    return 2;
  }
  const cfg = await loadConfig(a.manifest, { connectionsPath: a.connections });
  const managed = cfg.cdc?.managed;
  if (cfg.mode === 'batch' && cfg.batch) {
    const src = cfg.batch.sourceTable;
    if (src.schema !== table.schema || src.table !== table.table) {
      io.err(`--table ${a.table} is not this batch pipeline's source table (spec.source.options.source_table: ${src.schema}.${src.table})`);
      return 2;
    }
    const { resyncBatch } = await import('../service/resync-batch');
    const { secretsOf } = await import('../service/run');
    const { createLogger } = await import('../observe/logger');
    const log = createLogger({ level: 'warn', name: 'nilus-pg', secrets: secretsOf(cfg), destination: process.stderr }).child({ pipeline: cfg.name });
    const r = await resyncBatch(cfg, log, process.stderr.isTTY ? process.stderr : undefined);
    io.out(`full run of ${a.table}: ${r.rows} row(s) written${r.cursor !== undefined ? `; cursor ${cfg.batch.incrementalKey} reset to ${r.cursor}` : ''}`);
    return 0;
  }
  if (!cfg.cdc) {
    io.err(`${a.manifest}: spec.source: not a cdc or batch pipeline`);
    return 2;
  }
  if (!managed) {
    io.err(`${a.manifest}: spec.source.address: the address is a Kafka, so the connector is not nilus-pg's: send Debezium's execute-snapshot signal through your connector's signalling channel`);
    return 2;
  }
  if (managed.kind !== 'postgresql') {
    io.err(`${a.manifest}: spec.source.address: resync of a MySQL/MariaDB source is not supported yet`);
    return 2;
  }
  if (!tableSelected(cfg.cdc, { schema: table.schema, table: table.table })) {
    io.err(`${a.table} is not captured by this pipeline (spec.source.cdc collection.include.list / collection.exclude.list): Debezium would ignore the signal`);
    return 2;
  }
  // Imported lazily, like run: validate/check must not load the source's clients.
  const { requestIncrementalSnapshot, windowsClosed } = await import('../managed/resync');
  const s = await requestIncrementalSnapshot(managed.db, managed.connectorConfig, table);
  const sig = `${s.signalTable.schema}.${s.signalTable.table}`;
  io.out(`incremental snapshot of ${a.table} requested: signal ${s.id} in ${sig}${s.addedToPublication ? ` (added to publication ${managed.connectorConfig['publication.name']})` : ''}; ${s.rows} row(s), ${s.chunks} chunk(s)`);
  if (!a.wait) {
    io.out(`the running pipeline applies the rows as Debezium re-reads them; check with: nilus-pg verify ${a.manifest}`);
    return 0;
  }
  const deadline = Date.now() + timeoutS * 1000;
  let last = -1;
  for (;;) {
    const read = (await windowsClosed(managed.db, s.signalTable)) - s.closedBefore;
    if (read !== last) io.out(`chunks read: ${Math.min(read, s.chunks)} of ${s.chunks}`);
    last = read;
    if (read >= s.chunks) break;
    if (Date.now() > deadline) {
      io.err(`the incremental snapshot read ${read} of ${s.chunks} chunk(s) within ${timeoutS} s: is the connector running (nilus-pg check; GET /connectors/${managed.connectorName}/status)?`);
      return 1;
    }
    await sleep(1000);
  }
  io.out(`every chunk of ${a.table} was read; check with: nilus-pg verify ${a.manifest}`);
  return 0;
}
