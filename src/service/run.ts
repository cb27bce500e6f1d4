/**
 * `nilus-pg run`: wires the stages and the observers for one pipeline and runs it until it stops.
 * SIGTERM/SIGINT stop gracefully (stop fetching, flush, commit, disconnect); a second signal
 * exits at once.
 */
import type { Pool } from '../pg/pool';
import type { PipelineConfig } from '../config/types';
import { maskConfig } from '../config';
import { parseTableName } from '../config/names';
import { CoreEmitter } from '../kernel/events';
import { ConfigError, FatalError } from '../kernel/errors';
import { createLogger, type Logger } from '../observe/logger';
import { attachLogging } from '../observe/log-events';
import { createMetrics } from '../observe/metrics';
import { startHttpServer, type RunningHttpServer } from '../observe/http';
import { attachProgressBar } from '../observe/progress-bar';
import { createHealthTracker } from '../observe/health';
import { createCdc } from './cdc-service';
import { createHeapGuard, heapCeilingFor, type HeapGuard } from './heap-guard';
import { startBatchService } from '../batch/batch-service';
import { ensureConnector, watchConnector, type ConnectorWatch } from '../managed/connector';
import { routePartitions } from '../managed/partitions';
import { watchSlot, type SlotWatch } from '../managed/slot-watch';

export interface RunOptions {
  /** Install SIGTERM/SIGINT handlers (the CLI does; tests call stop() themselves). */
  readonly signals?: boolean;
  readonly log?: Logger;
  /** A terminal to draw batch progress on (the CLI passes stderr when it is a TTY). */
  readonly progressTo?: NodeJS.WriteStream;
  /** Notes about the manifest (e.g. a kebab-case alias read as its snake_case key), logged once at start. */
  readonly notes?: readonly string[];
}

/** A running pipeline: `done` settles with the exit code; `stop()` asks for a graceful stop. */
export interface Service {
  readonly httpPort: number;
  readonly emitter: CoreEmitter;
  readonly done: Promise<number>;
  stop(): Promise<number>;
}

