/**
 * Issue 12, case 5: a dead-letter topic that the pipeline itself would consume (under
 * spec.source.cdc topic.prefix and selected by the include/exclude lists) is a configuration
 * error: `nilus-pg validate` reports it with the other problems, and `run` never starts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../../src/kernel/errors';
import { uniqueName } from '../../helpers/pg';
import { cdcManifest, startInProcess } from '../../helpers/pipeline';

const BIN = join(__dirname, '../../../bin/nilus-pg.js');

describe('hostile configuration: a dead-letter topic the pipeline reads', () => {
  const prefix = uniqueName('hdlq');
  const manifest = (topic: string, extra: Record<string, unknown> = {}) => cdcManifest({
    name: prefix, prefix, dest: 'analytics.{table}', strategy: 'merge',
    options: { 'errors.tolerance': 'all', 'errors.deadletter.topic': topic, ...extra },
  });

  it('nilus-pg validate: exit 2, the field, the reason and the fix, listed with the other problems', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hdlq-'));
    const file = join(dir, 'manifest.yaml');
    writeFileSync(file, manifest(`${prefix}.public.dead_letters`, { 'batch.max_rows': 0 }));
    const r = spawnSync(process.execPath, [BIN, 'validate', file], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    const out = r.stdout + r.stderr;
    expect(out).toMatch(/spec\.sink\.options\.errors\.deadletter\.topic.*dead-letter topic ".*\.public\.dead_letters" is one this pipeline reads/);
    expect(out).toMatch(/name it outside the prefix/);
    // reported together with the other configuration error, not instead of it
    expect(out).toMatch(/batch\.max_rows/);
  });

  it('run refuses to start (a ConfigError before connecting to anything)', async () => {
    await expect(startInProcess(manifest(`${prefix}.x.y`))).rejects.toThrow(ConfigError);
    await expect(startInProcess(manifest(`${prefix}.x.y`))).rejects.toThrow(/errors\.deadletter\.topic.*one this pipeline reads/);
  });

  it('a topic outside the prefix is accepted by validate', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hdlq-'));
    const file = join(dir, 'manifest.yaml');
    writeFileSync(file, manifest(`${prefix}-dlq`));
    const r = spawnSync(process.execPath, [BIN, 'validate', file], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).not.toMatch(/deadletter/);
    expect(r.status).toBe(0);
  });
});
