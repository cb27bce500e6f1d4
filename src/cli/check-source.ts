/**
 * `nilus-pg check` for a managed source: what Debezium's PostgreSQL connector needs of the source
 * database (MySQL/MariaDB: ./check-mysql-source.ts) and of Kafka Connect, one line each with the
 * fix. Read-only.
 */
import type { Client } from '../pg/pool';
import type { CdcSource, ManagedSource } from '../config/types';
import { tableSelected } from '../config/names';
import { connectPg } from '../pg/pool';
import { ident, tableName } from '../pg/ident';
import { ConnectRest } from '../managed/connect-rest';
import { PG_CONNECTOR_CLASS } from '../managed/pg-config';
import { MARIADB_CONNECTOR_CLASS, MYSQL_CONNECTOR_CLASS, mariadbAdapter } from '../managed/other-configs';
import { checkMysqlSource, type SinkKeys } from './check-mysql-source';
import { listTables, readPrereqs, type SourcePrereqs, type SourceTable } from '../managed/pg-source';
import { DESCRIBE_TABLE, replicaIdentityFull } from '../tables/sql/postgresql';
import { ColumnPolicy, keyRefusal } from '../kernel/column-policy';

type Add = (ok: boolean, text: string) => void;

const list = (ts: readonly SourceTable[], n = 5): string => ts.slice(0, n).map((t) => `${t.schema}.${t.table}`).join(', ') + (ts.length > n ? `, … (${ts.length})` : '');
const sqlList = (ts: readonly SourceTable[]): string => ts.map((t) => tableName(t)).join(', ');

/** `sink`: its strategy and primary_key decide whether a keyless MySQL table can be merged. */
export async function checkManagedSource(cdc: CdcSource, add: Add, sink?: SinkKeys): Promise<void> {
  const m = cdc.managed!;
  if (m.kind === 'mysql') await checkMysqlSource(cdc, m, add, sink);
  else await checkSourceDatabase(cdc, m, add, sink);
  await checkConnect(m, add);
}

const PLUGIN: Readonly<Record<string, { label: string; artifact: string }>> = {
  [PG_CONNECTOR_CLASS]: { label: 'PostgreSQL', artifact: 'debezium-connector-postgres' },
  [MYSQL_CONNECTOR_CLASS]: { label: 'MySQL', artifact: 'debezium-connector-mysql' },
  [MARIADB_CONNECTOR_CLASS]: { label: 'MariaDB', artifact: 'debezium-connector-mariadb' },
};

