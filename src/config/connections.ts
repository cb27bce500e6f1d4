/**
 * Addresses → connection settings. `postgresql://…` and `kafka://…` are parsed in place;
 * `dataos://NAME` is looked up in the connections file (YAML, validated by
 * schema/connections.schema.json). Secrets may be `${ENV_VAR}` references or *_file paths.
 */
import { readFile } from 'node:fs/promises';
import { parse as parsePgUri } from 'pg-connection-string';
import { ConfigError, type ConfigProblem } from '../kernel/errors';
import type { KafkaConnection, MysqlConnection, MysqlSslMode, PgConnection, SourceDatabase, SslMode } from './types';
import { DEFAULTS } from './defaults';
import { schemaProblems } from './schema-check';
import { dotted, parseYaml, problemAt, type PathSeg, type YamlSource } from './yaml-source';
import type { RawManifest } from './manifest';

const SSL_MODES: readonly SslMode[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

export interface ConnectionsFile {
  readonly path: string;
  readonly src: YamlSource;
  readonly entries: Readonly<Record<string, Record<string, unknown>>>;
}

/** Replace `${VAR}` references; a missing variable is a problem naming the field and the variable. */
export function substituteEnv(s: string, env: NodeJS.ProcessEnv, field: string, problems: ConfigProblem[], encode = false): string {
  return s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => {
    const v = env[name];
    if (v === undefined) {
      problems.push({ path: field, message: `environment variable ${name} is not set (referenced as \${${name}}): export it, or write the value in place` });
      return '';
    }
    return encode ? encodeURIComponent(v) : v;
  });
}

export async function loadConnectionsFile(path: string): Promise<ConnectionsFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ConfigError([{ path: 'connections', message: `cannot read the connections file ${path}: ${(e as Error).message}; pass --connections <file> or set ${DEFAULTS.env.connectionsPath}` }]);
  }
  const src = parseYaml(text, path);
  if (src.problems.length) throw new ConfigError(src.problems.map((p) => ({ ...p, path: `${path}: ${p.path}` })));
  const problems = schemaProblems('connections', src);
  if (problems.length) throw new ConfigError(problems.map((p) => ({ ...p, path: `${path}: ${p.path}` })));
  return { path, src, entries: (src.value as { connections: Record<string, Record<string, unknown>> }).connections ?? {} };
}

async function secret(entry: Record<string, unknown>, key: string, field: string, env: NodeJS.ProcessEnv, problems: ConfigProblem[]): Promise<string | undefined> {
  if (typeof entry[key] === 'string') return substituteEnv(entry[key] as string, env, `${field}.${key}`, problems);
  const file = entry[`${key}_file`];
  if (typeof file !== 'string') return undefined;
  const p = substituteEnv(file, env, `${field}.${key}_file`, problems);
  try {
    // Secret files usually end with a newline that is not part of the secret.
    return (await readFile(p, 'utf8')).replace(/\r?\n$/, '');
  } catch (e) {
    problems.push({ path: `${field}.${key}_file`, message: `cannot read ${p}: ${(e as Error).message}` });
    return '';
  }
}

type ConnectionType = 'postgresql' | 'kafka' | 'mysql' | 'mariadb';

/**
 * What a cdc source address names: Kafka (topics of someone's connector), or a database whose
 * connector nilus-pg manages. A dataos:// name missing from the file is reported by the resolver.
 */
