/**
 * `nilus-pg check` on a managed PostgreSQL source with spec.sink.options.columns: a rule that
 * excludes or masks a selected table's primary-key column fails naming the table and the column;
 * rules that leave the key alone add no failure.
 */
import { Pool } from 'pg';
import { buildConfig, parseManifest } from '../../../src/config';
import { runChecks, type CheckLine } from '../../../src/cli/check';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, targetPgUrl, uniqueName } from '../../helpers/pg';
import { connectUrl, kafkaBrokers, sourcePgUrl } from '../../helpers/stack';

describe('check: column rules against the source tables\' keys', () => {
  let source: Pool;
  let target: Pool;
  let srcSchema: string;
  let schema: string;
  const name = uniqueName('colfchk').replace(/_/g, '-');

  beforeAll(async () => {
    source = new Pool({ connectionString: sourcePgUrl(), max: 2 });
    target = newPool();
    srcSchema = await createTestSchema(source, 'colfchksrc');
    schema = await createTestSchema(target, 'colfchk');
    await source.query(`CREATE TABLE "${srcSchema}".accounts (account_no text PRIMARY KEY, email text, note text)`);
  });
  afterAll(async () => {
    await dropTestSchemaUnlessFailed(target, schema);
    await source.query(`DROP SCHEMA IF EXISTS "${srcSchema}" CASCADE`);
    await source.end();
    await target.end();
  });

  const check = async (columns: unknown): Promise<string[]> => {
    const text = JSON.stringify({
      name, version: 'v1alpha', type: 'nilus',
      spec: {
        type: 'cdc',
        source: { address: sourcePgUrl(), options: { kafka: `kafka://${kafkaBrokers().join(',')}`, connect_url: connectUrl() }, cdc: { 'topic.prefix': name, 'collection.include.list': `${srcSchema}\\.accounts` } },
        sink: { address: targetPgUrl(), options: { dest_table: `${schema}.{table}`, incremental_strategy: 'merge', columns } },
      },
    });
    const lines: CheckLine[] = await runChecks(await buildConfig(parseManifest(text).manifest, undefined, process.env));
    return lines.filter((l) => !l.ok).map((l) => l.text);
  };

  it('fails naming the key column a rule excludes or masks, and passes a rule that leaves it', async () => {
    const excluded = await check({ exclude: ['/account_.+/'] });
    expect(excluded).toEqual([expect.stringMatching(new RegExp(`^primary-key column "account_no" \\(excluded\\) of ${srcSchema}\\.accounts is excluded or masked`))]);
    const masked = await check({ mask: { account_no: { value: 'x' } } });
    expect(masked).toEqual([expect.stringMatching(/^primary-key column "account_no" \(masked\)/)]);
    expect(await check({ exclude: ['note'], mask: { email: 'redact' } })).toEqual([]);
  });
});
