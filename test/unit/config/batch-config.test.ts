/** Batch configuration: MySQL connections, incremental options, schedules and their rules. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, type ConfigProblem } from '../../../src/kernel/errors';
import { buildConfig, parseManifest } from '../../../src/config';
import { loadConnectionsFile } from '../../../src/config/connections';
import { parseMysqlAddress, resolveSourceDatabase } from '../../../src/config/addresses';
import { DEFAULTS } from '../../../src/config/defaults';

const dir = mkdtempSync(join(tmpdir(), 'nilus-batch-conf-'));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function problems(text: string): readonly ConfigProblem[] {
  try {
    parseManifest(text);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

async function problemsOf(p: Promise<unknown>): Promise<readonly ConfigProblem[]> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

/** The seed page's batch example, with extra lines under source.options / sink.options / spec. */
const seed = (sourceOpts = '', sinkOpts = '', spec = '', strategy = 'replace'): string => `name: nilus-postgres-batch
version: v1alpha
type: nilus
spec:
  type: batch
  compute: universe-compute
  source:
    address: dataos://mysql-source
    options:
      source_table: sales.orders
${sourceOpts}  sink:
    address: dataos://postgres-destination
    options:
      dest_table: analytics.orders
      incremental_strategy: ${strategy}
${sinkOpts}${spec}`;