export function cdcSourceKind(address: string, file: ConnectionsFile | undefined): 'kafka' | 'postgresql' | 'mysql' {
  if (/^postgres(ql)?:\/\//.test(address)) return 'postgresql';
  if (/^(mysql|mariadb):\/\//.test(address)) return 'mysql';
  if (!address.startsWith('dataos://')) return 'kafka';
  const type = file?.entries[address.slice('dataos://'.length)]?.type;
  return type === 'postgresql' ? 'postgresql' : type === 'mysql' || type === 'mariadb' ? 'mysql' : 'kafka';
}

function lookup(file: ConnectionsFile | undefined, name: string, want: ConnectionType | readonly ConnectionType[], field: string): Record<string, unknown> {
  if (!file) {
    throw new ConfigError([{ path: field, message: `dataos://${name} needs a connections file: pass --connections <file> or set ${DEFAULTS.env.connectionsPath}` }]);
  }
  const wanted = typeof want === 'string' ? [want] : want;
  const kinds = wanted.join(' or ');
  // A field of the connections file itself (a database connection's kafka) reads "connections.NAME.kafka in <file>".
  const where = field.startsWith(`${file.path}: `) ? `${field.slice(file.path.length + 2)} in ${file.path}` : field;
  const e = file.entries[name];
  if (!e) {
    const known = Object.keys(file.entries);
    throw new ConfigError([{ path: field, message: `connection "${name}" is not in ${file.path} (it has: ${known.join(', ') || 'none'}): add a ${kinds} connection "${name}" to that file, or set ${where} to dataos://NAME of one it has` }]);
  }
  if (!wanted.includes(e.type as ConnectionType)) {
    const fitting = Object.keys(file.entries).filter((k) => wanted.includes(file.entries[k]!.type as ConnectionType));
    const p = problemAt(
      file.src,
      ['connections', name, 'type'],
      `connection "${name}" is type ${String(e.type)}, but ${where} needs a ${kinds} connection: set ${where} to dataos://NAME of a ${kinds} connection (${fitting.length ? `${file.path} has: ${fitting.join(', ')}` : `${file.path} has none yet`})`,
    );
    throw new ConfigError([{ ...p, path: `${file.path}: ${p.path}` }]);
  }
  return e;
}

/**
 * `nilus-pg validate --connections`: every dataos:// name the manifest uses — the sink, the source,
 * spec.source.options.kafka, and for a managed cdc source the database connection's own kafka —
 * looked up in the connections file by name and type only. No ${ENV} is substituted, no secret
 * or CA file read, nothing connected to: the rest is resolved when the pipeline is built.
 */
export function connectionNameProblems(m: RawManifest, manifest: YamlSource, file: ConnectionsFile): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const resolve = (address: unknown, want: readonly ConnectionType[], path: readonly PathSeg[], src: YamlSource, field: string): Record<string, unknown> | undefined => {
    if (typeof address !== 'string' || !address.startsWith('dataos://')) return undefined;
    try {
      return lookup(file, address.slice('dataos://'.length), want, field);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      // An unknown name is placed where it is written (the manifest, or the connections file).
      const pos = src.locate(path);
      problems.push(...e.problems.map((p) => (p.line === undefined && pos ? { ...p, line: pos.line, col: pos.col } : p)));
      return undefined;
    }
  };
  const inManifest = (address: unknown, want: readonly ConnectionType[], path: readonly PathSeg[]) => resolve(address, want, path, manifest, dotted(path));
  inManifest(m.spec.sink.address, ['postgresql'], ['spec', 'sink', 'address']);
  if (m.spec.type === 'batch') {
    inManifest(m.spec.source.address, ['postgresql', 'mysql', 'mariadb'], ['spec', 'source', 'address']);
    return problems;
  }
  const source = inManifest(m.spec.source.address, ['kafka', 'postgresql', 'mysql', 'mariadb'], ['spec', 'source', 'address']);
  const optionsKafka = m.spec.source.options?.kafka;
  inManifest(optionsKafka, ['kafka'], ['spec', 'source', 'options', 'kafka']);
  // A database connection may name its Kafka itself; the manifest's options.kafka wins over it.
  if (source && source.type !== 'kafka' && optionsKafka === undefined) {
    const name = m.spec.source.address.slice('dataos://'.length);
    resolve(source.kafka, ['kafka'], ['connections', name, 'kafka'], file.src, `${file.path}: connections.${name}.kafka`);
  }
  return problems;
}

function sslModeOf(v: unknown, field: string, problems: ConfigProblem[]): SslMode | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (SSL_MODES.includes(v as SslMode)) return v as SslMode;
  problems.push({ path: field, message: `sslmode must be one of ${SSL_MODES.join(', ')} (got "${String(v)}")` });
  return undefined;
}

function portOf(v: unknown, field: string, problems: ConfigProblem[], dflt: number = DEFAULTS.pg.port): number {
  if (v === undefined || v === null || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    problems.push({ path: field, message: `port must be an integer 1..65535 (got "${String(v)}")` });
    return dflt;
  }
  return n;
}

