import type { ConfigProblem } from '../../../src/kernel/errors';
import { hostsOf, isKeywordConninfo, pairHosts, parseKeywordConninfo, targetSessionAttrsOf, urlHosts } from '../../../src/pg/conninfo';
import { parsePgAddress, parsePgKeywords, entryHosts } from '../../../src/config/pg-address';

describe('libpq keyword/value connection strings', () => {
  it('reads keyword=value pairs, with spaces around = and quoted values with escapes', () => {
    const problems: ConfigProblem[] = [];
    const kv = parseKeywordConninfo(`host=a,b  port = 5432 password='it' user='x\\'y z' dbname=d\\ b`, 'f', problems);
    expect(problems).toEqual([]);
    expect(kv && Object.fromEntries(kv)).toEqual({ host: 'a,b', port: '5432', password: 'it', user: "x'y z", dbname: 'd b' });
  });

  it('names a missing = and an unterminated quote', () => {
    const p1: ConfigProblem[] = [];
    expect(parseKeywordConninfo('host=a port', 'f', p1)).toBeUndefined();
    expect(p1[0]!.message).toMatch(/missing "=" after "port"/);
    const p2: ConfigProblem[] = [];
    expect(parseKeywordConninfo("host='a", 'f', p2)).toBeUndefined();
    expect(p2[0]!.message).toMatch(/unterminated quoted string .*host/);
  });

  it('tells the keyword form from a URL', () => {
    expect(isKeywordConninfo('host=a dbname=b')).toBe(true);
    expect(isKeywordConninfo(' host = a')).toBe(true);
    expect(isKeywordConninfo('postgresql://u@h/db')).toBe(false);
    expect(isKeywordConninfo('dataos://pg')).toBe(false);
  });
});

describe('host lists as libpq pairs them', () => {
  it('pairs hosts and ports one to one, in order', () => {
    const problems: ConfigProblem[] = [];
    expect(pairHosts('a,b,c', '1,2,3', 'f', problems)).toEqual([
      { host: 'a', port: 1 },
      { host: 'b', port: 2 },
      { host: 'c', port: 3 },
    ]);
    expect(problems).toEqual([]);
  });

  it('applies a single port to every host, and no port means 5432', () => {
    expect(pairHosts('a,b', '6000', 'f', [])).toEqual([
      { host: 'a', port: 6000 },
      { host: 'b', port: 6000 },
    ]);
    expect(pairHosts('a,b', undefined, 'f', [])).toEqual([
      { host: 'a', port: 5432 },
      { host: 'b', port: 5432 },
    ]);
  });

  it('an empty port in the list is the default port', () => {
    expect(pairHosts('a,b', '6000,', 'f', [])).toEqual([
      { host: 'a', port: 6000 },
      { host: 'b', port: 5432 },
    ]);
  });

  it('mismatched counts are an error in libpq words', () => {
    const problems: ConfigProblem[] = [];
    expect(pairHosts('a,b', '1,2,3', 'spec.sink.address', problems)).toEqual([]);
    expect(problems).toEqual([{ path: 'spec.sink.address (port)', message: expect.stringMatching(/^could not match 3 port numbers to 2 hosts/) }]);
  });

  it('an empty host or a bad port is named', () => {
    const p1: ConfigProblem[] = [];
    pairHosts('a,,b', '1', 'f', p1);
    expect(p1[0]!.message).toMatch(/empty entry/);
    const p2: ConfigProblem[] = [];
    pairHosts('a', '70000', 'f', p2);
    expect(p2[0]!.message).toMatch(/port must be an integer 1..65535 \(got "70000"\)/);
  });

  it('URL host lists carry a port per host, IPv6 in brackets', () => {
    const problems: ConfigProblem[] = [];
    expect(urlHosts('h1:5433,h2,[::1]:7000', 'f', problems)).toEqual([
      { host: 'h1', port: 5433 },
      { host: 'h2', port: 5432 },
      { host: '::1', port: 7000 },
    ]);
    expect(problems).toEqual([]);
    const bad: ConfigProblem[] = [];
    urlHosts('h1:5433,:5', 'f', bad);
    expect(bad[0]!.message).toMatch(/":5" is not a host\[:port\] entry/);
  });

  it('target_session_attrs takes libpq values only', () => {
    for (const v of ['any', 'read-write', 'read-only', 'primary', 'standby', 'prefer-standby']) expect(targetSessionAttrsOf(v, 'f', [])).toBe(v);
    const problems: ConfigProblem[] = [];
    expect(targetSessionAttrsOf('master', 'f', problems)).toBeUndefined();
    expect(problems[0]!.message).toMatch(/must be one of any, read-write, read-only, primary, standby, prefer-standby \(got "master"\)/);
  });

  it('hostsOf lists the one server of a plain connection', () => {
    expect(hostsOf({ host: 'h', port: 1 })).toEqual([{ host: 'h', port: 1 }]);
  });
});

