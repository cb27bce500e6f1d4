/**
 * libpq's connection strings, the parts node-postgres does not know: the keyword/value form
 * (`host=a,b port=5432,5433 dbname=app target_session_attrs=read-write`), host lists in both forms
 * (`postgresql://a:5432,b:5433/app`), and target_session_attrs. Pure: config/ parses addresses with
 * it, ./select-host.ts connects by what it parsed.
 *
 * libpq's rules, kept here:
 * - keyword form: `host` and `port` take comma-separated lists; one port applies to every host,
 *   otherwise there must be as many ports as hosts ("could not match 3 port numbers to 2 hosts");
 *   an empty port in the list is the default port;
 * - URL form: `host[:port]` entries separated by commas, each with its own optional port;
 * - hosts are tried in the order given.
 */
import type { ConfigProblem } from '../kernel/errors';
import type { PgHostPort, TargetSessionAttrs } from '../config/types';

export const TARGET_SESSION_ATTRS: readonly TargetSessionAttrs[] = ['any', 'read-write', 'read-only', 'primary', 'standby', 'prefer-standby'];

export const DEFAULT_PG_PORT = 5432;

export function targetSessionAttrsOf(v: unknown, field: string, problems: ConfigProblem[]): TargetSessionAttrs | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (TARGET_SESSION_ATTRS.includes(v as TargetSessionAttrs)) return v as TargetSessionAttrs;
  problems.push({ path: field, message: `target_session_attrs must be one of ${TARGET_SESSION_ATTRS.join(', ')} (got "${String(v)}")` });
  return undefined;
}

function portNumber(v: string, field: string, problems: ConfigProblem[]): number {
  if (v === '') return DEFAULT_PG_PORT;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 65535) {
    problems.push({ path: field, message: `port must be an integer 1..65535 (got "${v}")` });
    return DEFAULT_PG_PORT;
  }
  return n;
}

/** The keyword form's `host` and `port` lists, paired as libpq pairs them. */
export function pairHosts(hosts: string, ports: string | undefined, field: string, problems: ConfigProblem[]): PgHostPort[] {
  const names = hosts.split(',').map((h) => h.trim());
  if (names.some((h) => h === '')) {
    problems.push({ path: `${field} (host)`, message: `host "${hosts}" has an empty entry: list each server as host=name1,name2` });
    return [];
  }
  const portList = (ports ?? '').split(',').map((p) => p.trim());
  if (portList.length !== 1 && portList.length !== names.length) {
    problems.push({
      path: `${field} (port)`,
      message: `could not match ${portList.length} port numbers to ${names.length} hosts: give one port for every host, or a single port that applies to all of them`,
    });
    return [];
  }
  const nums = portList.map((p) => portNumber(p, `${field} (port)`, problems));
  return names.map((host, i) => ({ host, port: nums.length === 1 ? nums[0] : nums[i] }));
}

/** The URL form's host part, `h1[:p1],h2[:p2]` (IPv6 literals in brackets). */
export function urlHosts(hostPart: string, field: string, problems: ConfigProblem[]): PgHostPort[] {
  const out: PgHostPort[] = [];
  for (const entry of hostPart.split(',')) {
    const m = /^(\[[^\]]*\]|[^:[\]]*)(?::(\d*))?$/.exec(entry);
    if (!m || m[1] === '' || m[1] === '[]') {
      problems.push({ path: `${field} (host)`, message: `"${entry}" is not a host[:port] entry: expected postgresql://<user>@<host1>:<port1>,<host2>:<port2>/<database>` });
      continue;
    }
    out.push({ host: decodeURIComponent(m[1].replace(/^\[|\]$/g, '')), port: portNumber(m[2] ?? '', `${field} (port)`, problems) });
  }
  return out;
}

/**
 * The keyword/value form: `keyword = value` pairs separated by white space; a value with spaces is
 * single-quoted; a backslash escapes a quote or a backslash. A keyword given twice: the last wins.
 */
export function parseKeywordConninfo(text: string, field: string, problems: ConfigProblem[]): Map<string, string> | undefined {
  const out = new Map<string, string>();
  let i = 0;
  const n = text.length;
  const space = (c: string | undefined): boolean => c !== undefined && /\s/.test(c);
  while (i < n) {
    while (space(text[i])) i++;
    if (i >= n) break;
    const start = i;
    while (i < n && text[i] !== '=' && !space(text[i])) i++;
    const key = text.slice(start, i);
    while (space(text[i])) i++;
    if (text[i] !== '=' || !/^[a-z_]+$/.test(key)) {
      problems.push({ path: field, message: `missing "=" after "${key}" in the connection string: expected keyword=value pairs such as host=a,b port=5432 dbname=app user=u` });
      return undefined;
    }
    i++;
    while (space(text[i])) i++;
    let value = '';
    if (text[i] === "'") {
      i++;
      let closed = false;
      while (i < n) {
        const c = text[i];
        if (c === '\\' && i + 1 < n) {
          value += text[i + 1];
          i += 2;
        } else if (c === "'") {
          closed = true;
          i++;
          break;
        } else {
          value += c;
          i++;
        }
      }
      if (!closed) {
        problems.push({ path: field, message: `unterminated quoted string in the connection string (value of ${key})` });
        return undefined;
      }
    } else {
      while (i < n && !space(text[i])) {
        if (text[i] === '\\' && i + 1 < n) i++;
        value += text[i];
        i++;
      }
    }
    out.set(key, value);
  }
  return out;
}

/** Whether an address is libpq's keyword/value form (it starts with `keyword=`). */
export function isKeywordConninfo(address: string): boolean {
  return /^\s*[a-z_]+\s*=/.test(address);
}

/** Every server of a connection, in the order they are tried. */
export function hostsOf(conn: { readonly host: string; readonly port: number; readonly hosts?: readonly PgHostPort[] }): readonly PgHostPort[] {
  return conn.hosts && conn.hosts.length > 0 ? conn.hosts : [{ host: conn.host, port: conn.port }];
}
