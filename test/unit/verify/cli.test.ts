import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../../src/cli/main';

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('nilus-pg verify (command line)', () => {
  it('is listed in the usage and has its own help', async () => {
    expect((await cli('--help')).out).toMatch(/verify <manifest> \[--connections f\]/);
    const h = await cli('verify', '--help');
    expect(h.code).toBe(0);
    expect(h.out).toMatch(/Exit 0 when equal, 1 when not/);
  });

  it('wants exactly one manifest', async () => {
    expect((await cli('verify')).code).toBe(2);
  });

  it('refuses a CDC pipeline with exit 2 and says why', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'nilus-verify-')), 'cdc.yaml');
    writeFileSync(file, `name: orders-cdc
version: v1alpha
type: nilus
spec:
  type: cdc
  source:
    address: kafka://127.0.0.1:9092
    cdc:
      topic.prefix: orders_cdc
      collection.include.list: retail.orders
  sink:
    address: postgresql://postgres@127.0.0.1:5432/postgres
    options:
      dest_table: analytics.orders
      incremental_strategy: merge
`);
    const r = await cli('verify', file);
    expect(r.code).toBe(2);
    expect(r.err).toBe('verify supports batch pipelines so far; CDC pipelines need a database source (managed connector, not built yet)');
  });
});
