/**
 * The Debezium PostgreSQL connector config nilus-pg puts for a managed source: pure, so the
 * mapping is unit-tested without Kafka Connect. Precedence, lowest first:
 *   1. what the sink needs (pgoutput, skipped.operations=none, the type modes the decoder reads,
 *      JSON converters with schemas, slot and publication names derived from the pipeline name);
 *   2. the database connection (host, port, user, password or its config-provider reference);
 *   3. every key of spec.source.cdc, except the ones only nilus-pg's consumer reads.
 * `collection.include.list` / `collection.exclude.list` (the seed's MongoDB spelling) become
 * `table.include.list` / `table.exclude.list` for this relational connector.
 */
import { createHash } from 'node:crypto';
import { DEFAULTS } from '../config/defaults';
import type { PgConnection } from '../config/types';

export const PG_CONNECTOR_CLASS = 'io.debezium.connector.postgresql.PostgresConnector';

/** spec.source.cdc keys nilus-pg's Kafka consumer reads; they mean nothing to the connector. */
export const CONSUMER_KEYS: ReadonlySet<string> = new Set(['group.id', 'topic.refresh.ms', 'session.timeout.ms', 'heartbeat.interval.ms', 'auto.offset.reset']);

/** Keys mapped to another name for relational connectors. */
const RENAMED: Readonly<Record<string, string>> = {
  'collection.include.list': 'table.include.list',
  'collection.exclude.list': 'table.exclude.list',
};

/**
 * Connector properties whose values the decoder depends on. An override of one of these in
 * spec.source.cdc is passed through, but the sink may then misread values (docs/types.md).
 */
export const SINK_DEFAULTS: Readonly<Record<string, string>> = {
  'plugin.name': 'pgoutput',
  // Without it Debezium skips truncates ('t'), and a TRUNCATE on the source never reaches the target.
  'skipped.operations': 'none',
  // The modes docs/types.md is written for: exact numerics, microsecond times, bytes as Connect bytes.
  'decimal.handling.mode': 'precise',
  'time.precision.mode': 'adaptive',
  'binary.handling.mode': 'bytes',
  // Only the tables of the include list are published (all_tables would need a superuser).
  'publication.autocreate.mode': 'filtered',
  // The decoder reads JSON with schema + payload, whatever the worker's default converters are.
  'key.converter': 'org.apache.kafka.connect.json.JsonConverter',
  'key.converter.schemas.enable': 'true',
  'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
  'value.converter.schemas.enable': 'true',
};

const MAX_IDENT = 63;

/** `nilus-<pipeline>`: one connector per pipeline name. */
export function connectorNameFor(pipeline: string): string {
  return `${DEFAULTS.managed.connectorPrefix}${pipeline}`;
}

/**
 * `nilus_<pipeline>` with `-` as `_`: a valid replication slot name (lower case letters, digits and
 * `_`, at most 63 bytes) and a publication name that needs no quoting. A longer name keeps its
 * first characters and ends with a hash of the whole name, so two long names never collide.
 */
export function slotNameFor(pipeline: string): string {
  const base = `${DEFAULTS.managed.slotPrefix}${pipeline}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  if (base.length <= MAX_IDENT) return base;
  const hash = createHash('sha256').update(base).digest('hex').slice(0, 8);
  return `${base.slice(0, MAX_IDENT - 9)}_${hash}`;
}

/**
 * The signal table `nilus-pg resync` writes Debezium's execute-snapshot signals to (and Debezium
 * its incremental-snapshot watermarks): `public.nilus_<pipeline>_signal`, named like the slot.
 * The connector's `signal.data.collection` names it; a `signal.data.collection` in
 * spec.source.cdc overrides it.
 */
export function signalTableFor(pipeline: string): string {
  return `public.${slotNameFor(`${pipeline}_signal`)}`;
}

export interface PgConnectorInput {
  readonly pipeline: string;
  readonly db: PgConnection;
  /** spec.source.cdc as written in the manifest. */
  readonly cdc: Readonly<Record<string, string | number | boolean | undefined>>;
}

export interface PgConnectorConfig {
  readonly name: string;
  readonly config: Readonly<Record<string, string>>;
  /** True when the database password is written in plain text (no config-provider reference). */
  readonly plainPassword: boolean;
}

export function pgConnectorConfig(input: PgConnectorInput): PgConnectorConfig {
  const { db } = input;
  const slot = slotNameFor(input.pipeline);
  const config: Record<string, string> = {
    'connector.class': PG_CONNECTOR_CLASS,
    'tasks.max': '1',
    ...SINK_DEFAULTS,
    'slot.name': slot,
    'publication.name': slot,
    'signal.data.collection': signalTableFor(input.pipeline),
    'database.hostname': db.host,
    'database.port': String(db.port),
    'database.user': db.username,
    'database.password': db.connectPassword ?? db.password,
    'database.dbname': db.database,
    ...(db.sslmode ? { 'database.sslmode': db.sslmode } : {}),
    ...(db.sslrootcert ? { 'database.sslrootcert': db.sslrootcert } : {}),
  };
  for (const [k, v] of Object.entries(input.cdc)) {
    if (v === undefined || CONSUMER_KEYS.has(k)) continue;
    config[RENAMED[k] ?? k] = String(v);
  }
  const plainPassword = db.password !== '' && config['database.password'] === db.password;
  return { name: connectorNameFor(input.pipeline), config, plainPassword };
}

/** Keys whose values differ between the config Connect holds and the one wanted (Connect adds `name`). */
export function configDiff(current: Readonly<Record<string, string>>, wanted: Readonly<Record<string, string>>): string[] {
  const keys = new Set([...Object.keys(current), ...Object.keys(wanted)]);
  keys.delete('name');
  return [...keys].filter((k) => current[k] !== wanted[k]).sort();
}
