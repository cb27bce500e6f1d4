/**
 * The manifest as written (Nilus YAML shape, snake_case keys: ./aliases.ts has renamed any
 * kebab-case alias), after schema/manifest.schema.json vouched for its structure: what
 * ./manifest.ts parses and ./load.ts turns into a PipelineConfig.
 */

export interface RawCdc {
  'topic.prefix': string;
  'collection.include.list'?: string;
  'collection.exclude.list'?: string;
  'table.include.list'?: string;
  'table.exclude.list'?: string;
  'group.id'?: string;
  'topic.refresh.ms'?: number;
  'session.timeout.ms'?: number;
  'heartbeat.interval.ms'?: number;
  'binary.handling.mode'?: 'bytes' | 'base64' | 'hex';
  'auto.offset.reset'?: 'earliest' | 'latest';
  /** Any other key: a Debezium connector property, allowed only for a managed source. */
  [connectorProperty: string]: string | number | boolean | undefined;
}

/** The spec.source.cdc keys nilus-pg itself knows; any other is a connector property. */
export const KNOWN_CDC_KEYS: ReadonlySet<string> = new Set([
  'topic.prefix', 'collection.include.list', 'collection.exclude.list', 'table.include.list', 'table.exclude.list',
  'group.id', 'topic.refresh.ms', 'session.timeout.ms', 'heartbeat.interval.ms', 'binary.handling.mode', 'auto.offset.reset',
]);

/** spec.source.cdc keys that only a managed connector can take. */
export function connectorOnlyKeys(cdc: RawCdc | undefined): string[] {
  return Object.keys(cdc ?? {}).filter((k) => !KNOWN_CDC_KEYS.has(k));
}

export const CONNECTOR_ONLY_MESSAGE = (k: string): string =>
  `"${k}" is not a nilus-pg key; Debezium connector properties are passed through only when nilus-pg manages the connector ` +
  '(spec.source.address names a database, see docs/manifest.md#managed-sources). With a Kafka address, set it on your own connector';

/** metadata_columns' names: each stands for the column `_nilus_<name>`. */
export type MetadataColumnName = 'op' | 'source_ts' | 'source_lsn' | 'topic' | 'partition' | 'offset' | 'applied_at';

export interface RawSinkOptions {
  dest_table: string;
  incremental_strategy: 'replace' | 'append' | 'merge';
  primary_key?: string | string[];
  auto_create?: boolean;
  auto_evolve?: boolean;
  schema_change?: 'stop' | 'deadletter' | 'variant';
  columns?: RawColumns;
  state_schema?: string;
  mongo_mode?: 'flatten' | 'jsonb';
  stale_guard?: boolean;
  delete_mode?: 'hard' | 'soft';
  metadata_columns?: boolean | MetadataColumnName[];
  statement_timeout_ms?: number;
  lock_timeout_ms?: number;
  'batch.max_rows'?: number;
  'batch.max_bytes'?: number;
  'batch.max_age_ms'?: number;
  'batch.flush_when_caught_up'?: boolean;
  memory_budget_bytes?: number;
  decode_threads?: number;
  on_offset_gap?: 'stop' | 'skip';
  'errors.tolerance'?: 'none' | 'all';
  'errors.deadletter.topic'?: string;
  'errors.deadletter.table'?: string;
  'errors.retry.max_attempts'?: number;
  'errors.retry.initial_ms'?: number;
  'errors.retry.max_ms'?: number;
  http_port?: number;
  log_level?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
  flush_log_interval_ms?: number;
}

/** spec.sink.options.columns (src/kernel/column-policy.ts). */
export interface RawColumns {
  include?: string[];
  exclude?: string[];
  mask?: Record<string, 'hash' | 'redact' | { value: string }>;
  hash_key_env?: string;
}

export interface RawSourceOptions {
  source_table?: string;
  incremental_key?: string;
  primary_key?: string | string[];
  interval_start?: string | number;
  interval_end?: string | number;
  page_size?: number;
  progress_interval_ms?: number;
  tinyint1_as_boolean?: boolean;
  /** cdc, managed source: the Kafka (dataos://NAME or kafka://…) and Kafka Connect to use. */
  kafka?: string;
  connect_url?: string;
}

export interface RawManifest {
  name: string;
  version: 'v1alpha';
  type: 'nilus';
  spec: {
    type: 'batch' | 'cdc';
    compute?: string;
    source: { address: string; options?: RawSourceOptions; cdc?: RawCdc };
    sink: { address: string; options: RawSinkOptions };
    schedule?: { crons: string[]; timezone?: string; concurrencyPolicy?: 'Forbid' | 'Allow' | 'Replace' };
  };
}