/** `postgresql://user:pass@host:port/db?sslmode=…&sslrootcert=…&connect_timeout=<s>`. */
export function parsePgAddress(address: string, field: string, env: NodeJS.ProcessEnv, problems: ConfigProblem[]): PgConnection | undefined {
  const uri = substituteEnv(address, env, field, problems, true);
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    problems.push({ path: field, message: 'is not a valid URI: expected postgresql://<username>:<password>@<host>:<port>/<database>?sslmode=<sslmode>' });
    return undefined;
  }
  // pg-connection-string would open sslrootcert itself; the TLS settings are ours to apply.
  const q = url.searchParams;
  const sslmode = sslModeOf(q.get('sslmode'), `${field} (sslmode)`, problems);
  const sslrootcert = q.get('sslrootcert') ?? undefined;
  const timeoutS = q.get('connect_timeout');
  for (const k of ['sslmode', 'sslrootcert', 'connect_timeout', 'sslcert', 'sslkey']) q.delete(k);
  const p = parsePgUri(url.toString());
  const missing = [!p.host && 'host', !p.database && 'database', !p.user && 'username'].filter(Boolean);
  if (missing.length) {
    problems.push({ path: field, message: `the URI has no ${missing.join(', ')}: expected postgresql://<username>:<password>@<host>:<port>/<database>?sslmode=<sslmode>` });
    return undefined;
  }
  let connectTimeoutMs: number = DEFAULTS.pg.connectTimeoutMs;
  if (timeoutS !== null) {
    const n = Number(timeoutS);
    if (!Number.isFinite(n) || n <= 0) problems.push({ path: `${field} (connect_timeout)`, message: `connect_timeout is in seconds and must be positive (got "${timeoutS}")` });
    else connectTimeoutMs = Math.round(n * 1000);
  }
  return {
    host: p.host as string,
    port: portOf(p.port, `${field} (port)`, problems),
    database: p.database as string,
    username: p.user as string,
    // The URI may omit the password (trust or peer auth); the connections file may not (see README of the seed).
    password: p.password ?? '',
    sslmode,
    sslrootcert,
    connectTimeoutMs,
  };
}

export async function resolvePg(address: string, field: string, file: ConnectionsFile | undefined, env: NodeJS.ProcessEnv): Promise<PgConnection> {
  const problems: ConfigProblem[] = [];
  let conn: PgConnection | undefined;
  if (address.startsWith('dataos://')) {
    const name = address.slice('dataos://'.length);
    const e = lookup(file, name, 'postgresql', field);
    const f = `${file!.path}: connections.${name}`;
    const password = await secret(e, 'password', f, env, problems);
    if (password === undefined) problems.push({ path: f, message: 'password is required: set password (may be ${ENV_VAR}) or password_file' });
    const str = (k: string): string | undefined => (typeof e[k] === 'string' ? substituteEnv(e[k] as string, env, `${f}.${k}`, problems) : undefined);
    conn = {
      host: str('host') ?? '',
      port: portOf(typeof e.port === 'string' ? str('port') : e.port, `${f}.port`, problems),
      database: str('database') ?? '',
      username: str('username') ?? '',
      password: password ?? '',
      sslmode: sslModeOf(str('sslmode'), `${f}.sslmode`, problems),
      sslrootcert: str('sslrootcert'),
      connectTimeoutMs: typeof e.connect_timeout_ms === 'number' ? e.connect_timeout_ms : DEFAULTS.pg.connectTimeoutMs,
      ...(typeof e.connect_password === 'string' ? { connectPassword: str('connect_password') } : {}),
    };
  } else {
    conn = parsePgAddress(address, field, env, problems);
  }
  if (problems.length || !conn) throw new ConfigError(problems);
  return conn;
}

function brokerList(v: string | readonly string[], field: string, problems: ConfigProblem[]): string[] {
  const list = (typeof v === 'string' ? v.split(',') : [...v]).map((b) => b.trim()).filter(Boolean);
  for (const b of list) {
    if (!/^[^\s:]+:\d{1,5}$/.test(b)) problems.push({ path: field, message: `broker "${b}" must be host:port` });
  }
  if (list.length === 0) problems.push({ path: field, message: 'no brokers given: expected host:port[,host:port]' });
  return list;
}

/** A Kafka Connect REST URL, checked after ${ENV} substitution; no trailing slash. */
export function connectUrlOf(v: string, field: string, problems: ConfigProblem[]): string {
  if (!/^https?:\/\/[^/\s]+/.test(v)) problems.push({ path: field, message: `must be the Kafka Connect REST URL, http://host:port or https://host:port (got "${v}")` });
  return v.replace(/\/+$/, '');
}

