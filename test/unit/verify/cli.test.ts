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

  it('refuses a CDC pipeline reading a Kafka (no source database) with exit 2, naming the field and the fix', async () => {
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
    expect(r.err).toMatch(/^.*cdc\.yaml: spec\.source\.address: verify compares the source database with the target, and this CDC pipeline's address is a Kafka/);
    expect(r.err).toMatch(/set spec\.source\.address to the source database/);
  });

  it('refuses a --settle-timeout that is not seconds, naming the option', async () => {
    const r = await cli('verify', 'any.yaml', '--settle-timeout', 'soon');
    expect(r.code).toBe(2);
    expect(r.err).toBe('--settle-timeout wants seconds (a number ≥ 0), got "soon"');
  });
});
