/**
 * Manifest + connections → the one readonly PipelineConfig, with every default applied
 * (src/config/defaults.ts). Problems from the manifest and from connection resolution are
 * gathered and thrown together.
 */
import { readFile } from 'node:fs/promises';
import { ConfigError, type ConfigProblem } from '../kernel/errors';
import type { TableRef } from '../kernel/types';
import { DEFAULTS } from './defaults';
import { cdcSourceKind, loadConnectionsFile, substituteEnv, type ConnectionsFile } from './connections';
import { connectUrlOf, resolveKafka, resolvePg, resolveSourceDatabase } from './addresses';
import { parseManifest } from './manifest';
import { CONNECTOR_ONLY_MESSAGE, connectorOnlyKeys, type RawManifest } from './raw-manifest';
import { pgConnectorConfig } from '../managed/pg-config';
import { mysqlConnectorConfig } from '../managed/other-configs';
import { compileList, parseTableName } from './names';
import { metadataColumnNames } from './metadata-columns';
import { columnRules } from './columns';
import type { BatchSchedule, BatchSource, CdcSource, KafkaConnection, ManagedSource, PipelineConfig, SourceDatabase } from './types';

export interface LoadOptions {
  /** Connections file for dataos:// addresses; default $NILUS_CONNECTIONS. */
  connectionsPath?: string;
  env?: NodeJS.ProcessEnv;
  /** Told each note of the manifest (a kebab-case alias read as its snake_case key). */
  onNote?: (note: ConfigProblem) => void;
}

export async function loadConfig(manifestPath: string, opts: LoadOptions = {}): Promise<PipelineConfig> {
  const env = opts.env ?? process.env;
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch (e) {
    throw new ConfigError([{ path: manifestPath, message: `cannot read the manifest: ${(e as Error).message}` }]);
  }
  const { manifest, notes, asWritten } = parseManifest(text, manifestPath);
  for (const n of notes) opts.onNote?.(n);
  const connPath = opts.connectionsPath ?? env[DEFAULTS.env.connectionsPath];
  const file = connPath ? await loadConnectionsFile(connPath) : undefined;
  try {
    return await buildConfig(manifest, file, env);
  } catch (e) {
    // buildConfig names manifest keys in their snake_case spelling; say them as written.
    if (e instanceof ConfigError) throw new ConfigError(e.problems.map((p) => ({ ...p, path: asWritten(p.path) })));
    throw e;
  }
}

/** Run each resolver, keeping every ConfigError's problems instead of stopping at the first. */
async function gather<T>(problems: ConfigProblem[], f: () => Promise<T>): Promise<T | undefined> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof ConfigError) problems.push(...e.problems);
    else throw e;
    return undefined;
  }
}

