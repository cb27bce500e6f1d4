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

  it('every example, the seed page\'s two included, validates with its dataos:// names resolved through config/connections.example.yaml', async () => {
    const files = readdirSync(examples).map((f) => join(examples, f));
    expect(files).toEqual(expect.arrayContaining([join(examples, 'seed-batch.yaml'), join(examples, 'seed-cdc.yaml')]));
    const r = await cli('validate', ...files, '--connections', join(__dirname, '../../../config/connections.example.yaml'));
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out.split('\n').filter((l) => l.startsWith('ok: '))).toHaveLength(files.length);
  });

  it("the seed page's CDC example as the page has it (no name/version/type) is refused: seed-cdc.yaml adds them", async () => {
    const { readFileSync } = require('node:fs') as typeof import('node:fs');
    const asOnThePage = readFileSync(join(examples, 'seed-cdc.yaml'), 'utf8')
      .split('\n')
      .filter((l) => !l.startsWith('#') && !/^(name|version|type):/.test(l))
      .join('\n');
    const f = join(dir, 'seed-cdc-as-on-the-page.yaml');
    writeFileSync(f, asOnThePage);
    const r = await cli('validate', f);
    expect(r.code).toBe(2);
    for (const key of ['name', 'version', 'type']) expect(r.err).toContain(`${f}:1:1: (document): missing required key "${key}"`);
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

  describe('validate --connections resolves every dataos:// name, offline', () => {
    // Secrets and CA files that do not exist and variables that are not set: validate reads none of them.
    const conns = join(dir, 'names.yaml');
    writeFileSync(conns, `connections:
  pg:
    type: postgresql
    host: db
    database: d
    username: u
    password: \${NILUS_UNSET_FOR_VALIDATE}
  src:
    type: postgresql
    host: src
    database: shop
    username: cdc
    password_file: /nonexistent/pg-password
    kafka: dataos://pg
  src-own-kafka:
    type: postgresql
    host: src
    database: shop
    username: cdc
    password: pw
    kafka: dataos://kafka-nope
  k:
    type: kafka
    brokers: \${NILUS_UNSET_BROKERS}
    tls:
      ca_file: /nonexistent/ca.pem
    connect_url: http://connect:8083
  my:
    type: mariadb
    host: m
    database: sales
    username: u
    password: p
`);
    const manifest = (name: string, source: string, sink: string, cdc = true, options = ''): string => {
      const text = `name: ${name}\nversion: v1alpha\ntype: nilus\nspec:\n  type: ${cdc ? 'cdc' : 'batch'}\n  source:\n    address: ${source}\n${options}${
        cdc ? '    cdc:\n      topic.prefix: shop\n      table.include.list: public.orders\n' : '    options:\n      source_table: sales.orders\n'
      }  sink:\n    address: ${sink}\n    options:\n      dest_table: analytics.orders\n      incremental_strategy: merge\n`;
      const p = join(dir, `${name}.yaml`);
      writeFileSync(p, text);
      return p;
    };

    it('names that resolve to the right types pass, without reading a variable, a secret file or the network', async () => {
      const files = [
        manifest('kafka-src', 'dataos://k', 'dataos://pg'),
        manifest('batch-maria', 'dataos://my', 'dataos://pg', false),
        manifest('managed-opts', 'dataos://src', 'dataos://pg', true, '    options:\n      kafka: dataos://k\n'),
      ];
      const r = await cli('validate', ...files, '--connections', conns);
      expect(r).toMatchObject({ code: 0, err: '' });
      expect(r.out.split('\n')).toEqual(files.map((f) => `ok: ${f}`));
    });

    it('an unknown name is placed where the manifest writes it, naming the field and the fix', async () => {
      const f = manifest('unknown-sink', 'dataos://k', 'dataos://pg-typo');
      expect((await cli('validate', f)).code).toBe(0); // without --connections, names are not checked
      const r = await cli('validate', f, '--connections', conns);
      expect(r.code).toBe(2);
      expect(r.err).toContain(
        `${f}:12:14: spec.sink.address: connection "pg-typo" is not in ${conns} (it has: pg, src, src-own-kafka, k, my): add a postgresql connection "pg-typo" to that file, or set spec.sink.address to dataos://NAME of one it has`,
      );
    });

    it('a name of the wrong type is placed at its type in the connections file, naming the manifest field and the fix', async () => {
      const r = await cli('validate', manifest('kafka-as-sink', 'dataos://k', 'dataos://k'), '--connections', conns);
      expect(r.code).toBe(2);
      expect(r.err).toContain(
        `${conns}:23:11: connections.k.type: connection "k" is type kafka, but spec.sink.address needs a postgresql connection: set spec.sink.address to dataos://NAME of a postgresql connection (${conns} has: pg, src, src-own-kafka)`,
      );
      const batch = await cli('validate', manifest('batch-from-kafka', 'dataos://k', 'dataos://pg', false), '--connections', conns);
      expect(batch.err).toMatch(/connections\.k\.type: connection "k" is type kafka, but spec\.source\.address needs a postgresql or mysql or mariadb connection: set spec\.source\.address to dataos:\/\/NAME of a postgresql or mysql or mariadb connection \(.* has: pg, src, src-own-kafka, my\)/);
    });

    it("a managed source's Kafka: spec.source.options.kafka, else the database connection's kafka, each must be a kafka connection", async () => {
      const viaEntry = await cli('validate', manifest('managed-entry', 'dataos://src', 'dataos://pg'), '--connections', conns);
      expect(viaEntry.code).toBe(2);
      expect(viaEntry.err).toContain(`${conns}:3:11: connections.pg.type: connection "pg" is type postgresql, but connections.src.kafka in ${conns} needs a kafka connection: set connections.src.kafka in ${conns} to dataos://NAME of a kafka connection (${conns} has: k)`);
      const unknownInFile = await cli('validate', manifest('managed-entry-unknown', 'dataos://src-own-kafka', 'dataos://pg'), '--connections', conns);
      expect(unknownInFile.err).toContain(`${conns}:21:12: connections.src-own-kafka.kafka: connection "kafka-nope" is not in ${conns} (it has: pg, src, src-own-kafka, k, my): add a kafka connection "kafka-nope" to that file, or set connections.src-own-kafka.kafka in ${conns} to dataos://NAME of one it has`);
      // options.kafka wins: the entry's kafka is then not used, so not checked
      expect((await cli('validate', manifest('managed-opts-wins', 'dataos://src-own-kafka', 'dataos://pg', true, '    options:\n      kafka: dataos://k\n'), '--connections', conns)).code).toBe(0);
      const badOption = await cli('validate', manifest('managed-opts-bad', 'dataos://src', 'dataos://pg', true, '    options:\n      kafka: dataos://nope\n'), '--connections', conns);
      expect(badOption.err).toMatch(/:9:14: spec\.source\.options\.kafka: connection "nope" is not in .*: add a kafka connection "nope" to that file/);
    });

    it('an unreadable connections file is one problem, exit 2', async () => {
      const r = await cli('validate', join(examples, 'cdc-merge.yaml'), '--connections', join(dir, 'none.yaml'));
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/none\.yaml: connections: cannot read the connections file/);
    });
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
