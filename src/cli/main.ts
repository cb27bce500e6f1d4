/**
 * nilus-pg command line: validate (offline), check (connects, read-only), run, verify (read-only).
 * Exit codes: 0 ok; 1 a check or the pipeline failed; 2 the manifest/command line is wrong.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, NilusError, type ConfigProblem } from '../kernel/errors';
import { loadConfig } from '../config/load';
import { connectionNameProblems, loadConnectionsFile, type ConnectionsFile } from '../config/connections';
import { parseManifest } from '../config/manifest';
import { runChecks } from './check';
import { TEARDOWN_HELP, teardownCommand } from './teardown';
import { DEADLETTERS_HELP, deadLettersCommand } from './deadletters';
import { RESYNC_HELP, resyncCommand } from './resync';
import { STATUS_HELP, statusCommand } from './status-command';

export interface Io {
  out(line: string): void;
  err(line: string): void;
}

const stdio: Io = { out: (l) => process.stdout.write(l + '\n'), err: (l) => process.stderr.write(l + '\n') };

const HELP: Record<string, string> = {
  main: `Usage: nilus-pg <command> [options]

Commands:
  validate <manifest…> [--connections f]  check manifests offline (schema, rules, dataos:// names); exit 0 or 2
  check <manifest> [--connections f] connect and check reachability and privileges; exit 0 or 1
  run <manifest> [--connections f]   run the pipeline until stopped (SIGTERM/SIGINT stop gracefully)
  verify <manifest> [--connections f] compare the source table(s) with the target; exit 0 equal, 1 not
  teardown <manifest> [--drop-slot] --yes  delete a managed source's connector (and slot, publication)
  deadletters <manifest> list|replay [--table t] [--since ts]  list or re-apply dead letters
  resync <manifest> --table <schema.table> [--wait]  re-read one table of a managed PostgreSQL source
  status <manifest> [--json] [--max-lag-seconds n]  how the pipeline stands; exit 0 healthy, 1 not, 2 cannot tell

Options: --help (per command too), --version
Environment: NILUS_CONNECTIONS (connections file), NILUS_KAFKA_BROKERS (overrides the brokers)`,
  validate: `Usage: nilus-pg validate <manifest.yaml> [more.yaml…] [--connections <file>]

Validates each manifest against the schema and the semantic rules without connecting anywhere.
With --connections, every dataos:// name a manifest uses (sink, source, spec.source.options.kafka,
and a managed source's database connection's kafka) is looked up in that file: a name it lacks, or
one of the wrong type (a kafka connection where a postgresql one is needed), is a problem. Only
names and types are checked: no \${ENV} variable, secret file or network is read.
Every problem is listed as <file>:<line>:<col>: <path>: <message>. Exit 0 when all are valid, 2 otherwise.`,
  check: `Usage: nilus-pg check <manifest.yaml> [--connections <file>]

Connects to PostgreSQL (and Kafka for cdc) with the manifest's settings and prints one line per check:
PostgreSQL reachable, CONNECT on the database, USAGE (and CREATE when needed) on the schema, the
table privileges the incremental_strategy needs, Kafka reachable and topics matching the prefix.
For a managed source (the address names the source database) also: wal_level, REPLICATION, a free
slot and WAL sender, the publication, REPLICA IDENTITY of keyless tables (MySQL/MariaDB: log_bin,
binlog_format=ROW, binlog_row_image=FULL, server_id, REPLICATION SLAVE/CLIENT, RELOAD, SELECT),
Kafka Connect, the Debezium plugin and Connect's validation of the connector config.
Exit 0 when every check passes, 1 otherwise, 2 when the manifest is invalid.`,
  verify: `Usage: nilus-pg verify <manifest.yaml> [--connections <file>] [--settle-timeout <s>] [--settle-quiet <s>]

Compares the source table(s) with the target table(s), by key, inside both databases: per-bucket
row counts and hashes, bisecting only the buckets that differ and fetching only their rows.
Batch pipelines: the source table (PostgreSQL or MySQL/MariaDB). CDC pipelines with a managed
source (the address names the source database): every table the connector captures, compared as
Debezium delivers its values; differences found while CDC is live are compared again once the
pipeline's stored offsets have reached the topics' end offsets, until they are gone or
--settle-timeout (default 120 s) passes, or the same rows still differ with no new message for
--settle-quiet (default 10 s); values Debezium cannot carry exactly are reported as known
Debezium losses, not as differences.
Prints one line per table: equal, or the missing, extra and differing rows with up to 5 sample
keys each, the chunks compared and bisected, and the seconds taken.
Exit 0 when equal, 1 when not, 2 when the manifest is invalid or the pipeline cannot be verified
(a CDC pipeline whose address is a Kafka).`,
  run: `Usage: nilus-pg run <manifest.yaml> [--connections <file>]

Runs the pipeline. The effective configuration is logged with secrets masked. SIGTERM/SIGINT
flush, commit and stop; a second signal exits at once.`,
  teardown: TEARDOWN_HELP,
  deadletters: DEADLETTERS_HELP,
  resync: RESYNC_HELP,
  status: STATUS_HELP,
};

function formatProblem(file: string, p: ConfigProblem): string {
  // Problems found in the connections file carry that file's name in their path.
  const other = /^(.+\.ya?ml): (.*)$/.exec(p.path);
  const [f, path] = other ? [other[1], other[2]] : [file, p.path];
  const where = p.line ? `${f}:${p.line}:${p.col ?? 1}` : f;
  return `${where}: ${path}: ${p.message}`;
}

async function version(): Promise<string> {
  // package.json sits two levels up from both src/cli and dist/cli.
  const pkg = JSON.parse(await readFile(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

async function validate(files: string[], connectionsPath: string | undefined, io: Io): Promise<number> {
  if (files.length === 0) {
    io.err(HELP.validate);
    return 2;
  }
  let connections: ConnectionsFile | undefined;
  if (connectionsPath !== undefined) {
    try {
      connections = await loadConnectionsFile(connectionsPath);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      for (const p of e.problems) io.err(formatProblem(connectionsPath, p));
      return 2;
    }
  }
  let failed = 0;
  for (const f of files) {
    try {
      const { manifest, warnings, notes, source } = parseManifest(await readFile(f, 'utf8'), f);
      for (const w of warnings) io.out(`warning: ${formatProblem(f, w)}`);
      for (const n of notes) io.out(`note: ${formatProblem(f, n)}`);
      const names = connections ? connectionNameProblems(manifest, source, connections) : [];
      if (names.length) throw new ConfigError(names);
      io.out(`ok: ${f}`);
    } catch (e) {
      failed++;
      if (e instanceof ConfigError) for (const p of e.problems) io.err(formatProblem(f, p));
      else io.err(`${f}: ${(e as Error).message}`);
    }
  }
  if (failed) io.err(`${failed} of ${files.length} manifest(s) invalid`);
  return failed ? 2 : 0;
}

async function check(manifest: string, connectionsPath: string | undefined, io: Io): Promise<number> {
  const cfg = await loadConfig(manifest, { connectionsPath });
  const lines = await runChecks(cfg);
  for (const l of lines) io.out(`${l.ok ? '[ok]  ' : '[FAIL]'} ${l.text}`);
  return lines.every((l) => l.ok) ? 0 : 1;
}

/** A --settle-* value in seconds (a number ≥ 0) → ms, or a message naming the option. */
function seconds(value: string | undefined, option: string): number | string | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  return value.trim() !== '' && Number.isFinite(n) && n >= 0 ? n * 1000 : `--${option} wants seconds (a number ≥ 0), got "${value}"`;
}

