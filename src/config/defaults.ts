/**
 * Every default of the manifest and the connections file, in one place. The JSON Schema
 * (schema/manifest.schema.json) repeats them as `default` for editors and the generated doc;
 * a unit test keeps the two in step.
 */
export const DEFAULTS = {
  pg: {
    port: 5432,
    connectTimeoutMs: 10_000,
  },
  mysql: {
    port: 3306,
    connectTimeoutMs: 10_000,
    /** MySQL's own default: TLS when the server offers it. */
    sslMode: 'preferred' as const,
  },
  batch: {
    pageSize: 10_000,
    progressIntervalMs: 5_000,
    tinyint1AsBoolean: true,
  },
  schedule: {
    timezone: 'UTC',
    concurrencyPolicy: 'Forbid' as const,
  },
  kafka: {
    clientId: 'nilus-pg',
  },
  cdc: {
    /** Group id is `nilus-pg.<manifest name>` unless `group.id` is given. */
    groupIdPrefix: 'nilus-pg.',
    topicRefreshMs: 30_000,
    /** A dead member's partitions move after this long (Kafka's own default is 45 s). */
    sessionTimeoutMs: 10_000,
    heartbeatIntervalMs: 1_000,
    binaryHandlingMode: 'bytes' as const,
    autoOffsetReset: 'earliest' as const,
  },
  managed: {
    /** Connector `nilus-<name>`; slot and publication `nilus_<name>` (- becomes _). */
    connectorPrefix: 'nilus-',
    slotPrefix: 'nilus_',
    statusIntervalMs: 5_000,
    /** The connector creates its topics just after start: look for them sooner than topic.refresh.ms' 30 s. */
    topicRefreshMs: 5_000,
  },
  sink: {
    autoCreate: true,
    autoEvolve: true,
    mongoMode: 'flatten' as const,
    staleGuard: false,
    deleteMode: 'hard' as const,
    onOffsetGap: 'stop' as const,
    /** The environment variable holding the key of columns.mask hash. */
    columnHashKeyEnv: 'NILUS_COLUMN_HASH_KEY',
    /** A statement of a flush may run this long; the client gives up 5 s later (src/pg/pool.ts). */
    statementTimeoutMs: 300_000,
    /** A statement waits this long for a lock, then the flush is retried. */
    lockTimeoutMs: 60_000,
  },
  buffer: {
    maxRows: 25_000,
    maxBytes: 32 * 1024 * 1024,
    maxAgeMs: 250,
    flushWhenCaughtUp: true,
    /** Chosen with npm run bench (docs/benchmark.md): the smallest budget that kept the merge figure. */
    memoryBudgetBytes: 64 * 1024 * 1024,
  },
  errors: {
    tolerance: 'none' as const,
    /** Unset in the manifest: transient failures are retried until they clear. */
    retryMaxAttempts: Infinity,
    retryInitialMs: 200,
    retryMaxMs: 30_000,
  },
  observe: {
    httpPort: 9464,
    logLevel: 'info' as const,
    flushLogIntervalMs: 10_000,
  },
  env: {
    connectionsPath: 'NILUS_CONNECTIONS',
    kafkaBrokers: 'NILUS_KAFKA_BROKERS',
  },
} as const;
