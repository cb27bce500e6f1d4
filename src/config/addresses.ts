/**
 * Addresses → connection settings: `postgresql://…`, `kafka://…` and `mysql://…` parsed in place,
 * `dataos://NAME` resolved through the connections file (./connections.ts). Secrets may be
 * `${ENV_VAR}` references or *_file paths.
 */
import { readFile } from 'node:fs/promises';
import { ConfigError, type ConfigProblem } from '../kernel/errors';
import type { KafkaConnection, MysqlConnection, MysqlSslMode, PgConnection, SourceDatabase } from './types';
import { DEFAULTS } from './defaults';
import { lookup, portOf, secret, sslModeOf, substituteEnv, type ConnectionsFile } from './connections';
import { entryHosts, parsePgAddress, parsePgKeywords } from './pg-address';
import { isKeywordConninfo, targetSessionAttrsOf } from '../pg/conninfo';

export { parsePgAddress } from './pg-address';

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
    const targetSessionAttrs = targetSessionAttrsOf(str('target_session_attrs'), `${f}.target_session_attrs`, problems);
    conn = {
      ...entryHosts(str('host') ?? '', typeof e.port === 'string' ? str('port') : e.port, f, problems),
      database: str('database') ?? '',
      username: str('username') ?? '',
      password: password ?? '',
      sslmode: sslModeOf(str('sslmode'), `${f}.sslmode`, problems),
      sslrootcert: str('sslrootcert'),
      connectTimeoutMs: typeof e.connect_timeout_ms === 'number' ? e.connect_timeout_ms : DEFAULTS.pg.connectTimeoutMs,
      ...(typeof e.connect_password === 'string' ? { connectPassword: str('connect_password') } : {}),
      ...(targetSessionAttrs ? { targetSessionAttrs } : {}),
    };
  } else if (isKeywordConninfo(address)) {
    conn = parsePgKeywords(address, field, env, problems);
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
