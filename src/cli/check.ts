/**
 * `nilus-pg check`: connect with the manifest's settings and confirm each thing the pipeline
 * will need, one line per check, before anything runs. Read-only: it creates nothing.
 */
import { ColumnPolicy, keyRefusal } from '../kernel/column-policy';
import type { Client } from '../pg/pool';
import { NilusError } from '../kernel/errors';
import type { PipelineConfig } from '../config/types';
import { parseTableName, tableSelected } from '../config/names';
import { connectPg } from '../pg/pool';
import { createKafka } from '../kafka/client';
import { tableName } from '../pg/ident';
import { CHECK_CONNECT, CHECK_DATABASE_CREATE, CHECK_SCHEMA_CREATE, CHECK_SCHEMA_EXISTS, CHECK_SCHEMA_USAGE, CHECK_TABLE_EXISTS, CHECK_TABLE_PRIVILEGE, CHECK_TLS } from '../tables/sql/postgresql';
import { createTableSource } from '../batch/batch-service';
import type { TableReader } from '../tables/table-source';
import { checkManagedSource } from './check-source';
import { schemaChangeLine } from './check-schema';

export interface CheckLine {
  readonly ok: boolean;
  readonly text: string;
}

type Add = (ok: boolean, text: string) => void;

/** Privileges on the target table each strategy uses. */
export function neededTablePrivileges(strategy: PipelineConfig['sink']['options']['strategy']): string[] {
  return strategy === 'append' ? ['INSERT', 'SELECT'] : ['INSERT', 'UPDATE', 'DELETE', 'SELECT'];
}

async function one(c: Client, sql: string, params: unknown[]): Promise<unknown> {
  const r = await c.query(sql, params);
  return r.rows[0] ? Object.values(r.rows[0])[0] : undefined;
}

async function checkSink(cfg: PipelineConfig, add: Add): Promise<void> {
  const pgc = cfg.sink.pg;
  let c: Client;
  try {
    c = await connectPg(pgc);
  } catch (e) {
    add(false, `PostgreSQL ${pgc.host}:${pgc.port}/${pgc.database}: ${(e as Error).message}`);
    return;
  }
  try {
    const tls = await one(c, CHECK_TLS, []);
    add(true, `PostgreSQL reachable at ${pgc.host}:${pgc.port} as ${pgc.username} (${tls ? 'TLS' : 'no TLS'}, sslmode=${pgc.sslmode ?? 'prefer'})`);
    const connect = await one(c, CHECK_CONNECT, []);
    add(connect === true, `CONNECT on database ${pgc.database}${connect ? '' : ` — GRANT CONNECT ON DATABASE "${pgc.database}" TO "${pgc.username}"`}`);
    await checkTarget(cfg, c, add);
    if (cfg.mode === 'cdc') add(true, schemaChangeLine(cfg));
  } finally {
    await c.end().catch(() => undefined);
  }
}

async function checkTarget(cfg: PipelineConfig, c: Client, add: Add): Promise<void> {
  const o = cfg.sink.options;
  const dest = parseTableName(o.destTable);
  if (typeof dest === 'string') return add(false, dest);
  if (dest.schema.includes('{')) return add(true, `schema of ${o.destTable} depends on the source table: privileges are checked when each table is first written`);
  const exists = await one(c, CHECK_SCHEMA_EXISTS, [dest.schema]);
  if (exists === 0 && o.autoCreate) {
    const may = await one(c, CHECK_DATABASE_CREATE, []);
    return add(may === true, may === true
      ? `schema "${dest.schema}" does not exist yet: auto_create creates it (CREATE on database ${cfg.sink.pg.database})`
      : `schema "${dest.schema}" does not exist and ${cfg.sink.pg.username} may not create it — GRANT CREATE ON DATABASE "${cfg.sink.pg.database}" TO "${cfg.sink.pg.username}", or CREATE SCHEMA "${dest.schema}" and grant USAGE, CREATE on it to ${cfg.sink.pg.username}`);
  }
  if (exists === 0) return add(false, `schema "${dest.schema}" does not exist — CREATE SCHEMA "${dest.schema}" and grant USAGE, CREATE on it to ${cfg.sink.pg.username}`);
  const usage = await one(c, CHECK_SCHEMA_USAGE, [dest.schema]);
  add(usage === true, `USAGE on schema ${dest.schema}${usage ? '' : ` — GRANT USAGE ON SCHEMA "${dest.schema}" TO "${cfg.sink.pg.username}"`}`);
  const templated = dest.table.includes('{');
  const present = templated ? null : await one(c, CHECK_TABLE_EXISTS, [tableName(dest)]);
  const needCreate = o.strategy === 'replace' || (o.autoCreate && present !== true);
  if (needCreate) {
    const create = await one(c, CHECK_SCHEMA_CREATE, [dest.schema]);
    const why = o.strategy === 'replace' ? 'replace builds a new copy of the table' : 'auto_create may create missing tables';
    add(create === true, `CREATE on schema ${dest.schema} (${why})${create ? '' : ` — GRANT CREATE ON SCHEMA "${dest.schema}" TO "${cfg.sink.pg.username}"`}`);
  }
  if (templated) return add(true, `tables ${o.destTable} are resolved per source table: their privileges are checked when each is first written`);
  if (present !== true) {
    return add(o.autoCreate, o.autoCreate ? `table ${o.destTable} does not exist yet: it will be created from the first event` : `table ${o.destTable} does not exist and auto_create is false — create it, or set auto_create: true`);
  }
  const privs = neededTablePrivileges(o.strategy);
  const missing: string[] = [];
  for (const p of privs) if ((await one(c, CHECK_TABLE_PRIVILEGE, [tableName(dest), p])) !== true) missing.push(p);
  add(missing.length === 0, `${privs.join('/')} on ${o.destTable} (${o.strategy})${missing.length ? ` — missing ${missing.join(', ')}: GRANT ${missing.join(', ')} ON ${tableName(dest)} TO "${cfg.sink.pg.username}"` : ''}`);
}

