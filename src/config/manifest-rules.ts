/**
 * The rules of a manifest that a JSON schema cannot express (./manifest.ts runs them after the
 * schema): CDC include lists and topics, managed sources, batch-only options and bounds, the
 * dead-letter destination, tables nilus-pg writes itself.
 */
import type { ConfigProblem } from '../kernel/errors';
import { canMatchSeveral, compileList, hasTablePlaceholder, isMixedCase, parseTableName, unknownPlaceholders } from './names';
import { problemAt, type PathSeg, type YamlSource } from './yaml-source';
import { DEFAULTS } from './defaults';
import { topicMatches } from '../kafka/topics';
import { pgIdentifier } from '../kernel/text';
import { validateSchedule } from '../batch/schedule';
import { columnProblems } from './columns';
import { CONNECTOR_ONLY_MESSAGE, connectorOnlyKeys, type RawManifest, type RawSourceOptions } from './raw-manifest';

const SINK: PathSeg[] = ['spec', 'sink', 'options'];
const CDC: PathSeg[] = ['spec', 'source', 'cdc'];

export function semanticProblems(m: RawManifest, src: YamlSource, out: ConfigProblem[], warn: ConfigProblem[]): void {
  const at = (path: PathSeg[], msg: string): void => void out.push(problemAt(src, path, msg));
  const o = m.spec.sink.options;
  const cdc = m.spec.type === 'cdc';

  const dest = parseTableName(o.dest_table);
  if (typeof dest === 'string') at([...SINK, 'dest_table'], dest);
  else if (isMixedCase(dest)) {
    warn.push(problemAt(src, [...SINK, 'dest_table'], `"${o.dest_table}" has upper-case letters: the name is kept as written and quoted, so query it as "${dest.schema}"."${dest.table}" (unquoted names fold to lower case in PostgreSQL)`));
  }
  const unknown = unknownPlaceholders(o.dest_table);
  if (unknown.length) at([...SINK, 'dest_table'], `unknown placeholder ${unknown.map((u) => `{${u}}`).join(', ')}: only {schema} and {table} exist`);

  if (cdc && o.incremental_strategy === 'replace') {
    at([...SINK, 'incremental_strategy'], 'replace is for batch pipelines only: it rebuilds the whole table from a full read of the source, and a change stream has no "whole table". Use merge to keep a mirror of the source, or append to keep the history of every change');
  }

  columnProblems(o.columns, o.primary_key ?? m.spec.source.options?.primary_key, at);
  if (o.delete_mode === 'soft' && o.incremental_strategy !== 'merge') {
    at([...SINK, 'delete_mode'], `delete_mode: soft is for incremental_strategy merge (a delete there keeps the row, marked in _nilus_deleted_at); ${o.incremental_strategy} never deletes rows: remove delete_mode or use merge`);
  }
  if (o.metadata_columns !== undefined && o.metadata_columns !== false && !(cdc && o.incremental_strategy === 'merge')) {
    at([...SINK, 'metadata_columns'], o.incremental_strategy === 'append' && cdc
      ? 'metadata_columns is for merge targets: an append target always carries every _nilus_* metadata column; remove metadata_columns'
      : 'metadata_columns is for cdc pipelines with incremental_strategy merge: the columns hold the change event (op, source position, Kafka offset) behind each row, and a batch run reads rows, not change events; remove metadata_columns');
  }

  if (cdc) cdcRules(m, src, at);
  else if (m.spec.type === 'batch') batchRules(m, src, at, (path, msg) => void warn.push(problemAt(src, path, msg)));
  if (cdc && m.spec.schedule) at(['spec', 'schedule'], 'spec.schedule is for batch pipelines: a cdc pipeline runs continuously');
  else if (m.spec.schedule && Array.isArray(m.spec.schedule.crons) && m.spec.schedule.crons.every((c) => typeof c === 'string')) {
    const zone = m.spec.schedule.timezone ?? DEFAULTS.schedule.timezone;
    for (const msg of validateSchedule(m.spec.schedule.crons, zone)) {
      const i = m.spec.schedule.crons.findIndex((c) => msg.startsWith(`cron ${JSON.stringify(c)}`));
      at(['spec', 'schedule', ...(msg.startsWith('time zone') ? ['timezone'] : i >= 0 ? ['crons', i] : ['crons'])], msg);
    }
  }

  const tol = o['errors.tolerance'] ?? 'none';
  const dlqTopic = o['errors.deadletter.topic'];
  const dlqTable = o['errors.deadletter.table'];
  if (dlqTopic !== undefined && dlqTable !== undefined) at([...SINK, 'errors.deadletter.table'], 'set errors.deadletter.topic or errors.deadletter.table, not both');
  if ((dlqTopic !== undefined || dlqTable !== undefined) && tol !== 'all') {
    at([...SINK, dlqTopic !== undefined ? 'errors.deadletter.topic' : 'errors.deadletter.table'], 'a dead-letter destination needs errors.tolerance: all (with none the pipeline stops on the first bad event)');
  }
  if (o.schema_change === 'deadletter' && tol !== 'all') {
    at([...SINK, 'schema_change'], 'schema_change: deadletter needs errors.tolerance: all (and errors.deadletter.topic or errors.deadletter.table to keep the rows); with none use stop or variant');
  }
  if (dlqTable !== undefined && typeof parseTableName(dlqTable) === 'string') {
    at([...SINK, 'errors.deadletter.table'], `errors.deadletter.table must be \`<schema>.<table>\` (got "${dlqTable}")`);
  }
  if (cdc && dlqTopic !== undefined) deadLetterTopicRule(m, dlqTopic, at);
  ownTableCollisions(m, at);
  if ((o['errors.retry.initial_ms'] ?? 0) > (o['errors.retry.max_ms'] ?? Infinity)) {
    at([...SINK, 'errors.retry.initial_ms'], 'errors.retry.initial_ms must not exceed errors.retry.max_ms');
  }
  // Against the statement bound in effect, as batch.max_bytes against the budget below.
  const statementMs = o.statement_timeout_ms ?? DEFAULTS.sink.statementTimeoutMs;
  if (o.lock_timeout_ms !== undefined && o.lock_timeout_ms > statementMs) {
    const which = o.statement_timeout_ms !== undefined ? `statement_timeout_ms (${statementMs})` : `statement_timeout_ms (unset: the default, ${statementMs})`;
    at([...SINK, 'lock_timeout_ms'], `lock_timeout_ms (${o.lock_timeout_ms}) must not exceed ${which}: the statement would be cancelled before the lock wait ends, and a cancelled statement stops the pipeline where a lock timeout is retried`);
  }
  // Against the budget in effect: memory_budget_bytes, or its default when unset.
  const budget = o.memory_budget_bytes ?? DEFAULTS.buffer.memoryBudgetBytes;
  if (o['batch.max_bytes'] !== undefined && o['batch.max_bytes'] > budget) {
    const which = o.memory_budget_bytes !== undefined ? `memory_budget_bytes (${budget})` : `memory_budget_bytes (unset: the default, ${budget})`;
    at(
      [...SINK, 'batch.max_bytes'],
      `batch.max_bytes (${o['batch.max_bytes']}) must not exceed ${which}: a flush could never be reached before fetching pauses. ` +
        `Lower batch.max_bytes to at most ${budget}, or set memory_budget_bytes to at least ${o['batch.max_bytes']}`,
    );
  }
}