async function verify(manifest: string, connectionsPath: string | undefined, settle: { timeout?: string; quiet?: string }, io: Io): Promise<number> {
  const settleTimeoutMs = seconds(settle.timeout, 'settle-timeout');
  const settleQuietMs = seconds(settle.quiet, 'settle-quiet');
  for (const v of [settleTimeoutMs, settleQuietMs]) {
    if (typeof v === 'string') {
      io.err(v);
      return 2;
    }
  }
  const cfg = await loadConfig(manifest, { connectionsPath });
  // Imported lazily, like run: validate/check must not load the database clients of verify.
  const { verifyPipeline, KAFKA_SOURCE_NOT_VERIFIABLE } = await import('../verify/run');
  if (cfg.mode === 'cdc' && !cfg.cdc?.managed) {
    io.err(`${manifest}: spec.source.address: ${KAFKA_SOURCE_NOT_VERIFIABLE}`);
    return 2;
  }
  let reports;
  try {
    reports = await verifyPipeline(cfg, {
      ...(typeof settleTimeoutMs === 'number' ? { settleTimeoutMs } : {}),
      ...(typeof settleQuietMs === 'number' ? { settleQuietMs } : {}),
    });
  } catch (e) {
    // a database that cannot be reached or read: one line, as check prints it, not a stack trace
    if (e instanceof NilusError || !(e as { code?: unknown }).code) throw e;
    io.err(`verify failed: ${(e as Error).message}`);
    return 1;
  }
  for (const r of reports) io.out(r.line);
  return reports.every((r) => r.ok) ? 0 : 1;
}

