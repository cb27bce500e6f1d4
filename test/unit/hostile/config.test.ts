/** Issue 12: validation refuses a dead-letter topic the pipeline would read, and nilus's own tables as destinations. */
import { ConfigError } from '../../../src/kernel/errors';
import { parseManifest } from '../../../src/config/manifest';
import { main } from '../../../src/cli/main';
import { cdcManifest } from '../config/manifests';

function problems(text: string): ConfigError['problems'] {
  try {
    parseManifest(text, 'm.yaml');
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

/** A cdc manifest whose sink options are merge + `errors.tolerance: all`, then `sink`. */
const manifest = (sink: string, cdc = '      topic.prefix: shop\n'): string =>
  cdcManifest(`      incremental_strategy: merge\n      errors.tolerance: all\n${sink}`, cdc);

describe('dead-letter topic under the consumed prefix', () => {
  it('is refused when the prefix and (empty) include list select it, naming the field and the fix', () => {
    const p = problems(manifest('      dest_table: analytics.{table}\n      errors.deadletter.topic: shop.dlq.orders\n'));
    expect(p).toHaveLength(1);
    expect(p[0]!.path).toBe('spec.sink.options.errors.deadletter.topic');
    expect(p[0]!.message).toMatch(/"shop\.dlq\.orders" is one this pipeline reads.*topic\.prefix "shop".*name it outside the prefix/);
    expect(p[0]!.line).toBe(16);
  });

  it('is refused when the include list matches it', () => {
    const p = problems(manifest('      dest_table: analytics.{table}\n      errors.deadletter.topic: shop.public.dlq\n', '      topic.prefix: shop\n      collection.include.list: "public\\\\..*"\n'));
    expect(p.map((x) => x.path)).toEqual(['spec.sink.options.errors.deadletter.topic']);
  });

  it('is accepted outside the prefix, or when the include/exclude lists leave it out', () => {
    expect(problems(manifest('      dest_table: analytics.{table}\n      errors.deadletter.topic: shop-dlq\n'))).toEqual([]);
    expect(problems(manifest('      dest_table: analytics.orders\n      errors.deadletter.topic: shop.public.dlq\n', '      topic.prefix: shop\n      collection.include.list: "public.orders"\n'))).toEqual([]);
    expect(problems(manifest('      dest_table: analytics.{table}\n      errors.deadletter.topic: shop.public.dlq\n', '      topic.prefix: shop\n      collection.exclude.list: "public.dlq"\n'))).toEqual([]);
  });

  it('nilus-pg validate reports it with the other config errors (exit 2)', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'hostile-'));
    const file = join(dir, 'm.yaml');
    writeFileSync(file, manifest('      dest_table: analytics\n      errors.deadletter.topic: shop.x.y\n'));
    const out: string[] = [];
    const code = await main(['validate', file], { out: (s: string) => out.push(s), err: (s: string) => out.push(s) });
    expect(code).toBe(2);
    const text = out.join('\n');
    expect(text).toMatch(/errors\.deadletter\.topic.*one this pipeline reads/);
    expect(text).toMatch(/dest_table/);
  });
});

describe('nilus\'s own tables', () => {
  it('refuses a dead-letter table that is the destination or the offsets table', () => {
    expect(problems(manifest('      dest_table: analytics.orders\n      errors.deadletter.table: analytics.orders\n', '      topic.prefix: shop\n      table.include.list: "public.orders"\n')).map((p) => p.message).join('\n')).toMatch(/is the destination table/);
    expect(problems(manifest('      dest_table: analytics.{table}\n      errors.deadletter.table: analytics.nilus_offsets\n')).map((p) => p.message).join('\n')).toMatch(/is the offsets table/);
    expect(problems(manifest('      dest_table: ops.{table}\n      state_schema: st\n      errors.deadletter.table: st.nilus_offsets\n')).map((p) => p.message).join('\n')).toMatch(/is the offsets table/);
  });

  it('compares names as PostgreSQL stores them (63 bytes)', () => {
    const long = 'd'.repeat(63);
    expect(problems(manifest(`      dest_table: analytics.${long}\n      errors.deadletter.table: analytics.${long}\n`, '      topic.prefix: shop\n      table.include.list: "public.orders"\n')).length).toBeGreaterThan(0);
  });

  it('counts the 63-byte limit of a configured name in bytes of UTF-8', () => {
    const p = problems(manifest(`      dest_table: analytics.${'é'.repeat(32)}\n`, '      topic.prefix: shop\n      table.include.list: "public.orders"\n'));
    expect(p.map((x) => x.message).join('\n')).toMatch(/63-byte limit \(bytes of UTF-8\)/);
  });
});

describe('readable dead-letter text', () => {
  it('value_text: UTF-8 kept with NUL escaped; not UTF-8 → null', async () => {
    const { readableText } = await import('../../../src/deadletter/table-sink');
    expect(readableText(null)).toBeNull();
    expect(readableText(Buffer.from('{"a":"ü"}'))).toBe('{"a":"ü"}');
    expect(readableText(Buffer.from([0x41, 0x00, 0x42]))).toBe('A\\u0000B');
    expect(readableText(Buffer.from([0xff, 0x00, 0x7b]))).toBeNull();
  });
});

describe('dest_table that is the offsets table', () => {
  it('is refused, with the fix', () => {
    const p = problems(manifest('      dest_table: analytics.nilus_offsets\n', '      topic.prefix: shop\n      table.include.list: "public.orders"\n'));
    expect(p.map((x) => `${x.path}: ${x.message}`).join('\n')).toMatch(/dest_table: dest_table analytics\.nilus_offsets is the offsets table.*set state_schema/);
    expect(problems(manifest('      dest_table: analytics.nilus_offsets\n      state_schema: state\n', '      topic.prefix: shop\n      table.include.list: "public.orders"\n'))).toEqual([]);
  });
});
