/**
 * PostgreSQL addresses → PgConnection, in libpq's two forms (host lists and target_session_attrs
 * parsed by ../pg/conninfo.ts):
 *   `postgresql://user:pass@h1:5432,h2:5433/db?sslmode=…&sslrootcert=…&connect_timeout=<s>&target_session_attrs=…`
 *   `host=h1,h2 port=5432,5433 dbname=db user=u password=… sslmode=… connect_timeout=<s> target_session_attrs=…`
 * and a connections-file entry (host `h1,h2`, port `5432,5433`, target_session_attrs).
 */
import { parse as parsePgUri } from 'pg-connection-string';
import type { ConfigProblem } from '../kernel/errors';
import type { PgConnection, PgHostPort } from './types';
import { DEFAULTS } from './defaults';
import { portOf, sslModeOf, substituteEnv } from './connections';
import { pairHosts, parseKeywordConninfo, targetSessionAttrsOf, urlHosts } from '../pg/conninfo';

const URI_SHAPE = 'expected postgresql://<username>:<password>@<host>:<port>[,<host>:<port>…]/<database>?sslmode=<sslmode>';
const KEYWORDS = ['host', 'port', 'dbname', 'user', 'password', 'sslmode', 'sslrootcert', 'connect_timeout', 'target_session_attrs'];

function connectTimeoutOf(v: string | undefined | null, field: string, problems: ConfigProblem[]): number {
  if (v === undefined || v === null) return DEFAULTS.pg.connectTimeoutMs;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) {
    problems.push({ path: `${field} (connect_timeout)`, message: `connect_timeout is in seconds and must be positive (got "${v}")` });
    return DEFAULTS.pg.connectTimeoutMs;
  }
  return Math.round(n * 1000);
}

/** host/port are the first server; `hosts` only when there are several. */
export function withHosts(list: readonly PgHostPort[]): { host: string; port: number; hosts?: readonly PgHostPort[] } {
  return { host: list[0]!.host, port: list[0]!.port, ...(list.length > 1 ? { hosts: list } : {}) };
}

/** The URL form. A host list is taken apart here; the rest is read by pg-connection-string. */
export function parsePgAddress(address: string, field: string, env: NodeJS.ProcessEnv, problems: ConfigProblem[]): PgConnection | undefined {
  let uri = substituteEnv(address, env, field, problems, true);
  let hosts: PgHostPort[] | undefined;
  const m = /^(postgres(?:ql)?:\/\/)((?:[^@/?#]*@)?)([^/?#]*)(.*)$/s.exec(uri);
  if (m && m[3]!.includes(',')) {
    const before = problems.length;
    hosts = urlHosts(m[3]!, field, problems);
    if (problems.length > before || hosts.length === 0) return undefined;
    const first = hosts[0]!;
    uri = `${m[1]}${m[2]}${first.host.includes(':') ? `[${first.host}]` : encodeURIComponent(first.host)}:${first.port}${m[4]}`;
  }
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    problems.push({ path: field, message: `is not a valid URI: ${URI_SHAPE}` });
    return undefined;
  }
  // pg-connection-string would open sslrootcert itself; the TLS settings are ours to apply.
  const q = url.searchParams;
  const sslmode = sslModeOf(q.get('sslmode'), `${field} (sslmode)`, problems);
  const sslrootcert = q.get('sslrootcert') ?? undefined;
  const connectTimeoutMs = connectTimeoutOf(q.get('connect_timeout'), field, problems);
  const targetSessionAttrs = targetSessionAttrsOf(q.get('target_session_attrs'), `${field} (target_session_attrs)`, problems);
  for (const k of ['sslmode', 'sslrootcert', 'connect_timeout', 'sslcert', 'sslkey', 'target_session_attrs']) q.delete(k);
  const p = parsePgUri(url.toString());
  const missing = [!p.host && 'host', !p.database && 'database', !p.user && 'username'].filter(Boolean);
  if (missing.length) {
    problems.push({ path: field, message: `the URI has no ${missing.join(', ')}: ${URI_SHAPE}` });
    return undefined;
  }
  const single: PgHostPort = { host: p.host as string, port: portOf(p.port, `${field} (port)`, problems) };
  return {
    ...withHosts(hosts ?? [single]),
    database: p.database as string,
    username: p.user as string,
    // The URI may omit the password (trust or peer auth); the connections file may not (see README of the seed).
    password: p.password ?? '',
    sslmode,
    sslrootcert,
    connectTimeoutMs,
    ...(targetSessionAttrs ? { targetSessionAttrs } : {}),
  };
}

/** libpq's keyword/value form: `host=a,b port=5432,5433 dbname=db user=u target_session_attrs=read-write`. */
export function parsePgKeywords(address: string, field: string, env: NodeJS.ProcessEnv, problems: ConfigProblem[]): PgConnection | undefined {
  const raw = parseKeywordConninfo(address, field, problems);
  if (!raw) return undefined;
  // ${ENV} references are replaced in each value once it is parsed, so a secret may hold spaces or quotes.
  const kv = new Map([...raw].map(([k, v]) => [k, substituteEnv(v, env, `${field} (${k})`, problems)]));
  for (const k of kv.keys()) {
    if (!KEYWORDS.includes(k)) problems.push({ path: `${field} (${k})`, message: `unknown connection keyword "${k}": expected ${KEYWORDS.join(', ')}` });
  }
  const missing = [!kv.get('host') && 'host', !kv.get('dbname') && 'dbname', !kv.get('user') && 'user'].filter(Boolean);
  if (missing.length) {
    problems.push({ path: field, message: `the connection string has no ${missing.join(', ')}: expected host=<host>[,<host>…] port=<port>[,<port>…] dbname=<database> user=<username>` });
    return undefined;
  }
  const hosts = pairHosts(kv.get('host')!, kv.get('port'), field, problems);
  if (hosts.length === 0) return undefined;
  const targetSessionAttrs = targetSessionAttrsOf(kv.get('target_session_attrs'), `${field} (target_session_attrs)`, problems);
  return {
    ...withHosts(hosts),
    database: kv.get('dbname')!,
    username: kv.get('user')!,
    password: kv.get('password') ?? '',
    sslmode: sslModeOf(kv.get('sslmode'), `${field} (sslmode)`, problems),
    sslrootcert: kv.get('sslrootcert') || undefined,
    connectTimeoutMs: connectTimeoutOf(kv.get('connect_timeout'), field, problems),
    ...(targetSessionAttrs ? { targetSessionAttrs } : {}),
  };
}

/** A connections-file entry's servers: `host: a,b` with `port: 5432` or `port: "5432,5433"`. */
export function entryHosts(host: string, port: unknown, f: string, problems: ConfigProblem[]): ReturnType<typeof withHosts> {
  if (!host.includes(',')) return { host, port: portOf(port, `${f}.port`, problems) };
  const list = pairHosts(host, port === undefined || port === null ? undefined : String(port), f, problems);
  return list.length ? withHosts(list) : { host, port: DEFAULTS.pg.port };
}
