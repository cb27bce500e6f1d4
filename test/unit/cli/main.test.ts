import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../../src/cli/main';
import { loadConfig } from '../../../src/config';
import { matchingTopics, neededTablePrivileges } from '../../../src/cli/check';

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const examples = join(__dirname, '../../../config/examples');
const dir = mkdtempSync(join(tmpdir(), 'nilus-cli-'));

describe('nilus-pg CLI', () => {
  it('validate accepts several files and passes every example', async () => {
    const files = readdirSync(examples).map((f) => join(examples, f));
    const r = await cli('validate', ...files);
    expect(r.code).toBe(0);
    expect(r.out.split('\n').filter((l) => l.startsWith('ok: '))).toHaveLength(files.length);
  });

  it('the compose and demo manifests validate and resolve through their connections files', async () => {
    const config = join(__dirname, '../../../config');
    const pairs = [
      [join(config, 'manifest.yaml'), join(config, 'connections.yaml')],
      [join(config, 'demo/orders-cdc.yaml'), join(config, 'demo/connections.yaml')],
    ];
    for (const [m, c] of pairs) {
      expect((await cli('validate', m)).code).toBe(0);
      const env = { POSTGRES_PASSWORD: 'pw', NILUS_DEMO_PG_PORT: '55432', NILUS_DEMO_KAFKA: '127.0.0.1:9092', NILUS_DEMO_CONNECT: 'http://127.0.0.1:8083' };
      const cfg = await loadConfig(m, { connectionsPath: c, env });
      expect(cfg.cdc?.kafka.brokers.length).toBeGreaterThan(0);
      expect(cfg.sink.pg.database).toBe('nilus_target');
    }
    // the demo is a managed source: its manifest names the source database
    const demo = await loadConfig(pairs[1][0], { connectionsPath: pairs[1][1], env: { NILUS_DEMO_PG_PORT: '55432', NILUS_DEMO_KAFKA: '127.0.0.1:9092', NILUS_DEMO_CONNECT: 'http://127.0.0.1:8083' } });
    expect(demo.cdc?.managed).toMatchObject({ connectorName: 'nilus-orders-demo', connectUrl: 'http://127.0.0.1:8083', db: { database: 'nilus_source' } });
  });

  it('validate lists every problem as file:line:col and exits 2', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'name: x\nversion: v1alpha\ntype: nilus\nspec:\n  type: cdc\n  source:\n    address: kafka://k:1\n    cdc:\n      topic.prefix: p\n      table.include.list: a.b\n  sink:\n    address: dataos://pg\n    options:\n      dest_table: orders\n      incremental_strategy: replace\n');
    const r = await cli('validate', bad, join(examples, 'cdc-merge.yaml'));
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${bad}:14:19: spec.sink.options.dest_table: dest_table must be \`<schema>.<table>\``);
    expect(r.err).toContain(`${bad}:15:29: spec.sink.options.incremental_strategy: replace is for batch pipelines only`);
    expect(r.err).toContain('1 of 2 manifest(s) invalid');
    expect(r.out).toContain('ok: ');
  });

  it('prints help per command, the version, and refuses unknown commands', async () => {
    expect((await cli('--help')).out).toMatch(/^Usage: nilus-pg <command>/);
    expect((await cli('check', '--help')).out).toMatch(/^Usage: nilus-pg check <manifest.yaml> \[--connections <file>\]/);
    expect((await cli('run', '--help')).out).toMatch(/^Usage: nilus-pg run/);
    expect(await cli('--version')).toMatchObject({ code: 0, out: require('../../../package.json').version });
    expect(await cli('frobnicate')).toMatchObject({ code: 2, err: expect.stringMatching(/unknown command "frobnicate"/) });
    expect((await cli('check')).code).toBe(2);
    expect((await cli('validate', '--bogus')).code).toBe(2);
  });

  it('check reports a config problem (missing connections file) with exit 2, before connecting', async () => {
    const r = await cli('check', join(examples, 'cdc-merge.yaml'), '--connections', join(dir, 'none.yaml'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/cannot read the connections file/);
  });

  it('knows the privileges each strategy needs', () => {
    expect(neededTablePrivileges('append')).toEqual(['INSERT', 'SELECT']);
    expect(neededTablePrivileges('merge')).toEqual(['INSERT', 'UPDATE', 'DELETE', 'SELECT']);
  });

  it('matches topics <prefix>.<schema>.<table> through the include list', () => {
    const cdc = { topicPrefix: 'shop', include: [/^(?:public\.orders)$/], exclude: [] } as never;
    expect(matchingTopics(cdc, ['shop.public.orders', 'shop.public.items', 'shopx.public.orders', 'shop', '__consumer_offsets'])).toEqual(['shop.public.orders']);
  });
});