describe('PostgreSQL addresses with several hosts', () => {
  it('URL form: every host, the first as host/port, target_session_attrs read', () => {
    const problems: ConfigProblem[] = [];
    const c = parsePgAddress('postgresql://u:p%40w@h1:5433,h2:5434/db?target_session_attrs=read-write&connect_timeout=3', 'spec.sink.address', {}, problems);
    expect(problems).toEqual([]);
    expect(c).toEqual({
      host: 'h1',
      port: 5433,
      hosts: [
        { host: 'h1', port: 5433 },
        { host: 'h2', port: 5434 },
      ],
      database: 'db',
      username: 'u',
      password: 'p@w',
      sslmode: undefined,
      sslrootcert: undefined,
      connectTimeoutMs: 3000,
      targetSessionAttrs: 'read-write',
    });
  });

  it('URL form: one host keeps its old shape; a bad target_session_attrs is named', () => {
    const problems: ConfigProblem[] = [];
    const c = parsePgAddress('postgresql://u@h/db?target_session_attrs=primary', 'f', {}, problems);
    expect(c).toEqual({ host: 'h', port: 5432, database: 'db', username: 'u', password: '', sslmode: undefined, sslrootcert: undefined, connectTimeoutMs: 10000, targetSessionAttrs: 'primary' });
    expect(c?.hosts).toBeUndefined();
    parsePgAddress('postgresql://u@h/db?target_session_attrs=rw', 'spec.sink.address', {}, problems);
    expect(problems).toEqual([{ path: 'spec.sink.address (target_session_attrs)', message: expect.stringContaining('(got "rw")') }]);
  });

  it('keyword form: hosts, one port for all, the rest of the keywords', () => {
    const problems: ConfigProblem[] = [];
    const c = parsePgKeywords("host=a,b port=6000 dbname=app user=nilus password='${PW}' sslmode=disable target_session_attrs=read-write connect_timeout=2", 'f', { PW: 's e' }, problems);
    expect(problems).toEqual([]);
    expect(c).toEqual({
      host: 'a',
      port: 6000,
      hosts: [
        { host: 'a', port: 6000 },
        { host: 'b', port: 6000 },
      ],
      database: 'app',
      username: 'nilus',
      password: 's e',
      sslmode: 'disable',
      sslrootcert: undefined,
      connectTimeoutMs: 2000,
      targetSessionAttrs: 'read-write',
    });
  });

  it('keyword form: unknown keywords, missing ones and mismatched lists are named', () => {
    const problems: ConfigProblem[] = [];
    parsePgKeywords('host=a,b port=1,2,3 dbname=d user=u hostaddr=1.2.3.4', 'spec.sink.address', {}, problems);
    expect(problems.map((p) => p.path)).toEqual(['spec.sink.address (hostaddr)', 'spec.sink.address (port)']);
    const p2: ConfigProblem[] = [];
    expect(parsePgKeywords('host=a', 'f', {}, p2)).toBeUndefined();
    expect(p2[0]!.message).toMatch(/has no dbname, user/);
  });

  it('a connections-file entry: host list with one port or a port list', () => {
    expect(entryHosts('a,b', 5433, 'c.yaml: connections.pg', [])).toEqual({
      host: 'a',
      port: 5433,
      hosts: [
        { host: 'a', port: 5433 },
        { host: 'b', port: 5433 },
      ],
    });
    expect(entryHosts('a,b', '1,2', 'f', []).hosts).toEqual([
      { host: 'a', port: 1 },
      { host: 'b', port: 2 },
    ]);
    expect(entryHosts('a', 7, 'f', [])).toEqual({ host: 'a', port: 7 });
    const problems: ConfigProblem[] = [];
    entryHosts('a,b', '1,2,3', 'c.yaml: connections.pg', problems);
    expect(problems[0]!.message).toMatch(/could not match 3 port numbers to 2 hosts/);
  });
});

describe('a connections-file entry with several hosts', () => {
  it('host list, port list and target_session_attrs resolve; a bad value is named', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { loadConnectionsFile } = await import('../../../src/config/connections');
    const { resolvePg } = await import('../../../src/config/addresses');
    const path = join(mkdtempSync(join(tmpdir(), 'nilus-hosts-')), 'c.yaml');
    writeFileSync(
      path,
      'connections:\n  pg:\n    type: postgresql\n    host: db1,db2\n    port: "5432,5433"\n    database: d\n    username: u\n    password: p\n    target_session_attrs: read-write\n' +
        '  bad:\n    type: postgresql\n    host: db1,db2\n    port: "1,2,3"\n    database: d\n    username: u\n    password: p\n',
    );
    const f = await loadConnectionsFile(path);
    expect(await resolvePg('dataos://pg', 'spec.sink.address', f, {})).toMatchObject({
      host: 'db1',
      port: 5432,
      hosts: [
        { host: 'db1', port: 5432 },
        { host: 'db2', port: 5433 },
      ],
      targetSessionAttrs: 'read-write',
    });
    await expect(resolvePg('dataos://bad', 'spec.sink.address', f, {})).rejects.toMatchObject({
      problems: [expect.objectContaining({ path: `${path}: connections.bad (port)`, message: expect.stringMatching(/could not match 3 port numbers to 2 hosts/) })],
    });
  });
});