async function checkSourceDatabase(cdc: CdcSource, m: Extract<ManagedSource, { kind: 'postgresql' }>, add: Add, sink?: SinkKeys): Promise<void> {
  const db = m.db;
  let c: Client;
  try {
    c = await connectPg(db);
  } catch (e) {
    return add(false, `source PostgreSQL ${db.host}:${db.port}/${db.database}: ${(e as Error).message}`);
  }
  try {
    add(true, `source PostgreSQL reachable at ${db.host}:${db.port}/${db.database} as ${db.username}`);
    const slot = m.connectorConfig['slot.name'];
    const publication = m.connectorConfig['publication.name'];
    const p = await readPrereqs(c, slot, publication);
    add(p.walLevel === 'logical', p.walLevel === 'logical' ? 'wal_level=logical'
      : `wal_level is ${p.walLevel}, Debezium needs logical — ALTER SYSTEM SET wal_level = logical, then restart PostgreSQL (managed services: enable logical replication, e.g. rds.logical_replication=1)`);
    const role = p.superuser ? 'is superuser' : p.replication ? 'has REPLICATION' : undefined;
    add(role !== undefined, role ? `source user ${p.user} ${role}` : `source user ${p.user} lacks REPLICATION, so it cannot stream changes — ALTER ROLE ${ident(p.user)} WITH REPLICATION (on Amazon RDS: GRANT rds_replication TO ${ident(p.user)})`);
    slotLines(p, slot, add);
    const selected = (await listTables(c)).filter((t) => tableSelected(cdc, t));
    tableLines(p, selected, cdc, db.database, add);
    await keyColumnLines(c, selected, sink, add);
    publicationLine(p, publication, selected, db.database, add);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** spec.sink.options.columns must leave each selected table's key (declared, else the table's) as it is. */
async function keyColumnLines(c: Client, selected: readonly SourceTable[], sink: SinkKeys | undefined, add: Add): Promise<void> {
  const rules = sink?.columns;
  if (!ColumnPolicy.active(rules)) return;
  const policy = new ColumnPolicy(rules);
  for (const t of selected) {
    const pk = sink?.primaryKey ?? ((await c.query<{ pk: string[] | null }>(DESCRIBE_TABLE, [t.schema, t.table])).rows[0]?.pk ?? []);
    const refusal = keyRefusal(policy, pk, `${t.schema}.${t.table}`);
    if (refusal !== undefined) add(false, refusal);
  }
}

function slotLines(p: SourcePrereqs, slot: string, add: Add): void {
  if (p.slot) {
    add(true, `replication slot ${slot} exists (${p.slot.active ? 'in use' : 'not in use'}, ${p.slot.plugin ?? 'no plugin'}): the connector resumes from it`);
  } else {
    const free = p.maxSlots - p.slotsUsed;
    add(free > 0, free > 0 ? `a free replication slot for ${slot} (${p.slotsUsed} of max_replication_slots=${p.maxSlots} used)`
      : `no free replication slot (${p.slotsUsed} of max_replication_slots=${p.maxSlots} used) — drop unused ones (SELECT slot_name FROM pg_replication_slots WHERE NOT active; SELECT pg_drop_replication_slot('…')) or raise max_replication_slots and restart PostgreSQL`);
  }
  // A slot already in use has its WAL sender; otherwise the connector needs one more.
  if (p.slot?.active) return;
  const senders = p.maxWalSenders - p.walSendersUsed;
  add(senders > 0, senders > 0 ? `a free WAL sender (${p.walSendersUsed} of max_wal_senders=${p.maxWalSenders} in use)`
    : `no free WAL sender (${p.walSendersUsed} of max_wal_senders=${p.maxWalSenders} in use) — raise max_wal_senders and restart PostgreSQL`);
}

function tableLines(p: SourcePrereqs, selected: readonly SourceTable[], cdc: CdcSource, database: string, add: Add): void {
  if (selected.length === 0) {
    const inc = cdc.include.map((r) => r.source).join(',');
    add(false, `no table in ${database} matches ${inc ? `the include list "${inc}"` : 'the lists'} — check collection.include.list (regexes over <schema>.<table>) and that the user can see the tables`);
    return;
  }
  add(true, `${selected.length} source table(s) selected: ${list(selected)}`);
  const unreadable = selected.filter((t) => !t.selectable && !p.superuser);
  if (unreadable.length) add(false, `no SELECT on ${list(unreadable)} (the snapshot reads them) — GRANT SELECT ON ${sqlList(unreadable)} TO ${ident(p.user)}`);
  // Without a key in the old row image, Debezium's updates and deletes carry no key to apply by.
  const keyless = selected.filter((t) => t.replicaIdentity === 'n' || (!t.hasPrimaryKey && t.replicaIdentity === 'd'));
  add(keyless.length === 0, keyless.length === 0 ? 'every selected table has a primary key or REPLICA IDENTITY FULL'
    : `${list(keyless)} ${keyless.length === 1 ? 'has' : 'have'} no primary key and no REPLICA IDENTITY FULL, so updates and deletes arrive without their key — ${keyless.map(replicaIdentityFull).join(' ')}`);
}

/**
 * Debezium creates the publication FOR TABLE the selected tables (publication.autocreate.mode=
 * filtered): that takes CREATE on the database and ownership of each table, or a superuser.
 */
function publicationLine(p: SourcePrereqs, publication: string, selected: readonly SourceTable[], database: string, add: Add): void {
  if (p.publicationExists) return add(true, `publication ${publication} exists`);
  if (p.superuser) return add(true, `publication ${publication} will be created by the connector (superuser)`);
  const notOwned = selected.filter((t) => !t.owned);
  const fixes = [
    ...(p.createOnDatabase ? [] : [`GRANT CREATE ON DATABASE ${ident(database)} TO ${ident(p.user)}`]),
    ...(notOwned.length ? [`make ${p.user} own ${list(notOwned)} (ALTER TABLE … OWNER TO ${ident(p.user)})`] : []),
  ];
  if (fixes.length === 0) return add(true, `publication ${publication} can be created by the connector (CREATE on database ${database}, owner of the selected tables)`);
  add(false, `publication ${publication} does not exist and ${p.user} cannot create it — ${fixes.join(', and ')}; or have a table owner or superuser run CREATE PUBLICATION ${ident(publication)} FOR TABLE ${sqlList(selected) || '…'}`);
}

/** "2.6.2.Final" → [2, 6, 2]; unparsable parts count as 0. */
const versionParts = (v: string | undefined): number[] => (v ?? '').split(/[.-]/).slice(0, 3).map((x) => parseInt(x, 10) || 0);

function newest<T extends { version?: string }>(xs: readonly T[]): T | undefined {
  const cmp = (a: T, b: T): number => {
    const [x, y] = [versionParts(a.version), versionParts(b.version)];
    return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
  };
  return [...xs].sort(cmp).at(-1);
}

/** The MySQL connector's MariaDB adapter (connector.adapter) exists in 2.5 and 2.6. */
function adapterVersion(v: string | undefined): boolean {
  const [major, minor] = versionParts(v);
  return major === 2 && minor >= 5 && minor <= 6;
}

async function checkConnect(m: ManagedSource, add: Add): Promise<void> {
  const rest = new ConnectRest(m.connectUrl, 5000);
  let connectVersion: string | undefined;
  try {
    const info = await rest.info();
    connectVersion = info.version;
    add(true, `Kafka Connect reachable at ${m.connectUrl} (Kafka ${info.version})`);
  } catch (e) {
    return add(false, `Kafka Connect ${m.connectUrl}: ${(e as Error).message} — check connect_url and that this host can reach the Connect REST port`);
  }
  const cls = m.connectorConfig['connector.class'] ?? PG_CONNECTOR_CLASS;
  const known = PLUGIN[cls] ?? { label: cls, artifact: 'its plugin' };
  const plugins = await rest.plugins();
  const installed = plugins.filter((x) => x.class === cls);
  const wanted = m.connectorConfig['connector.plugin.version'];
  // Connect runs the requested version, else the newest it has (GET /connector-plugins lists each version).
  const plugin = wanted !== undefined ? installed.find((x) => x.version === wanted) : newest(installed);
  const adapter = cls === MYSQL_CONNECTOR_CLASS && mariadbAdapter(m.connectorConfig);
  const mysqlInstead = cls === MARIADB_CONNECTOR_CLASS && plugins.some((x) => x.class === MYSQL_CONNECTOR_CLASS)
    ? ` (the MySQL connector that is installed refuses MariaDB 10+ from 3.0 on; 2.5–2.6 read it with connector.adapter: mariadb, see docs/manifest.md#managed-mysql--mariadb-sources)` : '';
  if (installed.length === 0) {
    add(false, `the Debezium ${known.label} connector plugin (${cls}) is not installed in Kafka Connect — put ${known.artifact} in a folder on the worker's plugin.path and restart the worker${mysqlInstead}`);
  } else if (!plugin) {
    add(false, `connector.plugin.version ${wanted} of the Debezium ${known.label} connector is not installed in Kafka Connect (it has ${installed.map((x) => x.version ?? '?').join(', ')}) — set connector.plugin.version in spec.source.cdc to one of those, or put ${known.artifact} ${wanted} in its own folder on the worker's plugin.path and restart the worker`);
  } else {
    add(true, `Debezium ${known.label} connector plugin installed (${plugin.version ?? 'version unknown'}${installed.length > 1 ? `; Connect has ${installed.map((x) => x.version ?? '?').join(', ')}, this one ${wanted !== undefined ? 'named by connector.plugin.version' : 'the newest'}` : ''})`);
  }
  if (plugin && adapter && !adapterVersion(plugin.version)) {
    const fits = installed.filter((x) => adapterVersion(x.version)).map((x) => x.version);
    add(false, `connector.adapter: mariadb needs Debezium's MySQL connector 2.5–2.6 (later ones have no MariaDB adapter and refuse MariaDB 10+), but Connect would run ${plugin.version ?? 'an unknown version'} — ${fits.length ? `set connector.plugin.version: ${fits[0]} in spec.source.cdc` : 'put debezium-connector-mysql 2.6.2.Final in its own folder on the worker\'s plugin.path, restart the worker and set connector.plugin.version: 2.6.2.Final in spec.source.cdc'}`);
  }
  // Debezium 2.x's Kafka schema history reads its topic with KafkaConsumer.poll(long), which Kafka 4
  // removed: the first start works, every restart fails (NoSuchMethodError … KafkaConsumer.poll(long)).
  const kafkaHistory = (m.connectorConfig['schema.history.internal'] ?? 'io.debezium.storage.kafka.history.KafkaSchemaHistory') === 'io.debezium.storage.kafka.history.KafkaSchemaHistory';
  if (plugin && m.kind === 'mysql' && kafkaHistory && versionParts(plugin.version)[0] <= 2 && versionParts(connectVersion)[0] >= 4) {
    add(false, `Debezium ${plugin.version}'s Kafka schema history cannot be read back on Kafka Connect ${connectVersion} (it calls KafkaConsumer.poll(long), gone since Kafka 4.0): the connector snapshots, then fails at its first restart — set schema.history.internal: io.debezium.storage.file.history.FileSchemaHistory and schema.history.internal.file.filename: a file on the Connect worker that survives restarts (one worker only) in spec.source.cdc, or run a Kafka Connect 3.x`);
  }
  if (plugin) {
    // Run from the worker, so it also proves Connect's own path to the database and its credentials.
    const bad = await rest.validate(cls, { name: m.connectorName, ...m.connectorConfig });
    add(bad.length === 0, bad.length === 0 ? `Kafka Connect validated the connector config (Debezium reached ${m.db.host}:${m.db.port}/${m.db.database} as ${m.db.username} from the worker)`
      : `Kafka Connect rejects the connector config — ${bad.map((b) => `${b.name}: ${b.errors.join('; ')}`).join(' | ')} — fix the key in spec.source.cdc or the source connection (host and port as the Connect worker reaches them; connect_password must resolve on the worker)`);
  }
  const status = await rest.status(m.connectorName);
  if (!status) return add(true, `connector ${m.connectorName} does not exist yet: nilus-pg run creates it`);
  const failed = [status.connector, ...status.tasks].find((s) => s.state === 'FAILED');
  add(!failed, failed ? `connector ${m.connectorName} is FAILED: ${(failed.trace ?? '').split('\n')[0]} — fix the cause, then POST ${m.connectUrl}/connectors/${m.connectorName}/restart?includeTasks=true&onlyFailed=true`
    : `connector ${m.connectorName} is ${status.connector.state} (tasks: ${status.tasks.map((t) => t.state).join(', ') || 'none'})`);
}
