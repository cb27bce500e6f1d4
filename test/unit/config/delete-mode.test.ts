/** delete_mode and metadata_columns in a manifest: accepted where they mean something, refused elsewhere naming the key. */
import { ConfigError } from '../../../src/kernel/errors';
import { buildConfig, parseManifest } from '../../../src/config';
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

const batch = (opts: string): string => `name: b
version: v1alpha
type: nilus
spec:
  type: batch
  source:
    address: postgresql://u@127.0.0.1/src
    options:
      source_table: public.items
  sink:
    address: postgresql://u@127.0.0.1/db
    options:
      dest_table: analytics.items
${opts}`;

describe('delete_mode and metadata_columns', () => {
  it('cdc merge takes both; the settings hold the mode and the column names', async () => {
    const text = cdc('      dest_table: analytics.orders\n      incremental_strategy: merge\n      delete_mode: soft\n      metadata_columns: [offset, op]\n');
    const cfg = await buildConfig(parseManifest(text, 'm.yaml').manifest, undefined, {});
    expect(cfg.sink.options.deleteMode).toBe('soft');
    expect(cfg.sink.options.metadataColumns).toEqual(['_nilus_op', '_nilus_offset']);
    const plain = await buildConfig(parseManifest(cdc('      dest_table: analytics.orders\n      incremental_strategy: merge\n      delete_mode: hard\n      metadata_columns: false\n'), 'm.yaml').manifest, undefined, {});
    expect(plain.sink.options.deleteMode).toBeUndefined();
    expect(plain.sink.options.metadataColumns).toBeUndefined();
  });

  it('batch merge takes delete_mode soft', async () => {
    const cfg = await buildConfig(parseManifest(batch('      incremental_strategy: merge\n      delete_mode: soft\n'), 'm.yaml').manifest, undefined, {});
    expect(cfg.sink.options.deleteMode).toBe('soft');
  });

  it('refuses soft without merge, metadata_columns outside cdc merge, and unknown values, naming the key', () => {
    const append = problems(cdc('      dest_table: analytics.orders\n      incremental_strategy: append\n      delete_mode: soft\n      metadata_columns: true\n'));
    expect(append.map((p) => p.path)).toEqual(['spec.sink.options.delete_mode', 'spec.sink.options.metadata_columns']);
    expect(append[0]!.message).toMatch(/^delete_mode: soft is for incremental_strategy merge/);
    expect(append[1]!.message).toMatch(/an append target always carries every _nilus_\* metadata column/);
    const b = problems(batch('      incremental_strategy: merge\n      metadata_columns: [op]\n'));
    expect(b.map((p) => p.path)).toEqual(['spec.sink.options.metadata_columns']);
    expect(b[0]!.message).toMatch(/a batch run reads rows, not change events/);
    const bad = problems(cdc('      dest_table: analytics.orders\n      incremental_strategy: merge\n      delete_mode: gentle\n      metadata_columns: [lsn]\n'));
    expect(bad.map((p) => p.path).sort()).toEqual(['spec.sink.options.delete_mode', 'spec.sink.options.metadata_columns']);
  });
});