export async function resolveKafka(address: string, field: string, file: ConnectionsFile | undefined, env: NodeJS.ProcessEnv): Promise<KafkaConnection> {
  const problems: ConfigProblem[] = [];
  let conn: KafkaConnection;
  const override = env[DEFAULTS.env.kafkaBrokers];
  if (address.startsWith('kafka://')) {
    const rest = substituteEnv(address.slice('kafka://'.length), env, field, problems).replace(/\/$/, '');
    conn = { brokers: brokerList(override ?? rest, override ? DEFAULTS.env.kafkaBrokers : field, problems), clientId: DEFAULTS.kafka.clientId };
  } else if (address.startsWith('dataos://')) {
    const name = address.slice('dataos://'.length);
    const e = lookup(file, name, 'kafka', field);
    const f = `${file!.path}: connections.${name}`;
    const sub = (v: string, k: string): string => substituteEnv(v, env, `${f}.${k}`, problems);
    const brokers = override ?? (typeof e.brokers === 'string' ? sub(e.brokers, 'brokers') : (e.brokers as string[]).map((b) => sub(b, 'brokers')));
    const sasl = e.sasl as Record<string, unknown> | undefined;
    const tls = (e.tls ?? e.ssl) as boolean | { ca_file?: string; reject_unauthorized?: boolean } | undefined;
    let ssl: KafkaConnection['ssl'];
    if (typeof tls === 'object') {
      let ca: string | undefined;
      if (tls.ca_file) {
        const p = sub(tls.ca_file, 'tls.ca_file');
        ca = await readFile(p, 'utf8').catch((err: Error) => {
          problems.push({ path: `${f}.tls.ca_file`, message: `cannot read ${p}: ${err.message}` });
          return undefined;
        });
      }
      ssl = { ca, rejectUnauthorized: tls.reject_unauthorized ?? true };
    } else ssl = tls;
    let saslOut: KafkaConnection['sasl'];
    if (sasl) {
      const password = await secret(sasl, 'password', `${f}.sasl`, env, problems);
      if (password === undefined) problems.push({ path: `${f}.sasl`, message: 'password is required: set password (may be ${ENV_VAR}) or password_file' });
      saslOut = { mechanism: sasl.mechanism as 'plain', username: sub(String(sasl.username), 'sasl.username'), password: password ?? '' };
    }
    conn = {
      brokers: brokerList(brokers, override ? DEFAULTS.env.kafkaBrokers : `${f}.brokers`, problems),
      clientId: typeof e.client_id === 'string' ? sub(e.client_id, 'client_id') : DEFAULTS.kafka.clientId,
      ...(typeof e.connect_url === 'string' ? { connectUrl: connectUrlOf(sub(e.connect_url, 'connect_url'), `${f}.connect_url`, problems) } : {}),
      ...(ssl !== undefined ? { ssl } : {}),
      ...(saslOut ? { sasl: saslOut } : {}),
    };
  } else {
    throw new ConfigError([{ path: field, message: 'a Kafka address must be kafka://host:port[,host:port] or dataos://NAME' }]);
  }
  if (problems.length) throw new ConfigError(problems);
  return conn;
}

const MYSQL_SSL_MODES: readonly MysqlSslMode[] = ['disabled', 'preferred', 'required', 'verify_ca', 'verify_identity'];

/** MySQL spells ssl-mode in upper case (--ssl-mode=REQUIRED); both spellings are taken. */
function mysqlSslModeOf(v: unknown, field: string, problems: ConfigProblem[]): MysqlSslMode {
  if (v === undefined || v === null || v === '') return DEFAULTS.mysql.sslMode;
  const m = String(v).toLowerCase().replace(/-/g, '_');
  if (MYSQL_SSL_MODES.includes(m as MysqlSslMode)) return m as MysqlSslMode;
  problems.push({ path: field, message: `ssl-mode must be one of ${MYSQL_SSL_MODES.join(', ')} (got "${String(v)}")` });
  return DEFAULTS.mysql.sslMode;
}

function requireCa(conn: MysqlConnection, field: string, problems: ConfigProblem[]): void {
  if ((conn.sslMode === 'verify_ca' || conn.sslMode === 'verify_identity') && !conn.sslCa) {
    problems.push({ path: field, message: `ssl-mode ${conn.sslMode} verifies the server against a CA: set ssl-ca to a PEM CA bundle` });
  }
}