describe('mysql:// addresses', () => {
  it('parses every part, with MySQL ssl-mode in either case', () => {
    const out: ConfigProblem[] = [];
    const c = parseMysqlAddress('mysql://app:p%40ss@db.example.com:3307/sales?ssl-mode=VERIFY_IDENTITY&ssl-ca=/etc/ca.pem&connect_timeout=3', 'spec.source.address', {}, out);
    expect(out).toEqual([]);
    expect(c).toEqual({ host: 'db.example.com', port: 3307, database: 'sales', username: 'app', password: 'p@ss', sslMode: 'verify_identity', sslCa: '/etc/ca.pem', connectTimeoutMs: 3000 });
  });

  it('defaults: port 3306, ssl-mode preferred, 10 s timeout; mariadb:// is the same', () => {
    expect(parseMysqlAddress('mariadb://u@h/db', 'f', {}, [])).toEqual({ host: 'h', port: 3306, database: 'db', username: 'u', password: '', sslMode: 'preferred', connectTimeoutMs: 10000 });
  });

  it('names what is wrong: missing parts, bad ssl-mode, verify without a CA, unknown parameters', () => {
    const out: ConfigProblem[] = [];
    parseMysqlAddress('mysql://h:3306/', 'f', {}, out);
    expect(out[0]?.message).toMatch(/the URI has no database, username: expected mysql:\/\//);
    const more: ConfigProblem[] = [];
    parseMysqlAddress('mysql://u@h/db?ssl-mode=strict&sslrootcert=x', 'f', {}, more);
    expect(more.map((p) => p.message)).toEqual([
      expect.stringMatching(/unknown URI parameter "sslrootcert"/),
      expect.stringMatching(/ssl-mode must be one of disabled, preferred, required, verify_ca, verify_identity \(got "strict"\)/),
    ]);
    const ca: ConfigProblem[] = [];
    parseMysqlAddress('mysql://u@h/db?ssl-mode=verify_ca', 'f', {}, ca);
    expect(ca[0]?.message).toMatch(/verify_ca verifies the server against a CA: set ssl-ca/);
  });
});

describe('mysql connections in the connections file', () => {
  it('resolves type mysql and its alias mariadb, with password_file and ${ENV}', async () => {
    const pw = file('pw', 's3cret\n');
    const conns = await loadConnectionsFile(file('c1.yaml', `connections:
  mysql-source:
    type: mysql
    host: \${DBHOST}
    database: sales
    username: reader
    password_file: ${pw}
    ssl-mode: required
  maria:
    type: mariadb
    host: m
    port: "3310"
    database: d
    username: u
    password: x
`));
    expect(await resolveSourceDatabase('dataos://mysql-source', 'spec.source.address', conns, { DBHOST: 'mysql.internal' })).toEqual({
      kind: 'mysql',
      mysql: { host: 'mysql.internal', port: 3306, database: 'sales', username: 'reader', password: 's3cret', sslMode: 'required', connectTimeoutMs: 10000 },
    });
    expect(await resolveSourceDatabase('dataos://maria', 'f', conns, {})).toMatchObject({ kind: 'mysql', mysql: { host: 'm', port: 3310 } });
  });

  it('refuses a kafka connection as a batch source and a missing password', async () => {
    const conns = await loadConnectionsFile(file('c2.yaml', `connections:
  k:
    type: kafka
    brokers: h:9092
  nopw:
    type: mysql
    host: h
    database: d
    username: u
`));
    expect((await problemsOf(resolveSourceDatabase('dataos://k', 'spec.source.address', conns, {})))[0]?.message).toMatch(/is type kafka, but spec.source.address needs a postgresql or mysql or mariadb connection/);
    expect((await problemsOf(resolveSourceDatabase('dataos://nopw', 'spec.source.address', conns, {})))[0]?.message).toMatch(/password is required/);
  });

  it('validates the entry shape: an unknown key is named', async () => {
    expect((await problemsOf(loadConnectionsFile(file('c3.yaml', 'connections:\n  m:\n    type: mysql\n    host: h\n    database: d\n    username: u\n    sslmode: require\n'))))[0]?.message).toMatch(/sslmode/);
  });
});

describe('batch manifest options', () => {
  it('the seed example is valid as written', () => {
    expect(problems(seed())).toEqual([]);
  });

  it('builds the incremental options, the Nilus primary_key spelling and a schedule with defaults', async () => {
    const text = seed('      incremental_key: updated_at\n      primary_key: [id, region]\n      interval_start: "2024-01-01"\n      page_size: 2000\n', '', '  schedule:\n    crons: ["*/5 * * * *"]\n', 'merge');
    const conns = await loadConnectionsFile(file('c4.yaml', 'connections:\n  mysql-source:\n    type: mysql\n    host: h\n    database: sales\n    username: u\n    password: ""\n  postgres-destination:\n    type: postgresql\n    host: p\n    database: d\n    username: u\n    password: ""\n'));
    const cfg = await buildConfig(parseManifest(text).manifest, conns, {});
    expect(cfg.batch).toMatchObject({ sourceTable: { schema: 'sales', table: 'orders' }, incrementalKey: 'updated_at', intervalStart: '2024-01-01', pageSize: 2000, progressIntervalMs: 5000, tinyint1AsBoolean: true, db: { kind: 'mysql' } });
    expect(cfg.batch?.intervalEnd).toBeUndefined();
    expect(cfg.sink.options.primaryKey).toEqual(['id', 'region']);
    expect(cfg.schedule).toEqual({ crons: ['*/5 * * * *'], timezone: 'UTC', concurrencyPolicy: 'Forbid' });
  });

  it('refuses contradictions, each with its path', () => {
    const p = problems(seed('      primary_key: id\n      interval_end: 100\n', '      primary_key: id\n', '', 'merge'));
    expect(p).toEqual(expect.arrayContaining([
      expect.objectContaining({ path: 'spec.source.options.primary_key', message: expect.stringMatching(/set in both spec.source.options and spec.sink.options/) }),
      expect.objectContaining({ path: 'spec.source.options.interval_end', message: expect.stringMatching(/bounds the cursor column: set incremental_key too/) }),
    ]));
    expect(problems(seed('      incremental_key: id\n      interval_start: 500\n      interval_end: 100\n', '', '', 'append'))[0]?.message).toMatch(/interval_end \(100\) must be after interval_start \(500\)/);
    expect(problems(seed('      incremental_key: d\n      interval_start: "2024-02-01"\n      interval_end: "2024-01-01"\n', '', '', 'append'))).toHaveLength(1);
    expect(problems(seed('', '', '  schedule:\n    crons: []\n'))[0]?.path).toMatch(/spec.schedule.crons/);
    expect(problems(seed('', '', '  schedule:\n    crons: ["* * * * *"]\n    concurrencyPolicy: Sometimes\n'))[0]?.path).toMatch(/spec.schedule.concurrencyPolicy/);
    const bad = problems(seed('', '', '  schedule:\n    crons: ["0 2 * * *", "61 * * * *"]\n    timezone: Mars/Olympus\n'));
    expect(bad.map((x) => x.path.replace(/ \(.*$/, ''))).toEqual(['spec.schedule.timezone', 'spec.schedule.crons[1]']);
    expect(bad[1]?.message).toMatch(/cron "61 \* \* \* \*"/);
  });

  it('warns that replace ignores the cursor', () => {
    const { warnings } = parseManifest(seed('      incremental_key: updated_at\n'));
    expect(warnings[0]?.message).toMatch(/replace reloads the whole table on every run, so incremental_key .* are ignored/);
  });

  it('keeps batch-only options and schedules out of cdc pipelines', () => {
    const cdc = `name: c\nversion: v1alpha\ntype: nilus\nspec:\n  type: cdc\n  source:\n    address: kafka://h:9092\n    options:\n      incremental_key: id\n      primary_key: id\n    cdc:\n      topic.prefix: p\n      table.include.list: "a.b"\n  sink:\n    address: dataos://pg\n    options:\n      dest_table: a.b\n      incremental_strategy: merge\n  schedule:\n    crons: ["* * * * *"]\n`;
    expect(problems(cdc).map((x) => `${x.path}: ${x.message}`)).toEqual(expect.arrayContaining([
      expect.stringMatching(/^spec.source.options.incremental_key: incremental_key is for batch pipelines/),
      expect.stringMatching(/^spec.source.options.primary_key: in a cdc pipeline primary_key goes in spec.sink.options/),
      expect.stringMatching(/^spec.schedule: spec.schedule is for batch pipelines/),
    ]));
  });
});

describe('memory budget and flush size', () => {
  const cfgOf = async (sinkOpts: string) => {
    const conns = await loadConnectionsFile(file('c5.yaml', 'connections:\n  mysql-source:\n    type: mysql\n    host: h\n    database: sales\n    username: u\n    password: ""\n  postgres-destination:\n    type: postgresql\n    host: p\n    database: d\n    username: u\n    password: ""\n'));
    return buildConfig(parseManifest(seed('', sinkOpts)).manifest, conns, {});
  };

  it('a small budget without batch.max_bytes flushes at half the budget; set values are kept', async () => {
    expect((await cfgOf('      memory_budget_bytes: 16777216\n')).buffer).toMatchObject({ memoryBudgetBytes: 16777216, maxBytes: 8388608 });
    expect((await cfgOf('')).buffer).toMatchObject({ memoryBudgetBytes: 64 * 2 ** 20, maxBytes: 32 * 2 ** 20 });
    expect((await cfgOf('      memory_budget_bytes: 536870912\n')).buffer.maxBytes).toBe(32 * 2 ** 20);
    expect((await cfgOf('      memory_budget_bytes: 16777216\n      batch.max_bytes: 12000000\n')).buffer.maxBytes).toBe(12000000);
  });

  it('batch.max_bytes above the budget in effect is refused, the default budget included, naming both fields and the fix', async () => {
    const budget = DEFAULTS.buffer.memoryBudgetBytes;
    // explicit budget below max_bytes
    expect(problems(seed('', '      memory_budget_bytes: 16777216\n      batch.max_bytes: 20000000\n'))).toEqual([
      expect.objectContaining({ path: 'spec.sink.options.batch.max_bytes', message: 'batch.max_bytes (20000000) must not exceed memory_budget_bytes (16777216): a flush could never be reached before fetching pauses. Lower batch.max_bytes to at most 16777216, or set memory_budget_bytes to at least 20000000' }),
    ]);
    // no budget set: the default budget is the one in effect
    expect(problems(seed('', `      batch.max_bytes: ${budget + 1}\n`))).toEqual([
      expect.objectContaining({ path: 'spec.sink.options.batch.max_bytes', message: `batch.max_bytes (${budget + 1}) must not exceed memory_budget_bytes (unset: the default, ${budget}): a flush could never be reached before fetching pauses. Lower batch.max_bytes to at most ${budget}, or set memory_budget_bytes to at least ${budget + 1}` }),
    ]);
    // up to the budget is fine, and a raised budget takes a larger max_bytes
    expect((await cfgOf(`      batch.max_bytes: ${budget}\n`)).buffer).toMatchObject({ maxBytes: budget, memoryBudgetBytes: budget });
    expect((await cfgOf(`      memory_budget_bytes: ${2 * budget}\n      batch.max_bytes: ${budget + 1}\n`)).buffer.maxBytes).toBe(budget + 1);
  });

  it('on_offset_gap is refused in a batch pipeline: it reads no Kafka offsets', () => {
    expect(problems(seed('', '      on_offset_gap: skip\n'))).toEqual([
      expect.objectContaining({ path: 'spec.sink.options.on_offset_gap', message: 'on_offset_gap is for cdc pipelines (spec.type: cdc): a batch run reads no Kafka offsets' }),
    ]);
  });

  it('decode_threads: unset by default, kept when set, refused outside 0–16 naming the field', async () => {
    expect((await cfgOf('')).sink.options.decodeThreads).toBeUndefined();
    expect((await cfgOf('      decode_threads: 0\n')).sink.options.decodeThreads).toBe(0);
    expect((await cfgOf('      decode_threads: 2\n')).sink.options.decodeThreads).toBe(2);
    for (const bad of ['-1', '17', '1.5', '"two"']) {
      expect(problems(seed('', `      decode_threads: ${bad}\n`)).map((x) => x.path)).toEqual(['spec.sink.options.decode_threads']);
    }
  });
});

describe('statement and lock timeouts', () => {
  const cfgOf = async (sinkOpts: string) => {
    const conns = await loadConnectionsFile(file('c6.yaml', 'connections:\n  mysql-source:\n    type: mysql\n    host: h\n    database: sales\n    username: u\n    password: ""\n  postgres-destination:\n    type: postgresql\n    host: p\n    database: d\n    username: u\n    password: ""\n'));
    return buildConfig(parseManifest(seed('', sinkOpts)).manifest, conns, {});
  };

  it('are read from the sink options, with the defaults when unset', async () => {
    expect((await cfgOf('      statement_timeout_ms: 600000\n      lock_timeout_ms: 5000\n')).sink.options).toMatchObject({ statementTimeoutMs: 600000, lockTimeoutMs: 5000 });
    expect((await cfgOf('')).sink.options).toMatchObject({ statementTimeoutMs: DEFAULTS.sink.statementTimeoutMs, lockTimeoutMs: DEFAULTS.sink.lockTimeoutMs });
  });

  it('a lock timeout above the statement timeout in effect is refused, the default included', () => {
    expect(problems(seed('', '      statement_timeout_ms: 10000\n      lock_timeout_ms: 20000\n'))).toEqual([
      expect.objectContaining({ path: 'spec.sink.options.lock_timeout_ms', message: expect.stringMatching(/^lock_timeout_ms \(20000\) must not exceed statement_timeout_ms \(10000\): /) }),
    ]);
    expect(problems(seed('', `      lock_timeout_ms: ${DEFAULTS.sink.statementTimeoutMs + 1}\n`))).toEqual([
      expect.objectContaining({ path: 'spec.sink.options.lock_timeout_ms', message: expect.stringContaining(`statement_timeout_ms (unset: the default, ${DEFAULTS.sink.statementTimeoutMs})`) }),
    ]);
  });

  it('below their minimum are refused by the schema', () => {
    expect(problems(seed('', '      statement_timeout_ms: 10\n')).map((p) => p.path)).toEqual(['spec.sink.options.statement_timeout_ms']);
    expect(problems(seed('', '      lock_timeout_ms: 0\n')).map((p) => p.path)).toEqual(['spec.sink.options.lock_timeout_ms']);
  });
});