export async function buildConfig(m: RawManifest, file: ConnectionsFile | undefined, env: NodeJS.ProcessEnv): Promise<PipelineConfig> {
  const problems: ConfigProblem[] = [];
  const sinkPg = await gather(problems, () => resolvePg(m.spec.sink.address, 'spec.sink.address', file, env));
  let cdc: CdcSource | undefined;
  let batch: BatchSource | undefined;
  if (m.spec.type === 'cdc') {
    const kind = cdcSourceKind(m.spec.source.address, file);
    if (kind === 'kafka') {
      const kafka = await gather(problems, () => resolveKafka(m.spec.source.address, 'spec.source.address', file, env));
      // A dataos:// Kafka is only known here, so connector properties are refused here too.
      for (const k of connectorOnlyKeys(m.spec.source.cdc)) problems.push({ path: `spec.source.cdc.${k}`, message: CONNECTOR_ONLY_MESSAGE(k) });
      for (const k of ['kafka', 'connect_url'] as const) {
        if (m.spec.source.options?.[k] !== undefined) problems.push({ path: `spec.source.options.${k}`, message: `${k} is for a managed source, whose address names the database; ${m.spec.source.address} is a Kafka` });
      }
      if (kafka) cdc = cdcSource(m, kafka);
    } else {
      const managed = await gather(problems, () => managedSource(m, kind, file, env));
      if (managed) {
        const base = cdcSource(m, managed.kafka);
        const topicRefreshMs = m.spec.source.cdc?.['topic.refresh.ms'] ?? DEFAULTS.managed.topicRefreshMs;
        cdc = { ...base, topicRefreshMs, managed: managed.source };
      }
    }
  } else {
    const db = await gather(problems, () => resolveSourceDatabase(m.spec.source.address, 'spec.source.address', file, env));
    if (db) batch = batchSource(m, db);
  }
  const columns = columnRules(m.spec.sink.options.columns, env, problems);
  if (problems.length || !sinkPg) throw new ConfigError(problems);
  const o = m.spec.sink.options;
  // Nilus puts primary_key under source.options; the sink's spelling is taken too (not both: see manifest.ts).
  const primaryKey = o.primary_key ?? m.spec.source.options?.primary_key;
  const dlqTable = o['errors.deadletter.table'] !== undefined ? (parseTableName(o['errors.deadletter.table']) as TableRef) : undefined;
  const config: PipelineConfig = {
    name: m.name,
    mode: m.spec.type,
    ...(m.spec.compute !== undefined ? { compute: m.spec.compute } : {}),
    sink: {
      pg: sinkPg,
      options: {
        destTable: o.dest_table.trim(),
        strategy: o.incremental_strategy,
        ...(primaryKey !== undefined ? { primaryKey: typeof primaryKey === 'string' ? [primaryKey] : [...primaryKey] } : {}),
        autoCreate: o.auto_create ?? DEFAULTS.sink.autoCreate,
        autoEvolve: o.auto_evolve ?? DEFAULTS.sink.autoEvolve,
        ...(o.schema_change !== undefined ? { schemaChange: o.schema_change } : {}),
        ...(columns ? { columns } : {}),
        ...(o.state_schema !== undefined ? { stateSchema: o.state_schema } : {}),
        mongoMode: o.mongo_mode ?? DEFAULTS.sink.mongoMode,
        staleGuard: o.stale_guard ?? DEFAULTS.sink.staleGuard,
        ...(o.delete_mode !== undefined && o.delete_mode !== DEFAULTS.sink.deleteMode ? { deleteMode: o.delete_mode } : {}),
        ...(o.metadata_columns !== undefined && o.metadata_columns !== false ? { metadataColumns: metadataColumnNames(o.metadata_columns) } : {}),
        statementTimeoutMs: o.statement_timeout_ms ?? DEFAULTS.sink.statementTimeoutMs,
        lockTimeoutMs: o.lock_timeout_ms ?? DEFAULTS.sink.lockTimeoutMs,
        ...(o.decode_threads !== undefined ? { decodeThreads: o.decode_threads } : {}),
        onOffsetGap: o.on_offset_gap ?? DEFAULTS.sink.onOffsetGap,
      },
    },
    ...(cdc ? { cdc } : {}),
    ...(batch ? { batch } : {}),
    ...(m.spec.schedule ? { schedule: schedule(m.spec.schedule) } : {}),
    buffer: {
      maxRows: o['batch.max_rows'] ?? DEFAULTS.buffer.maxRows,
      // Unset, it is half the budget when the budget is set below twice the default: one flush in
      // flight and the next one filling then fit in the budget together.
      maxBytes: o['batch.max_bytes'] ?? Math.min(DEFAULTS.buffer.maxBytes, Math.floor((o.memory_budget_bytes ?? DEFAULTS.buffer.memoryBudgetBytes) / 2)),
      maxAgeMs: o['batch.max_age_ms'] ?? DEFAULTS.buffer.maxAgeMs,
      flushWhenCaughtUp: o['batch.flush_when_caught_up'] ?? DEFAULTS.buffer.flushWhenCaughtUp,
      memoryBudgetBytes: o.memory_budget_bytes ?? DEFAULTS.buffer.memoryBudgetBytes,
    },
    errors: {
      tolerance: o['errors.tolerance'] ?? DEFAULTS.errors.tolerance,
      ...(o['errors.deadletter.topic'] !== undefined ? { deadLetter: { kind: 'topic' as const, topic: o['errors.deadletter.topic'] } } : {}),
      ...(dlqTable ? { deadLetter: { kind: 'table' as const, table: dlqTable } } : {}),
      retry: {
        maxAttempts: o['errors.retry.max_attempts'] ?? DEFAULTS.errors.retryMaxAttempts,
        initialMs: o['errors.retry.initial_ms'] ?? DEFAULTS.errors.retryInitialMs,
        maxMs: o['errors.retry.max_ms'] ?? DEFAULTS.errors.retryMaxMs,
      },
    },
    observe: {
      httpPort: o.http_port ?? DEFAULTS.observe.httpPort,
      logLevel: o.log_level ?? DEFAULTS.observe.logLevel,
      flushLogIntervalMs: o.flush_log_interval_ms ?? DEFAULTS.observe.flushLogIntervalMs,
    },
  };
  return deepFreeze(config);
}

