import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, DataError } from '../../../src/kernel/errors';
import { loadConfig, maskConfig, maskUri, requirePrimaryKey, resolveDestTable, tableSelected, DEFAULTS } from '../../../src/config';
import { loadSchema } from '../../../src/config/schema-check';
import { canMatchSeveral, parseTableName } from '../../../src/config/names';
import { closest } from '../../../src/config/hints';
import { Registry } from 'prom-client';
import { startHttpServer } from '../../../src/observe/http';

const dir = mkdtempSync(join(tmpdir(), 'nilus-cfg-'));
function write(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const manifest = (extra = ''): string => `name: orders-cdc
version: v1alpha
type: nilus
spec:
  type: cdc
  source:
    address: kafka://k:9092
    cdc:
      topic.prefix: shop
      table.include.list: "public\\\\.order.*"
  sink:
    address: postgresql://nilus:\${PG_PW}@db:5432/analytics?sslmode=require
    options:
      dest_table: analytics.{table}
      incremental_strategy: merge
${extra}`;

describe('loadConfig', () => {
  it('schema_change is left unset (errors.tolerance decides, as before) unless the manifest sets it', async () => {
    expect((await loadConfig(write('sc0.yaml', manifest()), { env: { PG_PW: 'x' } })).sink.options.schemaChange).toBeUndefined();
    expect((await loadConfig(write('sc1.yaml', manifest('      schema_change: variant\n')), { env: { PG_PW: 'x' } })).sink.options.schemaChange).toBe('variant');
  });
  it('builds the effective config with every default', async () => {
    const cfg = await loadConfig(write('a.yaml', manifest()), { env: { PG_PW: 'hunter2' } });
    expect(cfg.cdc?.groupId).toBe('nilus-pg.orders-cdc');
    expect(cfg.cdc?.topicRefreshMs).toBe(DEFAULTS.cdc.topicRefreshMs);
    expect(cfg.cdc?.fromBeginning).toBe(true);
    expect(cfg.buffer).toEqual({ maxRows: 25000, maxBytes: 32 * 1024 * 1024, maxAgeMs: 250, flushWhenCaughtUp: true, memoryBudgetBytes: 64 * 1024 * 1024 });
    expect(cfg.errors).toEqual({ tolerance: 'none', retry: { maxAttempts: Infinity, initialMs: 200, maxMs: 30000 } });
    expect(cfg.observe).toEqual({ httpPort: 9464, logLevel: 'info', flushLogIntervalMs: 10000 });
    expect(cfg.sink.options).toEqual({ destTable: 'analytics.{table}', strategy: 'merge', autoCreate: true, autoEvolve: true, mongoMode: 'flatten', staleGuard: false, onOffsetGap: 'stop', statementTimeoutMs: 300000, lockTimeoutMs: 60000 });
    expect(cfg.sink.pg.password).toBe('hunter2');
    expect(Object.isFrozen(cfg.sink.options)).toBe(true);
    expect(tableSelected(cfg.cdc!, { schema: 'public', table: 'orders' })).toBe(true);
    expect(tableSelected(cfg.cdc!, { schema: 'public', table: 'xorders' })).toBe(false);
  });

  it('maps every option and reports connection problems with manifest problems', async () => {
    const cfg = await loadConfig(
      write('b.yaml', manifest('      primary_key: id\n      errors.tolerance: all\n      errors.deadletter.table: ops.dlq\n      batch.max_rows: 7\n      http_port: 0\n')),
      { env: { PG_PW: 'x', NILUS_KAFKA_BROKERS: 'c:1' } },
    );
    expect(cfg.sink.options.primaryKey).toEqual(['id']);
    expect(cfg.errors.deadLetter).toEqual({ kind: 'table', table: { schema: 'ops', table: 'dlq' } });
    expect([cfg.buffer.maxRows, cfg.observe.httpPort, cfg.cdc?.kafka.brokers]).toEqual([7, 0, ['c:1']]);
    await expect(loadConfig(write('c.yaml', manifest()), { env: {} })).rejects.toThrow(/environment variable PG_PW is not set/);
  });

  it('on_offset_gap: stop by default, skip when set, anything else refused naming the field', async () => {
    const env = { PG_PW: 'x' };
    expect((await loadConfig(write('gap-default.yaml', manifest()), { env })).sink.options.onOffsetGap).toBe('stop');
    expect((await loadConfig(write('gap-skip.yaml', manifest('      on_offset_gap: skip\n')), { env })).sink.options.onOffsetGap).toBe('skip');
    const err = await loadConfig(write('gap-bad.yaml', manifest('      on_offset_gap: ignore\n')), { env }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.map((p) => p.path)).toEqual(['spec.sink.options.on_offset_gap']);
  });

  it('masks passwords everywhere and keeps the rest readable', async () => {
    const cfg = await loadConfig(write('d.yaml', manifest()), { env: { PG_PW: 'hunter2' } });
    const masked = maskConfig(cfg);
    const text = JSON.stringify(masked);
    expect(text).not.toContain('hunter2');
    expect((masked.sink as { pg: { password: string } }).pg.password).toBe('****');
    expect((masked.cdc as { include: string[] }).include).toEqual(['^(?:public\\.order.*)$']);
    expect(maskUri('postgresql://u:hunter2@h/db')).toBe('postgresql://u:****@h/db');
  });
});

describe('requirePrimaryKey', () => {
  const cfgWith = async (extra: string) => loadConfig(write(`pk${extra.length}.yaml`, manifest(extra)), { env: { PG_PW: 'x' } });
  it('prefers the declared key, then the event key', async () => {
    expect(requirePrimaryKey(await cfgWith('      primary_key: [a, b]\n'), ['id'], 'public.t')).toEqual(['a', 'b']);
    expect(requirePrimaryKey(await cfgWith(''), ['id'], 'public.t')).toEqual(['id']);
  });
  it('a merge event without any key is a DataError naming the record, the resolved target and the seed resolution', async () => {
    const cfg = await cfgWith('');
    let err: unknown;
    try {
      requirePrimaryKey(cfg, [], { schema: 'public', table: 'orders' }, { pos: { topic: 'cdc.public.orders', partition: 3, offset: '41' } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DataError);
    expect((err as DataError).where).toEqual({ topic: 'cdc.public.orders', partition: 3, offset: '41' });
    expect((err as Error).message).toMatch(/this event of public\.orders into "analytics"\."orders": it carries no key.*Add `primary_key` to the manifest's dataset spec/);
    expect((err as Error).message).toContain('(topic cdc.public.orders, partition 3, offset 41)');
  });
  it('fills dest_table placeholders rather than printing the template', async () => {
    const cfg = { ...(await cfgWith('')) };
    const templated = { ...cfg, sink: { ...cfg.sink, options: { ...cfg.sink.options, destTable: 'mirror.{schema}_{table}' } } };
    expect(() => requirePrimaryKey(templated, [], 'sales.orders')).toThrow(/into "mirror"\."sales_orders"/);
    expect(() => requirePrimaryKey(templated, [], 'sales.orders')).not.toThrow(/\{table\}/);
  });
});

describe('names', () => {
  it('parses <schema>.<table>, quoted parts, and refuses other shapes', () => {
    expect(parseTableName('analytics.orders')).toEqual({ schema: 'analytics', table: 'orders' });
    expect(parseTableName('Analytics."Order.Lines"')).toEqual({ schema: 'Analytics', table: 'Order.Lines' });
    expect(parseTableName('a."x""y"')).toEqual({ schema: 'a', table: 'x"y' });
    for (const bad of ['orders', 'a.b.c', '.t', 'a.', 'a."b']) expect(typeof parseTableName(bad)).toBe('string');
  });
  it('fills placeholders with the source names, case kept', () => {
    expect(resolveDestTable('raw_{schema}.{table}', { schema: 'public', table: 'Orders' })).toEqual({ schema: 'raw_public', table: 'Orders' });
    expect(resolveDestTable('analytics.orders', { schema: 'public', table: 'x' })).toEqual({ schema: 'analytics', table: 'orders' });
  });
  it('tells single-table include lists from multi-table ones', () => {
    expect(canMatchSeveral('retail.orders')).toBe(false);
    expect(canMatchSeveral('retail\\.orders')).toBe(false);
    expect(canMatchSeveral('retail.orders,retail.items')).toBe(true);
    expect(canMatchSeveral('retail\\..*')).toBe(true);
    expect(canMatchSeveral(undefined)).toBe(true);
  });
  it('suggests near keys only', () => {
    expect(closest('dest-table', ['dest_table', 'primary_key'])).toBe('dest_table');
    expect(closest('zzzzzz', ['dest_table'])).toBeUndefined();
  });
});

describe('schema and defaults agree', () => {
  it('every schema default equals src/config/defaults.ts', () => {
    const opts = (loadSchema('manifest') as any).properties.spec.properties.sink.properties.options.properties;
    const cdc = (loadSchema('manifest') as any).properties.spec.properties.source.properties.cdc.properties;
    expect([opts.auto_create.default, opts.auto_evolve.default, opts.mongo_mode.default, opts.stale_guard.default, opts.on_offset_gap.default]).toEqual([
      DEFAULTS.sink.autoCreate, DEFAULTS.sink.autoEvolve, DEFAULTS.sink.mongoMode, DEFAULTS.sink.staleGuard, DEFAULTS.sink.onOffsetGap,
    ]);
    expect([opts.statement_timeout_ms.default, opts.lock_timeout_ms.default]).toEqual([DEFAULTS.sink.statementTimeoutMs, DEFAULTS.sink.lockTimeoutMs]);
    expect([opts['batch.max_rows'].default, opts['batch.max_bytes'].default, opts['batch.max_age_ms'].default, opts.memory_budget_bytes.default]).toEqual([
      DEFAULTS.buffer.maxRows, DEFAULTS.buffer.maxBytes, DEFAULTS.buffer.maxAgeMs, DEFAULTS.buffer.memoryBudgetBytes,
    ]);
    expect([opts['errors.tolerance'].default, opts['errors.retry.initial_ms'].default, opts['errors.retry.max_ms'].default]).toEqual([
      DEFAULTS.errors.tolerance, DEFAULTS.errors.retryInitialMs, DEFAULTS.errors.retryMaxMs,
    ]);
    // No number in the schema: unset means retried until it works.
    expect(opts['errors.retry.max_attempts'].default).toBeUndefined();
    expect(DEFAULTS.errors.retryMaxAttempts).toBe(Infinity);
    expect([opts.http_port.default, opts.log_level.default, opts.flush_log_interval_ms.default]).toEqual([DEFAULTS.observe.httpPort, DEFAULTS.observe.logLevel, DEFAULTS.observe.flushLogIntervalMs]);
    expect([cdc['topic.refresh.ms'].default, cdc['auto.offset.reset'].default, cdc['session.timeout.ms'].default, cdc['heartbeat.interval.ms'].default]).toEqual([
      DEFAULTS.cdc.topicRefreshMs, DEFAULTS.cdc.autoOffsetReset, DEFAULTS.cdc.sessionTimeoutMs, DEFAULTS.cdc.heartbeatIntervalMs,
    ]);
    // topic.refresh.ms has a second default, for managed sources (src/config/load.ts): the reference states both.
    expect(cdc['topic.refresh.ms']['x-default-text']).toBe(`\`${DEFAULTS.cdc.topicRefreshMs}\`; \`${DEFAULTS.managed.topicRefreshMs}\` for a managed source`);
    expect(cdc['topic.refresh.ms'].description).toContain(`Unset: ${DEFAULTS.cdc.topicRefreshMs} with a Kafka address, ${DEFAULTS.managed.topicRefreshMs} for a managed source`);
  });

  it('http_port 0 is described as the code treats it: any free port, logged at start', async () => {
    const desc = (loadSchema('manifest') as any).properties.spec.properties.sink.properties.options.properties.http_port.description as string;
    expect(desc).toMatch(/0 = any free port, logged at start/);
    expect(desc).not.toMatch(/\boff\b/);
    const server = await startHttpServer({ port: 0, host: '127.0.0.1', registry: new Registry(), health: () => ({}) as never });
    try {
      expect(server.port).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });

  it('docs/manifest.md and the README carry the reference generated from the current schema', () => {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const gen = require('../../../scripts/gen-manifest-doc.js') as { update(doc: string): string; render(): string; DOCS: string[] };
    expect(gen.DOCS.length).toBe(2);
    for (const file of gen.DOCS) {
      const doc = require('node:fs').readFileSync(file, 'utf8') as string;
      expect(gen.update(doc)).toBe(doc);
    }
    // The connections reference: one section per entry type, named, each with type required (the schema requires it of every entry).
    const conns = gen.render().split('### Connections file entries')[1]!;
    expect(conns).not.toContain('undefined');
    expect([...conns.matchAll(/^\*\*type: (.*)\*\*$/gm)].map((m) => m[1])).toEqual(['postgresql', 'kafka', 'mysql or mariadb']);
    const typeRows = conns.split('\n').filter((l) => l.startsWith('| `type` |'));
    expect(typeRows).toHaveLength(3);
    for (const row of typeRows) expect(row.split(' | ')[2]).toBe('yes');
  });
});