/** `mysql://user:pass@host:port/db?ssl-mode=required&ssl-ca=/ca.pem&connect_timeout=<s>` (`mariadb://` too). */
export function parseMysqlAddress(address: string, field: string, env: NodeJS.ProcessEnv, problems: ConfigProblem[]): MysqlConnection | undefined {
  const uri = substituteEnv(address, env, field, problems, true);
  const shape = 'expected mysql://<username>:<password>@<host>:<port>/<database>?ssl-mode=<mode>';
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    problems.push({ path: field, message: `is not a valid URI: ${shape}` });
    return undefined;
  }
  const q = url.searchParams;
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  const missing = [!url.hostname && 'host', !database && 'database', !url.username && 'username'].filter(Boolean);
  if (missing.length) {
    problems.push({ path: field, message: `the URI has no ${missing.join(', ')}: ${shape}` });
    return undefined;
  }
  let connectTimeoutMs: number = DEFAULTS.mysql.connectTimeoutMs;
  const timeoutS = q.get('connect_timeout');
  if (timeoutS !== null) {
    const n = Number(timeoutS);
    if (!Number.isFinite(n) || n <= 0) problems.push({ path: `${field} (connect_timeout)`, message: `connect_timeout is in seconds and must be positive (got "${timeoutS}")` });
    else connectTimeoutMs = Math.round(n * 1000);
  }
  const known = new Set(['ssl-mode', 'ssl_mode', 'sslmode', 'ssl-ca', 'ssl_ca', 'connect_timeout']);
  for (const k of q.keys()) if (!known.has(k)) problems.push({ path: `${field} (${k})`, message: `unknown URI parameter "${k}": expected ssl-mode, ssl-ca or connect_timeout` });
  const conn: MysqlConnection = {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: portOf(url.port, `${field} (port)`, problems, DEFAULTS.mysql.port),
    database,
    username: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    sslMode: mysqlSslModeOf(q.get('ssl-mode') ?? q.get('ssl_mode') ?? q.get('sslmode'), `${field} (ssl-mode)`, problems),
    ...((q.get('ssl-ca') ?? q.get('ssl_ca')) ? { sslCa: (q.get('ssl-ca') ?? q.get('ssl_ca'))! } : {}),
    connectTimeoutMs,
  };
  requireCa(conn, `${field} (ssl-ca)`, problems);
  return conn;
}

async function mysqlFromEntry(e: Record<string, unknown>, f: string, env: NodeJS.ProcessEnv, problems: ConfigProblem[]): Promise<MysqlConnection> {
  const password = await secret(e, 'password', f, env, problems);
  if (password === undefined) problems.push({ path: f, message: 'password is required: set password (may be ${ENV_VAR}) or password_file' });
  const str = (k: string): string | undefined => (typeof e[k] === 'string' ? substituteEnv(e[k] as string, env, `${f}.${k}`, problems) : undefined);
  const sslCa = str('ssl-ca');
  const conn: MysqlConnection = {
    host: str('host') ?? '',
    port: portOf(typeof e.port === 'string' ? str('port') : e.port, `${f}.port`, problems, DEFAULTS.mysql.port),
    database: str('database') ?? '',
    username: str('username') ?? '',
    password: password ?? '',
    sslMode: mysqlSslModeOf(str('ssl-mode'), `${f}.ssl-mode`, problems),
    ...(sslCa ? { sslCa } : {}),
    connectTimeoutMs: typeof e.connect_timeout_ms === 'number' ? e.connect_timeout_ms : DEFAULTS.mysql.connectTimeoutMs,
    ...(typeof e.connect_password === 'string' ? { connectPassword: str('connect_password') } : {}),
  };
  requireCa(conn, `${f}.ssl-ca`, problems);
  return conn;
}

/**
 * A batch source address: `postgresql://…`, `mysql://…` / `mariadb://…`, or `dataos://NAME` naming a
 * postgresql, mysql or mariadb connection.
 */
export async function resolveSourceDatabase(address: string, field: string, file: ConnectionsFile | undefined, env: NodeJS.ProcessEnv): Promise<SourceDatabase> {
  if (/^(postgres|postgresql):\/\//.test(address)) return { kind: 'postgresql', pg: await resolvePg(address, field, file, env) };
  const problems: ConfigProblem[] = [];
  let mysql: MysqlConnection | undefined;
  if (/^(mysql|mariadb):\/\//.test(address)) {
    mysql = parseMysqlAddress(address, field, env, problems);
  } else if (address.startsWith('dataos://')) {
    const name = address.slice('dataos://'.length);
    const e = lookup(file, name, ['postgresql', 'mysql', 'mariadb'], field);
    if (e.type === 'postgresql') return { kind: 'postgresql', pg: await resolvePg(address, field, file, env) };
    mysql = await mysqlFromEntry(e, `${file!.path}: connections.${name}`, env, problems);
  } else {
    problems.push({ path: field, message: 'a batch source must be postgresql://…, mysql://… or dataos://NAME' });
  }
  if (problems.length || !mysql) throw new ConfigError(problems);
  return { kind: 'mysql', mysql };
}