/** Runs until the pipeline ends; resolves with the process exit code. */
export async function runPipeline(cfg: PipelineConfig, opts: RunOptions = {}): Promise<number> {
  if (!opts.signals) return (await startService(cfg, opts)).done;
  // Handlers go in before start-up: a SIGTERM while connecting (a rollout) must still stop cleanly
  // instead of killing the process with the default action.
  let stopping = false;
  let svc: Service | undefined;
  const onSignal = () => {
    if (stopping) process.exit(130); // a second signal: the operator wants out now
    stopping = true;
    void svc?.stop();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    svc = await startService(cfg, opts);
    if (stopping) void svc.stop();
    return await svc.done;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

export async function startService(cfg: PipelineConfig, opts: RunOptions = {}): Promise<Service> {
  const log = (opts.log ?? createLogger({ level: cfg.observe.logLevel, name: 'nilus-pg', secrets: secretsOf(cfg) })).child({ pipeline: cfg.name });
  log.info({ config: maskConfig(cfg) }, 'starting');
  for (const note of opts.notes ?? []) log.info(`manifest note: ${note}`);
  const emitter = new CoreEmitter();
  const logging = attachLogging(emitter, log, { flushLogIntervalMs: cfg.observe.flushLogIntervalMs });
  const metrics = createMetrics(emitter, { pipeline: cfg.name });
  const bar = opts.progressTo && cfg.mode === 'batch' ? attachProgressBar(emitter, opts.progressTo) : undefined;
  const managed = cfg.cdc?.managed;
  const health = createHealthTracker(emitter, { stuckAfterMs: 60_000, requireKafka: cfg.mode === 'cdc', requireLoop: cfg.mode === 'cdc', requireSourceConnector: managed !== undefined });
  metrics.readiness(() => health.health().ready);
  let http: RunningHttpServer;
  try {
    http = await startHttpServer({ port: cfg.observe.httpPort, registry: metrics.registry, health: () => health.health() });
  } catch (err) {
    // Nothing else is started yet: release what keeps the process alive, then say what to change.
    logging.close();
    bar?.();
    metrics.close();
    health.close();
    throw portTaken(err, cfg.observe.httpPort) ?? err;
  }
  log.info({ port: http.port }, 'serving /metrics /healthz /readyz');
  let sink: { close(): Promise<void> } | undefined;
  let connectorWatch: ConnectorWatch | undefined;
  let slotWatch: SlotWatch | undefined;
  let heapGuard: HeapGuard | undefined;
  const cleanup = async () => {
    connectorWatch?.stop();
    slotWatch?.stop();
    heapGuard?.stop();
    logging.close();
    bar?.();
    metrics.close();
    health.close();
    await http.close();
    await sink?.close();
  };
  const finish = (p: Promise<void>): Promise<number> =>
    p.then(
      () => 0,
      (err: Error) => {
        log.error({ err }, err.message);
        return 1;
      },
    ).finally(cleanup);
  try {
    if (cfg.mode === 'batch') {
      const batch = startBatchService(cfg, emitter, log, (p) => watchClients(p, log));
      sink = batch.sink;
      const done = finish(batch.done);
      return {
        httpPort: http.port,
        emitter,
        done,
        stop: async () => {
          log.info(cfg.schedule ? 'stopping: no new runs; a run in progress is rolled back' : 'stopping: the run in progress is rolled back');
          await batch.stop();
          return done;
        },
      };
    }
    const dest = parseTableName(cfg.sink.options.destTable);
    if (typeof dest === 'string') throw new FatalError(dest);
    // A managed source: its connector is created (or updated) once, before the core reads, then watched.
    const ensure = managed
      ? async () => {
          if (connectorWatch) return;
          // A partitioned table it captures gets a ByLogicalTableRouter to its own topic (managed/partitions.ts).
          const source = managed.kind === 'postgresql' ? await routePartitions(managed) : managed;
          const r = await ensureConnector(source);
          log.info({ connector: managed.connectorName, connect: managed.connectUrl, ...(r.action === 'updated' ? { changed: r.changed } : {}) }, `source connector ${managed.connectorName} ${r.action}`);
          connectorWatch = watchConnector(source, emitter, log);
          if (managed.kind === 'postgresql') slotWatch = watchSlot(managed, emitter, log, managed.statusIntervalMs);
        }
      : undefined;
    if (managed?.plainPassword) {
      log.warn({ connector: managed.connectorName }, 'the source database password is written into the connector config in plain text (Kafka Connect stores it in its config topic and shows it on GET /connectors/…/config): configure a config provider on the Connect worker and set connect_password on the database connection (docs/manifest.md#managed-sources)');
    }
    const cdc = createCdc(cfg, dest, emitter, log, (p) => watchClients(p, log), ensure);
    sink = cdc.sink;
    const ceilingBytes = heapCeilingFor(cfg.buffer.memoryBudgetBytes, cdc.decodeThreads);
    const guard = (heapGuard = createHeapGuard({
      ceilingBytes,
      intervalMs: 100,
      onCollect: (e) => {
        log.debug({ usedBeforeMiB: Math.round(e.usedBefore / 1048576), usedAfterMiB: Math.round(e.usedAfter / 1048576), ms: Math.round(e.ms) }, `heap above its ceiling (${Math.round(ceilingBytes / 1048576)} MiB: memory_budget_bytes, + 32 MiB without decode threads): collected`);
        emitter.emit('heapCollected', { usedBeforeBytes: e.usedBefore, usedAfterBytes: e.usedAfter, ms: e.ms });
      },
    }));
    if (!guard.enabled) log.warn('V8 refused --expose-gc: the heap is left to grow as V8 decides (it may reach several times memory_budget_bytes)');
    // After a commit the flush's rows are garbage: the moment a collection frees the most.
    emitter.on('flushed', () => guard.check());
    const done = finish(cdc.core.done);
    void cdc.core.start();
    return {
      httpPort: http.port,
      emitter,
      done,
      stop: async () => {
        log.info('stopping: flushing what is held');
        await cdc.core.stop();
        return done;
      },
    };
  } catch (err) {
    log.error({ err }, (err as Error).message);
    await cleanup();
    throw err;
  }
}

/**
 * pg's Pool listens for errors only on IDLE clients. A checked-out client whose server goes away
 * between two queries (a restart, a failover) emits 'error' with no listener, which would crash
 * the process. The query that follows fails on its own ("not queryable", retried by the flush),
 * so here it is only logged.
 */
function watchClients(pool: Pool, log: Logger): void {
  pool.on('connect', (client) => {
    client.on('error', (err: Error) => log.warn({ err: err.message }, 'a PostgreSQL connection was lost; the operation using it will retry'));
  });
}

export function secretsOf(cfg: PipelineConfig): string[] {
  const s = [cfg.sink.pg.password, cfg.cdc?.kafka.sasl?.password, cfg.cdc?.managed?.db.password, cfg.batch?.db.kind === 'postgresql' ? cfg.batch.db.pg.password : cfg.batch?.db.mysql.password];
  return s.filter((x): x is string => typeof x === 'string' && x.length > 0);
}

/** `http_port` held by another process (a second worker on this host): one line naming the option and the fix. */
function portTaken(err: unknown, port: number): ConfigError | undefined {
  if ((err as { cause?: { code?: unknown } }).cause?.code !== 'EADDRINUSE') return undefined;
  return new ConfigError([
    {
      path: 'spec.sink.options.http_port',
      message: `port ${port} is already in use on this host (another process, perhaps a second worker of this pipeline, listens on it); give each worker on one host its own http_port, or set http_port: 0 to pick a free port`,
    },
  ]);
}
