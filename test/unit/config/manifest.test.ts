import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../../src/kernel/errors';
import { parseManifest } from '../../../src/config/manifest';
import { cdcManifest as cdc } from './manifests';

function problems(text: string): ConfigError['problems'] {
  try {
    parseManifest(text, 'm.yaml');
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('parseManifest', () => {
  it('accepts every shipped example', () => {
    const dir = join(__dirname, '../../../config/examples');
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBe(7);
    for (const f of files) expect(() => parseManifest(readFileSync(join(dir, f), 'utf8'), f)).not.toThrow();
  });

  it('accepts the seed page CDC sample once given the header fields', () => {
    const r = parseManifest(cdc('      dest_table: analytics.orders_cdc\n      incremental_strategy: merge\n'));
    expect(r.manifest.spec.sink.options.dest_table).toBe('analytics.orders_cdc');
    expect(r.warnings).toEqual([]);
  });

  it('rejects an unknown key with a did-you-mean hint at the key position', () => {
    const p = problems(cdc('      dest_table: analytics.orders\n      incremental_strategy: merge\n      batch.max_row: 5\n'));
    expect(p).toEqual([
      { path: 'spec.sink.options.batch.max_row', message: 'unknown key "batch.max_row"; did you mean "batch.max_rows"?', line: 16, col: 7 },
    ]);
  });

  it('reports all problems at once, each with line:col', () => {
    const p = problems(
      'name: Bad Name\nversion: v2\ntype: nilus\nspec:\n  type: stream\n  source:\n    address: ftp://x\n  sink:\n    address: dataos://pg\n    options:\n      dest_tabel: x.y\n      incremental_strategy: upsert\n',
    );
    const byPath = Object.fromEntries(p.map((x) => [x.path, x]));
    expect(byPath['name']).toMatchObject({ line: 1, col: 7 });
    expect(byPath['name'].message).toMatch(/lower case/);
    expect(byPath['version']).toMatchObject({ message: 'must be "v1alpha" (got "v2")', line: 2, col: 10 });
    expect(byPath['spec.type'].message).toBe('must be one of "batch", "cdc" (got "stream")');
    expect(byPath['spec.source.address']).toMatchObject({ line: 7, col: 14 });
    expect(byPath['spec.sink.options.dest_tabel']).toMatchObject({ message: 'unknown key "dest_tabel"; did you mean "dest_table"?', line: 11, col: 7 });
    expect(byPath['spec.sink.options'].message).toBe('missing required key "dest_table"');
    expect(byPath['spec.sink.options.incremental_strategy']).toMatchObject({ line: 12, col: 29 });
    expect(p.length).toBe(7);
  });

  it('reports schema and semantic problems together', () => {
    const p = problems(cdc('      dest_table: orders\n      incremental_strategy: replace\n      log_level: loud\n'));
    expect(p.map((x) => `${x.path}@${x.line}`)).toEqual(['spec.sink.options.log_level@16', 'spec.sink.options.dest_table@14', 'spec.sink.options.incremental_strategy@15']);
  });

  it('rejects dest_table without a schema prefix with the seed resolution', () => {
    const p = problems(cdc('      dest_table: orders\n      incremental_strategy: merge\n'));
    expect(p[0].path).toBe('spec.sink.options.dest_table');
    expect(p[0].message).toMatch(/^dest_table must be `<schema>\.<table>` \(got "orders"\): use the explicit <schema>\.<table> form/);
    expect(p[0]).toMatchObject({ line: 14, col: 19 });
  });

  it('refuses replace in a cdc pipeline and says why', () => {
    const p = problems(cdc('      dest_table: analytics.orders\n      incremental_strategy: replace\n'));
    expect(p).toHaveLength(1);
    expect(p[0].path).toBe('spec.sink.options.incremental_strategy');
    expect(p[0].message).toMatch(/no "whole table".*Use merge.*append/);
  });

  it('refuses a multi-table include list without a {table} placeholder', () => {
    const p = problems(cdc('      dest_table: analytics.orders\n      incremental_strategy: merge\n', '      topic.prefix: shop\n      collection.include.list: "retail.orders,retail.items"\n'));
    expect(p[0].path).toBe('spec.sink.options.dest_table');
    expect(p[0].message).toMatch(/can match several tables.*no \{table\} placeholder/);
    expect(problems(cdc('      dest_table: analytics.orders\n      incremental_strategy: append\n', '      topic.prefix: shop\n'))[0].message).toMatch(/every table under the prefix/);
    expect(() => parseManifest(cdc('      dest_table: analytics.{table}\n      incremental_strategy: merge\n', '      topic.prefix: shop\n      table.include.list: "public\\\\..*"\n'))).not.toThrow();
  });

  it('checks regexes, include+exclude, unknown placeholders and dead-letter rules', () => {
    const p = problems(
      cdc(
        '      dest_table: analytics.{tbl}_{table}\n      incremental_strategy: merge\n      errors.deadletter.topic: dlq\n      errors.deadletter.table: nodot\n',
        '      topic.prefix: shop\n      table.include.list: "public.(orders"\n      table.exclude.list: "x.y"\n',
      ),
    );
    const msgs = p.map((x) => `${x.path}: ${x.message}`).join('\n');
    expect(msgs).toMatch(/table.include.list: invalid regular expression/);
    expect(msgs).toMatch(/cannot both be set/);
    expect(msgs).toMatch(/unknown placeholder \{tbl\}/);
    expect(msgs).toMatch(/not both/);
    expect(msgs).toMatch(/needs errors.tolerance: all/);
    expect(msgs).toMatch(/errors.deadletter.table must be `<schema>.<table>`/);
  });

  it('schema_change: one of stop, deadletter, variant; deadletter needs errors.tolerance all', () => {
    const base = '      dest_table: analytics.orders\n      incremental_strategy: merge\n';
    expect(parseManifest(cdc(base + '      schema_change: variant\n')).manifest.spec.sink.options.schema_change).toBe('variant');
    expect(() => parseManifest(cdc(base + '      schema_change: stop\n      errors.tolerance: all\n'))).not.toThrow();
    expect(() => parseManifest(cdc(base + '      schema_change: deadletter\n      errors.tolerance: all\n      errors.deadletter.table: ops.dlq\n'))).not.toThrow();
    expect(problems(cdc(base + '      schema_change: deadletter\n')).map((x) => `${x.path}: ${x.message}`)).toEqual([
      'spec.sink.options.schema_change: schema_change: deadletter needs errors.tolerance: all (and errors.deadletter.topic or errors.deadletter.table to keep the rows); with none use stop or variant',
    ]);
    expect(problems(cdc(base + '      schema_change: widen\n'))[0]).toMatchObject({ path: 'spec.sink.options.schema_change' });
  });

  it('explains a wrongly-shaped primary_key once', () => {
    const p = problems(cdc('      dest_table: analytics.orders\n      incremental_strategy: merge\n      primary_key: 5\n'));
    expect(p).toEqual([{ path: 'spec.sink.options.primary_key', message: 'must be a column name or a non-empty list of distinct column names', line: 16, col: 20 }]);
  });

  it('reports YAML syntax errors with their position', () => {
    const p = problems('name: x\nspec:\n  type: [cdc\n');
    expect(p[0].path).toBe('(yaml)');
    expect(p[0].line).toBeGreaterThanOrEqual(3);
  });

  it('rejects an empty manifest and duplicate keys', () => {
    expect(problems('')[0].message).toBe('the manifest is empty');
    expect(problems('name: a\nname: b\n')[0].message).toMatch(/unique/i);
  });

  it('batch: needs source_table and refuses kafka:// and cdc blocks', () => {
    const batch = (src: string): string =>
      `name: b\nversion: v1alpha\ntype: nilus\nspec:\n  type: batch\n  source:\n${src}  sink:\n    address: dataos://pg\n    options:\n      dest_table: a.b\n      incremental_strategy: replace\n`;
    expect(problems(batch('    address: kafka://h:1\n'))).toEqual([
      expect.objectContaining({ path: 'spec.source.address', message: expect.stringMatching(/kafka:\/\/ is for cdc/) }),
      expect.objectContaining({ path: 'spec.source', message: expect.stringMatching(/needs spec.source.options.source_table/) }),
    ]);
    expect(problems(batch('    address: dataos://src\n    options:\n      source_table: orders\n'))[0].message).toMatch(/source_table must be/);
    expect(() => parseManifest(batch('    address: dataos://src\n    options:\n      source_table: sales.orders\n'))).not.toThrow();
  });

  it('keeps mixed-case dest_table as written and warns how to query it', () => {
    const r = parseManifest(cdc('      dest_table: Analytics.Orders\n      incremental_strategy: merge\n'));
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0].message).toMatch(/query it as "Analytics"."Orders"/);
  });
});
