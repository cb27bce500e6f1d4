/**
 * The effective configuration: built once at startup from the manifest + connections file,
 * validated, then passed down read-only. Every default lives in src/config/defaults.ts.
 */
import type { Strategy, TableRef } from '../kernel/types';
import type { ColumnRules } from '../kernel/column-policy';

export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';

/** libpq's target_session_attrs: which of the listed hosts a connection is acceptable to. */
export type TargetSessionAttrs = 'any' | 'read-write' | 'read-only' | 'primary' | 'standby' | 'prefer-standby';

/** One server of a (possibly multi-host) PostgreSQL address. */
export interface PgHostPort {
  readonly host: string;
  readonly port: number;
}

export interface PgConnection {
  readonly host: string;
  readonly port: number; // default 5432
  readonly database: string;
  readonly username: string;
  readonly password: string;
  /** undefined = server default (libpq's 'prefer'). */
  readonly sslmode?: SslMode;
  /** PEM CA bundle path for verify-ca / verify-full. */
  readonly sslrootcert?: string;
  /** Per host, as libpq's connect_timeout. */
  readonly connectTimeoutMs: number;
  /**
   * Every server of a multi-host address (`host=a,b port=p1,p2`, `postgresql://a:p1,b:p2/db`), in
   * the order they are tried; `host`/`port` are the first. Unset: the one server host:port.
   */
  readonly hosts?: readonly PgHostPort[];
  /** Unset: 'any'. */
  readonly targetSessionAttrs?: TargetSessionAttrs;
  /**
   * The password as the Kafka Connect worker should see it in a managed connector's config: a
   * config-provider reference such as `${file:/secrets/pg.properties:password}` or `${env:PG_PASSWORD}`.
   * Unset: the password itself is written into the connector config (a warning is logged).
   */
  readonly connectPassword?: string;
}

export interface KafkaConnection {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly ssl?: { readonly ca?: string; readonly rejectUnauthorized: boolean } | boolean;
  readonly sasl?: { readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; readonly username: string; readonly password: string };
  /** Kafka Connect REST URL (connection key connect_url): where managed connectors are created. */
  readonly connectUrl?: string;
}

/**
 * A cdc source whose address names a database: nilus-pg creates and watches the Debezium
 * connector itself (src/managed/). PostgreSQL (pg-config.ts) or MySQL/MariaDB (other-configs.ts).
 */
interface ManagedBase {
  /** Kafka Connect REST base URL, without a trailing slash. */
  readonly connectUrl: string;
  /** Debezium connector name, derived from the pipeline name. */
  readonly connectorName: string;
  /** The complete connector config nilus-pg puts (src/managed/pg-config.ts, other-configs.ts). */
  readonly connectorConfig: Readonly<Record<string, string>>;
  /** The database password is in connectorConfig in plain text (no connect_password reference). */
  readonly plainPassword: boolean;
  /** How often the connector's status is polled, ms. */
  readonly statusIntervalMs: number;
}

export type ManagedSource =
  | (ManagedBase & { readonly kind: 'postgresql'; readonly db: PgConnection })
  | (ManagedBase & { readonly kind: 'mysql'; readonly flavor: 'mysql' | 'mariadb'; readonly db: MysqlConnection });

export interface CdcSource {
  readonly kafka: KafkaConnection;
  readonly topicPrefix: string;
  /** Regexes (anchored) over `<schema>.<table>`; empty = everything under the prefix. */
  readonly include: readonly RegExp[];
  readonly exclude: readonly RegExp[];
  readonly groupId: string;
  /** How often new topics are looked for, ms. */
  readonly topicRefreshMs: number;
  /** Consumer-group session timeout and heartbeat interval, ms. */
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  /** The connector's binary.handling.mode: how bytea values arrive as strings. */
  readonly binaryHandlingMode: 'bytes' | 'base64' | 'hex';
  /** Where a group with no stored offsets starts. */
  readonly fromBeginning: boolean;
  /** Set when the address names a database: the connector is nilus-pg's to create and watch. */
  readonly managed?: ManagedSource;
}

export interface BufferLimits {
  readonly maxRows: number;
  readonly maxBytes: number;
  readonly maxAgeMs: number;
  /** CDC: flush at once when the consumer has caught up (false: wait for a limit or maxAgeMs). */
  readonly flushWhenCaughtUp: boolean;
  /** Fetching pauses when the bytes held plus the bytes of the flush in flight reach this. */
  readonly memoryBudgetBytes: number;
}