async function run(manifest: string, connectionsPath: string | undefined): Promise<number> {
  const notes: string[] = [];
  const cfg = await loadConfig(manifest, { connectionsPath, onNote: (n) => notes.push(formatProblem(manifest, n)) });
  // Imported lazily: validate/check must not load the whole pipeline.
  const { runPipeline } = await import('../service/run');
  return runPipeline(cfg, { signals: true, notes, ...(process.stderr.isTTY ? { progressTo: process.stderr } : {}) });
}

export async function main(argv: string[], io: Io = stdio): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'V' }, connections: { type: 'string', short: 'c' }, yes: { type: 'boolean' }, 'drop-slot': { type: 'boolean' }, 'settle-timeout': { type: 'string' }, 'settle-quiet': { type: 'string' }, table: { type: 'string' }, since: { type: 'string' }, json: { type: 'boolean' }, force: { type: 'boolean' }, wait: { type: 'boolean' }, timeout: { type: 'string' }, 'max-lag-seconds': { type: 'string' } },
    });
  } catch (e) {
    io.err(`${(e as Error).message}\n\n${HELP.main}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [cmd, ...rest] = positionals;
  if (values.version) {
    io.out(await version());
    return 0;
  }
  if (!cmd || (values.help && !HELP[cmd])) {
    (values.help ? io.out : io.err)(HELP.main);
    return values.help ? 0 : 2;
  }
  if (!HELP[cmd] || cmd === 'main') {
    io.err(`unknown command "${cmd}"\n\n${HELP.main}`);
    return 2;
  }
  if (values.help) {
    io.out(HELP[cmd]);
    return 0;
  }
  if (cmd !== 'validate' && rest.length !== (cmd === 'deadletters' ? 2 : 1)) {
    io.err(HELP[cmd]);
    return 2;
  }
  try {
    if (cmd === 'validate') return await validate(rest, values.connections, io);
    if (cmd === 'check') return await check(rest[0], values.connections, io);
    if (cmd === 'verify') return await verify(rest[0], values.connections, { timeout: values['settle-timeout'], quiet: values['settle-quiet'] }, io);
    if (cmd === 'deadletters') {
      return await deadLettersCommand({ manifest: rest[0]!, action: rest[1], table: values.table, since: values.since, json: values.json, force: values.force, connections: values.connections }, io);
    }
    if (cmd === 'resync') return await resyncCommand({ manifest: rest[0]!, table: values.table, wait: values.wait, timeout: values.timeout, connections: values.connections }, io);
    if (cmd === 'status') return await statusCommand(rest[0], values.connections, { json: values.json, maxLagSeconds: values['max-lag-seconds'] }, io);
    if (cmd === 'teardown') return await teardownCommand(rest[0], values.connections, { yes: values.yes, dropSlot: values['drop-slot'] }, io);
    return await run(rest[0], values.connections);
  } catch (e) {
    if (e instanceof ConfigError) {
      for (const p of e.problems) io.err(formatProblem(rest[0], p));
      return 2;
    }
    if (e instanceof NilusError) {
      io.err(e.message);
      return 1;
    }
    throw e;
  }
}
