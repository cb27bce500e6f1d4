/** spec.sink.options.columns: parsed into rules, bad patterns and a touched key refused, the hash key from the environment and never shown. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../../src/kernel/errors';
import { parseManifest } from '../../../src/config/manifest';
import { loadConfig, maskConfig } from '../../../src/config';
import { cdcManifest as cdc } from './manifests';

const dir = mkdtempSync(join(tmpdir(), 'nilus-cols-'));
const write = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

function problems(text: string): ConfigError['problems'] {
  try {
    parseManifest(text, 'm.yaml');
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

const BASE = '      dest_table: analytics.orders\n      incremental_strategy: merge\n';
const COLUMNS = '      columns:\n        exclude: [notes, "/pii_.*/"]\n        mask:\n          email: hash\n          ssn: redact\n          phone: { value: "***" }\n';

describe('spec.sink.options.columns', () => {
  it('loads include/exclude/mask into rules with the hash key from NILUS_COLUMN_HASH_KEY, masked in the logged config', async () => {
    const cfg = await loadConfig(write('a.yaml', cdc(BASE + COLUMNS)), { env: { NILUS_COLUMN_HASH_KEY: 's3cret-key' } });
    expect(cfg.sink.options.columns).toEqual({
      exclude: ['notes', '/pii_.*/'],
      mask: [{ pattern: 'email', mask: { kind: 'hash' } }, { pattern: 'ssn', mask: { kind: 'redact' } }, { pattern: 'phone', mask: { kind: 'value', value: '***' } }],
      hashSecret: 's3cret-key',
    });
    expect(JSON.stringify(maskConfig(cfg))).not.toContain('s3cret-key');
  });

  it('hash_key_env names another variable; a missing or empty key is refused naming it', async () => {
    const other = cdc(BASE + COLUMNS + '        hash_key_env: MY_KEY\n');
    await expect(loadConfig(write('b.yaml', other), { env: { MY_KEY: 'k' } })).resolves.toBeDefined();
    await expect(loadConfig(write('c.yaml', other), { env: {} })).rejects.toThrow(/environment variable MY_KEY, which is not set/);
    await expect(loadConfig(write('d.yaml', cdc(BASE + COLUMNS)), { env: { NILUS_COLUMN_HASH_KEY: '' } })).rejects.toThrow(/NILUS_COLUMN_HASH_KEY, which is empty/);
  });

  it('no key is needed without a hash mask; an empty block changes nothing', async () => {
    const cfg = await loadConfig(write('e.yaml', cdc(BASE + '      columns:\n        exclude: [notes]\n')), { env: {} });
    expect(cfg.sink.options.columns).toEqual({ exclude: ['notes'] });
    const none = await loadConfig(write('f.yaml', cdc(BASE + '      columns: {}\n')), { env: {} });
    expect(none.sink.options.columns).toBeUndefined();
  });

  it('an invalid regex is refused at its position', () => {
    const p = problems(cdc(BASE + '      columns:\n        exclude: [ok, "/(/"]\n'));
    expect(p).toHaveLength(1);
    expect(p[0]!.path).toBe('spec.sink.options.columns.exclude[1]');
    expect(p[0]!.message).toMatch(/invalid regular expression \/\(\/.*written \/…\//);
  });

  it('a declared primary-key column excluded or masked is refused naming the column', () => {
    const ex = problems(cdc(BASE + '      primary_key: [id, pii_no]\n' + COLUMNS));
    expect(ex).toHaveLength(1);
    expect(ex[0]!.path).toBe('spec.sink.options.columns');
    expect(ex[0]!.message).toContain('primary-key column "pii_no" (excluded)');
    const masked = problems(cdc(BASE + '      primary_key: email\n' + COLUMNS));
    expect(masked[0]!.message).toContain('"email" (masked)');
  });

  it('a mask is hash, redact or { value }', () => {
    const p = problems(cdc(BASE + '      columns:\n        mask:\n          email: scramble\n'));
    expect(p.length).toBeGreaterThan(0);
    expect(p[0]!.path).toContain('spec.sink.options.columns.mask.email');
  });
});