function cdcRules(m: RawManifest, src: YamlSource, at: (p: PathSeg[], msg: string) => void): void {
  const c = m.spec.source.cdc;
  const address = m.spec.source.address;
  const so = m.spec.source.options;
  if (/^(postgres(ql)?|mysql|mariadb):\/\//.test(address)) managedRules(so, at);
  if (address.startsWith('kafka://')) {
    for (const k of ['kafka', 'connect_url'] as const) {
      if (so?.[k] !== undefined) at([...SRC_OPTS, k], `${k} is for a managed source, whose address names the database; with a kafka:// address nilus-pg only reads the topics of your own connector`);
    }
    for (const k of connectorOnlyKeys(c)) at([...CDC, k], CONNECTOR_ONLY_MESSAGE(k));
  }
  if (m.spec.source.options?.source_table !== undefined) at(['spec', 'source', 'options', 'source_table'], 'source_table is for batch pipelines; a cdc pipeline selects tables with spec.source.cdc table.include.list / collection.include.list');
  for (const k of BATCH_ONLY) {
    if (m.spec.source.options?.[k] !== undefined) at([...SRC_OPTS, k], k === 'primary_key' ? 'in a cdc pipeline primary_key goes in spec.sink.options' : `${k} is for batch pipelines (spec.type: batch)`);
  }
  const session = c?.['session.timeout.ms'] ?? DEFAULTS.cdc.sessionTimeoutMs;
  const beat = c?.['heartbeat.interval.ms'] ?? DEFAULTS.cdc.heartbeatIntervalMs;
  if (beat * 3 > session) {
    at(['spec', 'source', 'cdc', 'heartbeat.interval.ms'], `heartbeat.interval.ms (${beat}) must be at most a third of session.timeout.ms (${session}), or a late heartbeat or two would cost the group membership`);
  }
  if (!c) {
    at(['spec', 'source'], 'a cdc pipeline needs spec.source.cdc with at least topic.prefix');
    return;
  }
  for (const k of ['collection.include.list', 'collection.exclude.list', 'table.include.list', 'table.exclude.list'] as const) {
    for (const b of compileList(c[k]).bad) at([...CDC, k], `invalid regular expression ${b}`);
  }
  const inc = [c['collection.include.list'], c['table.include.list']].filter((x) => x !== undefined);
  const exc = [c['collection.exclude.list'], c['table.exclude.list']].filter((x) => x !== undefined);
  if (inc.length && exc.length) at([...CDC, c['table.exclude.list'] !== undefined ? 'table.exclude.list' : 'collection.exclude.list'], 'an include list and an exclude list cannot both be set (as in Debezium): keep one');
  if (inc.length > 1) at([...CDC, 'table.include.list'], 'set collection.include.list or table.include.list, not both');
  const dest = m.spec.sink.options.dest_table;
  if (canMatchSeveral(inc.join(',')) && !hasTablePlaceholder(dest)) {
    const why = inc.length ? `the include list "${inc.join(',')}" can match several tables` : 'with no include list every table under the prefix is read';
    at([...SINK, 'dest_table'], `${why}, and dest_table "${dest}" has no {table} placeholder, so different tables would be merged into one: use e.g. "${dest.split('.')[0]}.{table}", or list exactly one table`);
  }
}

/** A database address in a cdc manifest: the pipeline also needs the Kafka (and Connect) to use. */
function managedRules(so: RawSourceOptions | undefined, at: (p: PathSeg[], msg: string) => void): void {
  if (so?.kafka === undefined) {
    at(['spec', 'source', 'options'], 'a cdc source that names a database is managed: nilus-pg creates its Debezium connector, and needs spec.source.options.kafka (dataos://NAME of a kafka connection with connect_url, or kafka://host:port with spec.source.options.connect_url). To read the topics of a connector you run yourself, set spec.source.address to the Kafka instead');
  } else if (so.kafka.startsWith('kafka://') && so.connect_url === undefined) {
    at([...SRC_OPTS, 'kafka'], 'with a kafka:// address nilus-pg does not know Kafka Connect: set spec.source.options.connect_url (e.g. http://connect:8083), or use dataos://NAME of a kafka connection with connect_url');
  }
}

const SRC_OPTS: PathSeg[] = ['spec', 'source', 'options'];
/** Source options only a batch pipeline reads. */
const BATCH_ONLY = ['incremental_key', 'interval_start', 'interval_end', 'page_size', 'progress_interval_ms', 'tinyint1_as_boolean', 'primary_key'] as const;

function batchRules(m: RawManifest, src: YamlSource, at: (p: PathSeg[], msg: string) => void, warn: (p: PathSeg[], msg: string) => void): void {
  if (m.spec.source.address.startsWith('kafka://')) at(['spec', 'source', 'address'], 'a batch source is a database: use postgresql://…, mysql://… or dataos://NAME (kafka:// is for cdc)');
  if (m.spec.source.cdc) at(['spec', 'source', 'cdc'], 'spec.source.cdc is for cdc pipelines; set spec.type: cdc or remove it');
  if (m.spec.sink.options.on_offset_gap !== undefined) at(['spec', 'sink', 'options', 'on_offset_gap'], 'on_offset_gap is for cdc pipelines (spec.type: cdc): a batch run reads no Kafka offsets');
  for (const k of ['kafka', 'connect_url'] as const) {
    if (m.spec.source.options?.[k] !== undefined) at([...SRC_OPTS, k], `${k} is for managed cdc sources (spec.type: cdc)`);
  }
  const o = m.spec.source.options ?? {};
  const st = o.source_table;
  if (st === undefined) at(['spec', 'source'], 'a batch pipeline needs spec.source.options.source_table (`<schema>.<table>`)');
  else if (typeof parseTableName(st) === 'string') at([...SRC_OPTS, 'source_table'], `source_table must be \`<schema>.<table>\` (got "${st}")`);
  if (o.primary_key !== undefined && m.spec.sink.options.primary_key !== undefined) {
    at([...SRC_OPTS, 'primary_key'], 'primary_key is set in both spec.source.options and spec.sink.options: keep one (they mean the same)');
  }
  const key = o.incremental_key;
  for (const k of ['interval_start', 'interval_end'] as const) {
    if (o[k] !== undefined && key === undefined) at([...SRC_OPTS, k], `${k} bounds the cursor column: set incremental_key too`);
  }
  if (key !== undefined && m.spec.sink.options.incremental_strategy === 'replace') {
    warn([...SRC_OPTS, 'incremental_key'], 'replace reloads the whole table on every run, so incremental_key (and interval_start/interval_end) are ignored: use merge or append to load only new rows');
  }
  const [a, b] = [o.interval_start, o.interval_end];
  if (a !== undefined && b !== undefined && comparable(a, b) && compareBound(a, b) >= 0) {
    at([...SRC_OPTS, 'interval_end'], `interval_end (${b}) must be after interval_start (${a}): the run reads interval_start <= ${key ?? 'cursor'} < interval_end`);
  }
  void src;
}

/** Two bounds both numbers, or both ISO dates/timestamps, can be ordered before the run. */
function comparable(a: string | number, b: string | number): boolean {
  const num = (x: string | number): boolean => typeof x === 'number' || /^-?\d+$/.test(x);
  const iso = (x: string | number): boolean => typeof x === 'string' && /^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$/.test(x);
  return (num(a) && num(b)) || (iso(a) && iso(b));
}

function compareBound(a: string | number, b: string | number): number {
  if (typeof a === 'number' || /^-?\d+$/.test(a)) {
    const [x, y] = [BigInt(a), BigInt(b)];
    return x < y ? -1 : x > y ? 1 : 0;
  }
  const [x, y] = [String(a).replace('T', ' '), String(b).replace('T', ' ')];
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * A dead-letter topic the pipeline itself reads (under topic.prefix and selected by the include /
 * exclude lists) would feed every dead letter back in as a record: it fails again, is dead-lettered
 * again, forever.
 */
function deadLetterTopicRule(m: RawManifest, topic: string, at: (p: PathSeg[], msg: string) => void): void {
  const c = m.spec.source.cdc;
  if (!c || typeof c['topic.prefix'] !== 'string') return;
  const include = [c['collection.include.list'], c['table.include.list']].flatMap((l) => compileList(l).regexes);
  const exclude = [c['collection.exclude.list'], c['table.exclude.list']].flatMap((l) => compileList(l).regexes);
  if (!topicMatches(topic, { prefix: c['topic.prefix'], include, exclude })) return;
  at(
    [...SINK, 'errors.deadletter.topic'],
    `the dead-letter topic "${topic}" is one this pipeline reads (it is under topic.prefix "${c['topic.prefix']}" and the include/exclude lists select it), ` +
      `so every dead letter would be read back and dead-lettered again; name it outside the prefix (e.g. "${c['topic.prefix']}-dlq" or "dlq.${topic}"), ` +
      'or exclude it with collection.exclude.list',
  );
}

/**
 * Tables nilus writes itself must not be the destination or each other, as PostgreSQL sees the
 * names (each part cut to 63 bytes). dest_table patterns with {table} are checked per source
 * table at run time (src/engine/route.ts).
 */
function ownTableCollisions(m: RawManifest, at: (p: PathSeg[], msg: string) => void): void {
  const o = m.spec.sink.options;
  const same = (a: { schema: string; table: string }, b: { schema: string; table: string }): boolean =>
    pgIdentifier(a.schema) === pgIdentifier(b.schema) && pgIdentifier(a.table) === pgIdentifier(b.table);
  const show = (t: { schema: string; table: string }): string => `${t.schema}.${t.table}`;
  const dest = parseTableName(o.dest_table);
  const destPlain = typeof dest !== 'string' && !/\{(schema|table)\}/.test(o.dest_table) ? dest : undefined;
  const dl = o['errors.deadletter.table'] !== undefined ? parseTableName(o['errors.deadletter.table']) : undefined;
  const dlq = typeof dl === 'object' ? dl : undefined;
  const stateSchema = o.state_schema ?? (typeof dest === 'object' && !/\{(schema|table)\}/.test(dest.schema) ? dest.schema : undefined);
  const offsets = stateSchema !== undefined ? { schema: stateSchema, table: 'nilus_offsets' } : undefined;
  if (destPlain && dlq && same(destPlain, dlq)) {
    at([...SINK, 'errors.deadletter.table'], `errors.deadletter.table ${show(dlq)} is the destination table ${show(destPlain)} (as PostgreSQL names them, cut to 63 bytes): choose another name for the dead-letter table`);
  }
  if (offsets && dlq && same(offsets, dlq)) {
    at([...SINK, 'errors.deadletter.table'], `errors.deadletter.table ${show(dlq)} is the offsets table ${show(offsets)}: choose another name for the dead-letter table`);
  }
  if (offsets && destPlain && same(offsets, destPlain)) {
    at([...SINK, 'dest_table'], `dest_table ${show(destPlain)} is the offsets table nilus keeps in schema "${offsets.schema}": choose another table name, or set state_schema to another schema`);
  }
}
