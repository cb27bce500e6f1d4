import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../../src/kernel/errors';
import { loadConnectionsFile, substituteEnv } from '../../../src/config/connections';
import { parsePgAddress, resolveKafka, resolvePg } from '../../../src/config/addresses';

const dir = mkdtempSync(join(tmpdir(), 'nilus-conn-'));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

async function problemsOf(p: Promise<unknown>): Promise<ConfigError['problems']> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('postgresql:// addresses', () => {
  it('parses every part, with libpq query parameters', () => {
    const problems: ConfigError['problems'][number][] = [];
    const c = parsePgAddress('postgresql://nilus:p%40ss@db.example.com:6543/analytics?sslmode=verify-full&sslrootcert=/etc/ca.pem&connect_timeout=3', 'spec.sink.address', {}, problems);
    expect(problems).toEqual([]);
    expect(c).toEqual({ host: 'db.example.com', port: 6543, database: 'analytics', username: 'nilus', password: 'p@ss', sslmode: 'verify-full', sslrootcert: '/etc/ca.pem', connectTimeoutMs: 3000 });
  });

  it('applies defaults: port 5432, sslmode unset (= prefer), 10 s timeout, empty password', () => {
    const problems: ConfigError['problems'][number][] = [];
    expect(parsePgAddress('postgresql://u@h/db', 'f', {}, problems)).toEqual({ host: 'h', port: 5432, database: 'db', username: 'u', password: '', sslmode: undefined, sslrootcert: undefined, connectTimeoutMs: 10000 });
  });

  it('substitutes ${ENV} URL-encoded so any password survives', () => {
    const c = parsePgAddress('postgresql://u:${PGPW}@h:5432/db', 'f', { PGPW: 'a@b/c:d' }, []);
    expect(c?.password).toBe('a@b/c:d');
  });

  it('names the field for a missing variable, a bad sslmode and a missing database', () => {
    const problems: ConfigError['problems'][number][] = [];
    parsePgAddress('postgresql://u:${NOPE}@h/db?sslmode=on', 'spec.sink.address', {}, problems);
    expect(problems.map((p) => p.path)).toEqual(['spec.sink.address', 'spec.sink.address (sslmode)']);
    expect(problems[0].message).toMatch(/environment variable NOPE is not set/);
    expect(problems[1].message).toMatch(/sslmode must be one of disable, allow, prefer, require, verify-ca, verify-full \(got "on"\)/);
    const p2: ConfigError['problems'][number][] = [];
    expect(parsePgAddress('postgresql://u@h', 'f', {}, p2)).toBeUndefined();
    expect(p2[0].message).toMatch(/the URI has no database/);
  });

  it('substituteEnv leaves text without references alone', () => {
    expect(substituteEnv('plain $HOME text', {}, 'f', [])).toBe('plain $HOME text');
  });
});

describe('connections file', () => {
  const pwFile = file('pw.txt', 's3cret\n');
  const conns = file(
    'conns.yaml',
    `connections:
  pg:
    type: postgresql
    host: \${PG_HOST}
    database: analytics
    username: nilus
    password_file: ${pwFile}
    sslmode: require
  pg-env:
    type: postgresql
    host: h
    port: "6000"
    database: d
    username: u
    password: \${PG_PW}
  nopw:
    type: postgresql
    host: h
    database: d
    username: u
  kafka:
    type: kafka
    brokers: "k1:9092, k2:9093"
    client_id: me
    sasl: { mechanism: scram-sha-512, username: svc, password: "\${KPW}" }
    tls: { ca_file: ${pwFile}, reject_unauthorized: false }
`,
  );

  it('resolves dataos://NAME with ${ENV}, password_file and defaults', async () => {
    const f = await loadConnectionsFile(conns);
    const pg = await resolvePg('dataos://pg', 'spec.sink.address', f, { PG_HOST: 'db.internal' });
    expect(pg).toEqual({ host: 'db.internal', port: 5432, database: 'analytics', username: 'nilus', password: 's3cret', sslmode: 'require', sslrootcert: undefined, connectTimeoutMs: 10000 });
    const pg2 = await resolvePg('dataos://pg-env', 'spec.sink.address', f, { PG_PW: 'x' });
    expect([pg2.port, pg2.password]).toEqual([6000, 'x']);
  });

  it('requires a password, names unknown connections and wrong types', async () => {
    const f = await loadConnectionsFile(conns);
    expect((await problemsOf(resolvePg('dataos://nopw', 'spec.sink.address', f, {})))[0].message).toMatch(/password is required/);
    expect((await problemsOf(resolvePg('dataos://pgg', 'spec.sink.address', f, {})))[0].message).toBe(`connection "pgg" is not in ${conns} (it has: pg, pg-env, nopw, kafka): add a postgresql connection "pgg" to that file, or set spec.sink.address to dataos://NAME of one it has`);
    const wrong = await problemsOf(resolvePg('dataos://kafka', 'spec.sink.address', f, {}));
    expect(wrong[0]).toMatchObject({ line: 22, col: 11 });
    expect(wrong[0].message).toMatch(/is type kafka, but spec.sink.address needs a postgresql connection/);
    expect((await problemsOf(resolvePg('dataos://pg', 'spec.sink.address', undefined, {})))[0].message).toMatch(/needs a connections file: pass --connections <file> or set NILUS_CONNECTIONS/);
  });

  it('resolves Kafka: brokers, SASL, TLS CA file, and NILUS_KAFKA_BROKERS override', async () => {
    const f = await loadConnectionsFile(conns);
    const k = await resolveKafka('dataos://kafka', 'spec.source.address', f, { KPW: 'kp' });
    expect(k).toEqual({ brokers: ['k1:9092', 'k2:9093'], clientId: 'me', ssl: { ca: 's3cret\n', rejectUnauthorized: false }, sasl: { mechanism: 'scram-sha-512', username: 'svc', password: 'kp' } });
    const o = await resolveKafka('kafka://a:1,b:2', 'spec.source.address', undefined, { NILUS_KAFKA_BROKERS: 'c:3' });
    expect(o.brokers).toEqual(['c:3']);
    expect((await resolveKafka('kafka://a:1,b:2', 'f', undefined, {})).brokers).toEqual(['a:1', 'b:2']);
    expect((await problemsOf(resolveKafka('kafka://a', 'spec.source.address', undefined, {})))[0].message).toBe('broker "a" must be host:port');
  });

  it('validates the file with its schema: unknown keys with hints and positions', async () => {
    const bad = file('bad.yaml', 'connections:\n  pg:\n    type: postgresql\n    host: h\n    databse: d\n    username: u\n    sslmode: maybe\n');
    const p = await problemsOf(loadConnectionsFile(bad));
    const text = p.map((x) => `${x.path}@${x.line}:${x.col} ${x.message}`);
    expect(text).toEqual(
      expect.arrayContaining([
        `${bad}: connections.pg.databse@5:5 unknown key "databse"; did you mean "database"?`,
        `${bad}: connections.pg@3:5 missing required key "database"`,
        expect.stringMatching(/connections\.pg\.sslmode@7:14 must be one of "disable"/),
      ]),
    );
    expect((await problemsOf(loadConnectionsFile(join(dir, 'missing.yaml'))))[0].message).toMatch(/cannot read the connections file/);
  });
});