function cdcSource(m: RawManifest, kafka: KafkaConnection): CdcSource {
  const c = m.spec.source.cdc!;
  const inc = c['collection.include.list'] ?? c['table.include.list'];
  const exc = c['collection.exclude.list'] ?? c['table.exclude.list'];
  return {
    kafka,
    topicPrefix: c['topic.prefix'],
    include: compileList(inc).regexes,
    exclude: compileList(exc).regexes,
    groupId: c['group.id'] ?? `${DEFAULTS.cdc.groupIdPrefix}${m.name}`,
    topicRefreshMs: c['topic.refresh.ms'] ?? DEFAULTS.cdc.topicRefreshMs,
    sessionTimeoutMs: c['session.timeout.ms'] ?? DEFAULTS.cdc.sessionTimeoutMs,
    heartbeatIntervalMs: c['heartbeat.interval.ms'] ?? DEFAULTS.cdc.heartbeatIntervalMs,
    binaryHandlingMode: c['binary.handling.mode'] ?? DEFAULTS.cdc.binaryHandlingMode,
    fromBeginning: (c['auto.offset.reset'] ?? DEFAULTS.cdc.autoOffsetReset) === 'earliest',
  };
}

/** A database address: the connector nilus-pg puts, on the Kafka and Connect that options.kafka names. */
async function managedSource(m: RawManifest, kind: 'postgresql' | 'mysql', file: ConnectionsFile | undefined, env: NodeJS.ProcessEnv): Promise<{ kafka: KafkaConnection; source: ManagedSource }> {
  const problems: ConfigProblem[] = [];
  const address = m.spec.source.address;
  const entryName = address.startsWith('dataos://') ? address.slice('dataos://'.length) : undefined;
  const pgDb = kind === 'postgresql' ? await gather(problems, () => resolvePg(address, 'spec.source.address', file, env)) : undefined;
  const myDb = kind === 'mysql' ? await gather(problems, () => resolveSourceDatabase(address, 'spec.source.address', file, env)) : undefined;
  if (pgDb?.hosts) {
    problems.push({ path: 'spec.source.address', message: `a managed source names one server: Debezium connects to a single host (got ${pgDb.hosts.length}: ${pgDb.hosts.map((h) => `${h.host}:${h.port}`).join(', ')}); give the primary's host, or a name that follows it (a DNS name or proxy of your failover tool)` });
  }
  const flavor: 'mysql' | 'mariadb' = (entryName !== undefined ? file?.entries[entryName]?.type : address.split(':')[0]) === 'mariadb' ? 'mariadb' : 'mysql';
  const what = kind === 'postgresql' ? 'a PostgreSQL database' : `a ${flavor === 'mariadb' ? 'MariaDB' : 'MySQL'} database`;
  const so = m.spec.source.options ?? {};
  // parseManifest already required options.kafka for postgresql:// and mysql:// addresses. A
  // dataos:// database connection may name its Kafka itself (key kafka), so the seed's manifest needs no options.
  const entryKafka = entryName !== undefined ? file?.entries[entryName]?.kafka : undefined;
  const kafkaAddress = so.kafka ?? (typeof entryKafka === 'string' ? entryKafka : undefined);
  const kafkaField = so.kafka !== undefined ? 'spec.source.options.kafka' : `${file?.path}: connections.${entryName}.kafka`;
  if (kafkaAddress === undefined) {
    problems.push({ path: 'spec.source.options.kafka', message: `${address} is ${what}, so nilus-pg manages its Debezium connector and needs the Kafka to use: set kafka (dataos://NAME of a kafka connection with connect_url) on the connection ${entryName ?? ''}, or spec.source.options.kafka in the manifest. To read the topics of a connector you run yourself, set spec.source.address to the Kafka instead` });
    throw new ConfigError(problems);
  }
  const kafka = await gather(problems, () => resolveKafka(kafkaAddress, kafkaField, file, env));
  const connectUrl = so.connect_url !== undefined
    ? connectUrlOf(substituteEnv(so.connect_url, env, 'spec.source.options.connect_url', problems), 'spec.source.options.connect_url', problems)
    : kafka?.connectUrl;
  if (kafka && connectUrl === undefined) {
    problems.push({ path: kafkaField, message: `${kafkaAddress} has no connect_url: add connect_url (the Kafka Connect REST URL, e.g. http://connect:8083) to that kafka connection, or set spec.source.options.connect_url` });
  }
  if (problems.length || !kafka || connectUrl === undefined) throw new ConfigError(problems);
  const common = { connectUrl, statusIntervalMs: DEFAULTS.managed.statusIntervalMs };
  const cdc = m.spec.source.cdc ?? {};
  if (kind === 'postgresql') {
    if (!pgDb) throw new ConfigError(problems);
    const connector = pgConnectorConfig({ pipeline: m.name, db: pgDb, cdc });
    return { kafka, source: { kind, db: pgDb, ...common, connectorName: connector.name, connectorConfig: connector.config, plainPassword: connector.plainPassword } };
  }
  if (myDb?.kind !== 'mysql') throw new ConfigError(problems);
  const connector = mysqlConnectorConfig({ pipeline: m.name, flavor, db: myDb.mysql, brokers: kafka.brokers, cdc });
  return { kafka, source: { kind, flavor, db: myDb.mysql, ...common, connectorName: connector.name, connectorConfig: connector.config, plainPassword: connector.plainPassword } };
}