export interface SinkOptions {
  /** Destination, `<schema>.<table>`; table part may contain `{table}` (and `{schema}`) placeholders. */
  readonly destTable: string;
  readonly strategy: Strategy;
  /** Declared primary key (overrides the event key). */
  readonly primaryKey?: readonly string[];
  /** Create the target table from the first event's schema when missing; add new columns. */
  readonly autoCreate: boolean;
  readonly autoEvolve: boolean;
  /**
   * A column type change nilus does not widen itself: stop at the record, dead-letter the rows of
   * the new type, or land their values in a variant column `<col>__v_<type>`. Unset in the
   * manifest (undefined), it follows errors.tolerance (none: stop, all: dead-letter), as before
   * the option existed.
   */
  readonly schemaChange?: 'stop' | 'deadletter' | 'variant';
  /** spec.sink.options.columns: filters and masks applied before COPY; unset: every column as sent. */
  readonly columns?: ColumnRules;
  /** Schema holding the offsets table. Default: the destination schema. */
  readonly stateSchema?: string;
  /** MongoDB documents: 'flatten' into columns or keep as one 'jsonb' column. */
  readonly mongoMode: 'flatten' | 'jsonb';
  /** Refuse events older (by source position) than the stored one for the same key. */
  readonly staleGuard: boolean;
  /** merge: 'soft' keeps a deleted row, marked in `_nilus_deleted_at` (src/sink/soft-delete.ts). Unset: 'hard'. */
  readonly deleteMode?: 'hard' | 'soft';
  /** CDC merge: the `_nilus_*` metadata columns to carry (column names). Unset or empty: none. */
  readonly metadataColumns?: readonly string[];
  /**
   * The sink's sessions: statement_timeout and idle_in_transaction_session_timeout on the server,
   * and the client's own deadline for an answer (this + 5 s, then the connection is dropped).
   */
  readonly statementTimeoutMs: number;
  /** The sink's sessions' lock_timeout (55P03 when hit: the flush is retried). */
  readonly lockTimeoutMs: number;
  /**
   * CDC merge: threads that decode fetched batches ahead of the core; 0 decodes on the main
   * thread. Unset: by the cores available (src/service/cdc-service.ts `decodeThreadsFor`).
   */
  readonly decodeThreads?: number;
  /**
   * CDC: a partition whose stored offset Kafka no longer holds (retention deleted events before
   * they were applied, or the topic was re-created) stops the pipeline ('stop') or goes on from
   * the log start, reported and counted ('skip'). src/kernel/offset-gap.ts.
   */
  readonly onOffsetGap: 'stop' | 'skip';
}

export interface ErrorHandling {
  /** Kafka Connect convention: 'none' stops on the first bad event, 'all' dead-letters it. */
  readonly tolerance: 'none' | 'all';
  readonly deadLetter?: { readonly kind: 'topic'; readonly topic: string } | { readonly kind: 'table'; readonly table: TableRef };
  /** maxAttempts is Infinity unless the manifest sets errors.retry.max_attempts. */
  readonly retry: { readonly maxAttempts: number; readonly initialMs: number; readonly maxMs: number };
}

export interface Observability {
  readonly httpPort: number;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
  /** At most one info log line per this many ms for flushes. */
  readonly flushLogIntervalMs: number;
}

/** MySQL's --ssl-mode values, with their MySQL meaning. */
export type MysqlSslMode = 'disabled' | 'preferred' | 'required' | 'verify_ca' | 'verify_identity';

export interface MysqlConnection {
  readonly host: string;
  readonly port: number; // default 3306
  readonly database: string;
  readonly username: string;
  readonly password: string;
  /** Default 'preferred' (MySQL's default): TLS when the server offers it, unverified. */
  readonly sslMode: MysqlSslMode;
  /** PEM CA bundle path for verify_ca / verify_identity. */
  readonly sslCa?: string;
  readonly connectTimeoutMs: number;
  /** As PgConnection.connectPassword: the password as a managed connector's config should carry it. */
  readonly connectPassword?: string;
}

/** Where a batch pipeline reads its table from. */
export type SourceDatabase =
  | { readonly kind: 'postgresql'; readonly pg: PgConnection }
  | { readonly kind: 'mysql'; readonly mysql: MysqlConnection };

export interface BatchSource {
  readonly db: SourceDatabase;
  /** The source table, `<schema>.<table>` (for MySQL: `<database>.<table>`). */
  readonly sourceTable: TableRef;
  /** Cursor column for incremental loads (spec.source.options.incremental_key). */
  readonly incrementalKey?: string;
  /** Cursor bounds of one run, as text in the cursor column's type: start inclusive, end exclusive. */
  readonly intervalStart?: string;
  readonly intervalEnd?: string;
  /** Rows per page read from the source and written per COPY. */
  readonly pageSize: number;
  /** A progress log line (and event) at most this often, ms. */
  readonly progressIntervalMs: number;
  /** MySQL tinyint(1) lands as boolean (true) or smallint (false). */
  readonly tinyint1AsBoolean: boolean;
}

/** spec.schedule: when a batch pipeline runs (absent: once, then exit). */
export interface BatchSchedule {
  readonly crons: readonly string[];
  /** IANA time zone the cron expressions are read in; default UTC. */
  readonly timezone: string;
  /** A run due while another runs: Forbid skips it, Allow runs both, Replace stops the old one. */
  readonly concurrencyPolicy: 'Forbid' | 'Allow' | 'Replace';
}

export interface PipelineConfig {
  readonly name: string;
  readonly mode: 'batch' | 'cdc';
  readonly compute?: string;
  readonly sink: { readonly pg: PgConnection; readonly options: SinkOptions };
  readonly cdc?: CdcSource;
  readonly batch?: BatchSource;
  readonly schedule?: BatchSchedule;
  readonly buffer: BufferLimits;
  readonly errors: ErrorHandling;
  readonly observe: Observability;
}
