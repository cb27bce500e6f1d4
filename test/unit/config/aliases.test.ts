import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, type ConfigProblem } from '../../../src/kernel/errors';
import { loadConfig } from '../../../src/config';
import { parseManifest } from '../../../src/config/manifest';
import { aliasBlocks, kebab } from '../../../src/config/aliases';
import { loadSchema } from '../../../src/config/schema-check';
import { main } from '../../../src/cli/main';
import { cdcManifest as cdc } from './manifests';

const dir = mkdtempSync(join(tmpdir(), 'nilus-alias-'));
function write(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function problems(text: string): readonly ConfigProblem[] {
  try {
    parseManifest(text, 'm.yaml');
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

async function loadProblems(path: string, env: NodeJS.ProcessEnv = {}): Promise<readonly ConfigProblem[]> {
  const err = await loadConfig(path, { env }).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ConfigError);
  return (err as ConfigError).problems;
}

/** Sink option lines (six spaces in), with every `_` of the key a `-` when `dash`. */
const sinkLines = (dash: boolean): string =>
  [
    'dest_table: analytics.{table}',
    'incremental_strategy: merge',
    'primary_key: [id, region]',
    'batch.max_rows: 7',
    'batch.max_age_ms: 90',
    'memory_budget_bytes: 4194304',
    'errors.tolerance: all',
    'errors.deadletter.table: ops.dead_letters',
    'errors.retry.initial_ms: 50',
    'on_offset_gap: skip',
    'http_port: 0',
    'log_level: debug',
  ]
    .map((l) => {
      const [k, v] = l.split(': ');
      return `      ${dash ? kebab(k) : k}: ${v}\n`;
    })
    .join('');

const batch = (sourceOptions: string, sinkOptions = '      dest_table: a.orders\n      incremental_strategy: merge\n'): string =>
  `name: b\nversion: v1alpha\ntype: nilus\nspec:\n  type: batch\n  source:\n    address: postgresql://u@127.0.0.1/src\n    options:\n${sourceOptions}  sink:\n    address: postgresql://u@127.0.0.1/db\n    options:\n${sinkOptions}`;

describe('kebab-case aliases of snake_case option keys', () => {
  it('are marked on spec.source.options and spec.sink.options only, and no alias is itself a key of its mapping', () => {
    const schema = loadSchema('manifest') as Parameters<typeof aliasBlocks>[0];
    const blocks = aliasBlocks(schema);
    expect(blocks.map((b) => b.path.join('.'))).toEqual(['spec.source.options', 'spec.sink.options']);
    for (const b of blocks) {
      expect(b.keys.length).toBeGreaterThan(5);
      const own = Object.keys(b.path.reduce((s: any, k) => s.properties[k], schema).properties);
      for (const k of b.keys) expect(own).not.toContain(kebab(k));
    }
    expect(blocks.find((b) => b.path[1] === 'sink')!.keys).toEqual(expect.arrayContaining(['dest_table', 'incremental_strategy', 'primary_key', 'batch.max_rows', 'errors.retry.max_attempts']));
    // the generated reference states the same mappings
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const gen = require('../../../scripts/gen-manifest-doc.js') as { aliasBlocks(s: unknown): string[]; render(): string };
    expect(gen.aliasBlocks(schema)).toEqual(['spec.source.options', 'spec.sink.options']);
    expect(gen.render()).toContain('Under `spec.source.options` and `spec.sink.options` a key with `_` may also be written in kebab case');
  });

  it('a cdc manifest spelled in kebab case loads to the same config as the snake_case one', async () => {
    const snake = await loadConfig(write('snake.yaml', cdc(sinkLines(false))), { env: {} });
    const notes: ConfigProblem[] = [];
    const dashed = await loadConfig(write('kebab.yaml', cdc(sinkLines(true))), { env: {}, onNote: (n) => notes.push(n) });
    expect(dashed).toEqual(snake);
    // the values arrived, not the defaults
    expect([dashed.buffer.maxRows, dashed.buffer.maxAgeMs, dashed.observe.logLevel, dashed.sink.options.primaryKey]).toEqual([7, 90, 'debug', ['id', 'region']]);
    expect(dashed.errors.deadLetter).toEqual({ kind: 'table', table: { schema: 'ops', table: 'dead_letters' } });
    expect(notes.map((n) => n.path)).toEqual(
      ['dest_table', 'incremental_strategy', 'primary_key', 'batch.max_rows', 'batch.max_age_ms', 'memory_budget_bytes', 'errors.retry.initial_ms', 'on_offset_gap', 'http_port', 'log_level'].map(
        (k) => `spec.sink.options.${kebab(k)}`,
      ),
    );
    // errors.tolerance and errors.deadletter.table have no `_`: nothing to alias, no note
    expect(notes).toHaveLength(10);
    // the parsed manifest itself is the snake_case one
    expect(parseManifest(cdc(sinkLines(true))).manifest).toEqual(parseManifest(cdc(sinkLines(false))).manifest);
  });

  it('a batch manifest with kebab-case source options loads to the same config', async () => {
    const src = (dash: boolean): string =>
      ['source_table: sales.orders', 'incremental_key: updated_at', 'interval_start: "2024-01-01"', 'page_size: 500', 'tinyint1_as_boolean: false']
        .map((l) => {
          const [k, v] = l.split(': ');
          return `      ${dash ? kebab(k) : k}: ${v}\n`;
        })
        .join('');
    const snake = await loadConfig(write('b-snake.yaml', batch(src(false))), { env: {} });
    const dashed = await loadConfig(write('b-kebab.yaml', batch(src(true), '      dest-table: a.orders\n      incremental-strategy: merge\n')), { env: {} });
    expect(dashed).toEqual(snake);
    expect(dashed.batch).toMatchObject({ sourceTable: { schema: 'sales', table: 'orders' }, incrementalKey: 'updated_at', intervalStart: '2024-01-01', pageSize: 500, tinyint1AsBoolean: false });
  });

  it('notes each alias once, at the key as written, and validate prints the note', async () => {
    const r = parseManifest(cdc('      dest-table: analytics.orders\n      incremental_strategy: merge\n'), 'm.yaml');
    expect(r.warnings).toEqual([]);
    expect(r.notes).toEqual([
      { path: 'spec.sink.options.dest-table', message: 'dest-table is read as dest_table (the Nilus v1 kebab-case spelling, accepted as an alias)', line: 14, col: 7 },
    ]);
    expect(parseManifest(cdc('      dest_table: analytics.orders\n      incremental_strategy: merge\n')).notes).toEqual([]);

    const f = write('noted.yaml', cdc('      dest-table: analytics.orders\n      incremental_strategy: merge\n'));
    const out: string[] = [];
    const err: string[] = [];
    expect(await main(['validate', f], { out: (l) => out.push(l), err: (l) => err.push(l) })).toBe(0);
    expect(err).toEqual([]);
    expect(out).toEqual([`note: ${f}:14:7: spec.sink.options.dest-table: dest-table is read as dest_table (the Nilus v1 kebab-case spelling, accepted as an alias)`, `ok: ${f}`]);
  });

  it('refuses both spellings of one key, naming both paths', () => {
    const p = problems(cdc('      dest_table: analytics.orders\n      incremental_strategy: merge\n      dest-table: analytics.other\n'));
    expect(p).toEqual([
      {
        path: 'spec.sink.options.dest-table',
        message: 'spec.sink.options.dest_table and spec.sink.options.dest-table are one option (dest-table is the kebab-case spelling of dest_table): keep one',
        line: 16,
        col: 7,
      },
    ]);
    // in the source options too, whichever comes first
    const q = problems(batch('      source-table: sales.orders\n      source_table: sales.orders\n'));
    expect(q.map((x) => x.path)).toEqual(['spec.source.options.source-table']);
    expect(q[0].message).toMatch(/^spec\.source\.options\.source_table and spec\.source\.options\.source-table are one option.*keep one$/);
  });

  it('refuses a kebab key with no snake_case counterpart like any unknown key, with the did-you-mean hint', () => {
    expect(problems(cdc('      dest_table: analytics.orders\n      incremental_strategy: merge\n      batch.max-row: 5\n'))).toEqual([
      { path: 'spec.sink.options.batch.max-row', message: 'unknown key "batch.max-row"; did you mean "batch.max_rows"?', line: 16, col: 7 },
    ]);
    expect(problems(cdc('      dest-tabel: analytics.orders\n      incremental_strategy: merge\n'))).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: 'spec.sink.options.dest-tabel', message: 'unknown key "dest-tabel"; did you mean "dest_table"?' })]),
    );
    // renaming keeps every other key a key, __proto__ too
    expect(problems(cdc('      dest-table: analytics.orders\n      incremental_strategy: merge\n      __proto__: x\n')).map((x) => x.path)).toEqual(['spec.sink.options.__proto__']);
    // a key that is kebab in its snake_case spelling too (no `_`) has no alias
    expect(problems(cdc('      dest_table: analytics.orders\n      incremental_strategy: merge\n      errors-tolerance: all\n'))[0]).toMatchObject({ path: 'spec.sink.options.errors-tolerance', message: expect.stringMatching(/^unknown key "errors-tolerance"/) });
  });

  it('names an aliased key as written in schema, rule and load problems', async () => {
    // the schema: a wrong value
    expect(problems(cdc('      dest_table: analytics.orders\n      incremental-strategy: upsert\n'))).toEqual([
      { path: 'spec.sink.options.incremental-strategy', message: 'must be one of "replace", "append", "merge" (got "upsert")', line: 15, col: 29 },
    ]);
    // a rule: dest_table without a schema, at the value's position
    const p = problems(cdc('      dest-table: orders\n      incremental_strategy: merge\n'));
    expect(p[0]).toMatchObject({ path: 'spec.sink.options.dest-table', line: 14, col: 19 });
    expect(p[0].message).toMatch(/^dest_table must be `<schema>\.<table>`/);
    // a rule over a source option in a cdc pipeline
    const q = problems(cdc('      dest_table: analytics.orders\n      incremental_strategy: merge\n').replace('    cdc:\n', '    options:\n      page-size: 10\n    cdc:\n'));
    expect(q).toEqual([expect.objectContaining({ path: 'spec.source.options.page-size', message: 'page_size is for batch pipelines (spec.type: batch)', line: 9 })]);
    // and a problem found only when the config is built (a managed source's connect_url)
    const managed = cdc('      dest_table: analytics.orders\n      incremental_strategy: merge\n')
      .replace('address: kafka://127.0.0.1:9092', 'address: postgresql://u@127.0.0.1/shop')
      .replace('    cdc:\n', '    options:\n      kafka: kafka://127.0.0.1:9092\n      connect-url: http://${NO_SUCH_HOST}:8083\n    cdc:\n');
    expect(await loadProblems(write('managed.yaml', managed))).toEqual([
      { path: 'spec.source.options.connect-url', message: 'environment variable NO_SUCH_HOST is not set (referenced as ${NO_SUCH_HOST}): export it, or write the value in place' },
    ]);
  });
});