async function checkBatchSource(cfg: PipelineConfig, add: Add): Promise<void> {
  const b = cfg.batch!;
  const source = createTableSource(b.db, { tinyint1AsBoolean: b.tinyint1AsBoolean });
  const name = `${b.sourceTable.schema}.${b.sourceTable.table}`;
  let reader: TableReader;
  try {
    reader = await source.open();
  } catch (e) {
    await source.close().catch(() => undefined);
    const err = e as Error & { code?: string };
    const hint = err.code === 'ER_DBACCESS_DENIED_ERROR'
      ? `the user may not use this database: GRANT SELECT ON ${name} TO the source user`
      : 'check host, port, credentials and that this host can reach it';
    return add(false, `source ${source.display}: ${err.message} — ${hint}`);
  }
  try {
    add(true, `source ${source.display} reachable`);
    let info;
    try {
      info = await reader.describe(b.sourceTable);
    } catch (e) {
      return add(false, `source table ${name}: ${(e as Error).message}`);
    }
    if (!info) return add(false, `source table ${name} not found, or the user has no SELECT on it — check the name (\`<schema>.<table>\`${b.db.kind === 'mysql' ? ', the schema being the MySQL database' : ''}) and GRANT SELECT ON ${name} TO the source user`);
    const shape = `${info.columns.length} columns, primary key ${info.primaryKey.length ? info.primaryKey.join(', ') : 'none'}${info.estimatedRows !== undefined ? `, ~${info.estimatedRows} rows` : ''}`;
    const rules = cfg.sink.options.columns;
    const refusal = rules && ColumnPolicy.active(rules) ? keyRefusal(new ColumnPolicy(rules), cfg.sink.options.primaryKey ?? info.primaryKey, name) : undefined;
    if (refusal) add(false, refusal);
    const key = b.incrementalKey !== undefined && cfg.sink.options.strategy !== 'replace' ? b.incrementalKey : undefined;
    const col = key !== undefined ? info.columns.find((c) => c.name === key) : undefined;
    if (key !== undefined && !col) add(false, `incremental_key "${key}" is not a column of ${name} (it has: ${info.columns.map((c) => c.name).join(', ')})`);
    else if (col && !col.cursorable) add(false, `incremental_key "${key}" is ${col.sourceType}: a cursor must be an integer, date or timestamp column`);
    // Reading a column's max proves SELECT (a catalog can list a table its user cannot read).
    const probe = col && col.cursorable ? col.name : info.columns[0]!.name;
    try {
      const max = await reader.cursorMax(b.sourceTable, { column: probe });
      add(true, `SELECT on source table ${name} (${shape})`);
      if (col && col.cursorable) add(true, `incremental_key "${key}" (${col.sourceType}) is at ${max ?? 'NULL (no rows yet)'}`);
    } catch (e) {
      add(false, `SELECT on source table ${name}: ${(e as Error).message}`);
    }
  } finally {
    await reader.close().catch(() => undefined);
    await source.close().catch(() => undefined);
  }
}

/** Topics `<prefix>.<schema>.<table>` selected by the include/exclude lists. */
export function matchingTopics(cfg: NonNullable<PipelineConfig['cdc']>, topics: readonly string[]): string[] {
  const head = `${cfg.topicPrefix}.`;
  return topics.filter((t) => {
    if (!t.startsWith(head)) return false;
    const rest = t.slice(head.length);
    const dot = rest.indexOf('.');
    if (dot <= 0) return false;
    return tableSelected(cfg, { schema: rest.slice(0, dot), table: rest.slice(dot + 1) });
  });
}

async function checkKafka(cfg: PipelineConfig, add: Add): Promise<void> {
  const cdc = cfg.cdc!;
  const kafka = createKafka(cdc.kafka, { connectionTimeoutMs: 5000, retries: 1 });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const topics = await admin.listTopics();
    add(true, `Kafka reachable at ${cdc.kafka.brokers.join(',')} (${topics.length} topics)`);
    const match = matchingTopics(cdc, topics);
    if (match.length === 0 && cdc.managed) return add(true, `no topic matches ${cdc.topicPrefix}.* yet: the connector creates them when it starts`);
    add(match.length > 0, match.length ? `${match.length} topic(s) match ${cdc.topicPrefix}.*: ${match.slice(0, 5).join(', ')}${match.length > 5 ? ', …' : ''}` : `no topic matches prefix "${cdc.topicPrefix}" and the include list — is the Debezium connector running with topic.prefix=${cdc.topicPrefix}?`);
  } catch (e) {
    add(false, `Kafka ${cdc.kafka.brokers.join(',')}: ${(e as Error).message} — check the brokers, SASL/TLS settings and that this host can reach them`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export async function runChecks(cfg: PipelineConfig): Promise<CheckLine[]> {
  const lines: CheckLine[] = [];
  const add: Add = (ok, text) => void lines.push({ ok, text });
  try {
    await checkSink(cfg, add);
    if (cfg.cdc?.managed) await checkManagedSource(cfg.cdc, add, cfg.sink.options);
    if (cfg.mode === 'cdc') await checkKafka(cfg, add);
    else await checkBatchSource(cfg, add);
  } catch (e) {
    if (!(e instanceof NilusError) && !(e as { code?: string }).code) throw e;
    add(false, (e as Error).message);
  }
  return lines;
}