function batchSource(m: RawManifest, db: SourceDatabase): BatchSource {
  const o = m.spec.source.options!;
  const text = (v: string | number | undefined): string | undefined => (v === undefined ? undefined : String(v));
  const start = text(o.interval_start);
  const end = text(o.interval_end);
  return {
    db,
    sourceTable: parseTableName(o.source_table!) as TableRef,
    ...(o.incremental_key !== undefined ? { incrementalKey: o.incremental_key } : {}),
    ...(start !== undefined ? { intervalStart: start } : {}),
    ...(end !== undefined ? { intervalEnd: end } : {}),
    pageSize: o.page_size ?? DEFAULTS.batch.pageSize,
    progressIntervalMs: o.progress_interval_ms ?? DEFAULTS.batch.progressIntervalMs,
    tinyint1AsBoolean: o.tinyint1_as_boolean ?? DEFAULTS.batch.tinyint1AsBoolean,
  };
}

function schedule(s: NonNullable<RawManifest['spec']['schedule']>): BatchSchedule {
  return {
    crons: [...s.crons],
    timezone: s.timezone ?? DEFAULTS.schedule.timezone,
    concurrencyPolicy: s.concurrencyPolicy ?? DEFAULTS.schedule.concurrencyPolicy,
  };
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !(o instanceof RegExp)) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
