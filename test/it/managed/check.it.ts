/**
 * `nilus-pg check` on a managed PostgreSQL source, against a deliberately misconfigured source:
 * a role without REPLICATION, a keyless table without REPLICA IDENTITY FULL, tables the role does
 * not own and no CREATE on the database. Each is reported with its fix; fixed, each line passes.
 */
import { Pool } from 'pg';
import { buildConfig, parseManifest } from '../../../src/config';
import { runChecks, type CheckLine } from '../../../src/cli/check';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, targetPgUrl, uniqueName } from '../../helpers/pg';
import { connectUrl, kafkaBrokers, sourcePgUrl } from '../../helpers/stack';

describe('check: managed PostgreSQL source prerequisites', () => {
  let source: Pool;
  let target: Pool;
  let srcSchema: string;
  let schema: string;
  const role = uniqueName('nilus_norepl');
  const name = uniqueName('mgdchk').replace(/_/g, '-');

  beforeAll(async () => {
    source = new Pool({ connectionString: sourcePgUrl(), max: 2 });
    target = newPool();
    srcSchema = await createTestSchema(source, 'mgdchksrc');
    schema = await createTestSchema(target, 'mgdchk');
    await source.query(`CREATE ROLE "${role}" LOGIN NOREPLICATION`);
    await source.query(`CREATE TABLE "${srcSchema}".orders (id bigint PRIMARY KEY, v text); CREATE TABLE "${srcSchema}".events (at timestamptz, v text)`);
    await source.query(`GRANT USAGE ON SCHEMA "${srcSchema}" TO "${role}"; GRANT SELECT ON ALL TABLES IN SCHEMA "${srcSchema}" TO "${role}"`);
  });
  afterAll(async () => {
    await dropTestSchemaUnlessFailed(target, schema);
    await source.query(`DROP SCHEMA IF EXISTS "${srcSchema}" CASCADE`);
    await source.query(`REVOKE CREATE ON DATABASE nilus_source FROM "${role}"`);
    await source.query(`DROP OWNED BY "${role}"`);
    await source.query(`DROP ROLE IF EXISTS "${role}"`);
    await source.end();
    await target.end();
  });

  const check = async (cdc: Record<string, string> = {}): Promise<CheckLine[]> => {
    const url = new URL(sourcePgUrl());
    url.username = role;
    const text = JSON.stringify({
      name, version: 'v1alpha', type: 'nilus',
      spec: {
        type: 'cdc',
        source: { address: url.toString(), options: { kafka: `kafka://${kafkaBrokers().join(',')}`, connect_url: connectUrl() }, cdc: { 'topic.prefix': name, 'collection.include.list': `${srcSchema}\\..*`, ...cdc } },
        sink: { address: targetPgUrl(), options: { dest_table: `${schema}.{table}`, incremental_strategy: 'merge' } },
      },
    });
    return runChecks(await buildConfig(parseManifest(text).manifest, undefined, process.env));
  };
  const failed = (lines: CheckLine[]) => lines.filter((l) => !l.ok).map((l) => l.text);

  it('reports each missing prerequisite with its fix, and passes once they are fixed', async () => {
    const lines = await check();
    const text = lines.map((l) => `${l.ok ? 'ok  ' : 'FAIL'} ${l.text}`).join('\n');
    expect(text).toMatch(/ok {3}wal_level=logical/);
    expect(text).toMatch(/ok {3}Kafka Connect reachable at/);
    expect(text).toMatch(/ok {3}Debezium PostgreSQL connector plugin installed/);
    expect(text).toMatch(/ok {3}a free replication slot for nilus_mgdchk/);
    expect(text).toMatch(/ok {3}Kafka Connect validated the connector config \(Debezium reached 127\.0\.0\.1:\d+\/nilus_source as nilus_norepl/);
    expect(text).toMatch(/ok {3}2 source table\(s\) selected/);
    expect(text).toMatch(/ok {3}schema changes: widenings applied in the flush .*; other type changes stop the pipeline at the first record of the new type, naming it \(schema_change unset: errors.tolerance none\)/);
    const fails = failed(lines);
    expect(fails).toEqual([
      `source user ${role} lacks REPLICATION, so it cannot stream changes — ALTER ROLE "${role}" WITH REPLICATION (on Amazon RDS: GRANT rds_replication TO "${role}")`,
      expect.stringMatching(new RegExp(`^${srcSchema}\\.events has no primary key and no REPLICA IDENTITY FULL, so updates and deletes arrive without their key — ALTER TABLE "${srcSchema}"\\."events" REPLICA IDENTITY FULL;$`)),
      expect.stringMatching(new RegExp(`^publication nilus_mgdchk\\S+ does not exist and ${role} cannot create it — GRANT CREATE ON DATABASE "nilus_source" TO "${role}", and make ${role} own ${srcSchema}\\.events, ${srcSchema}\\.orders`)),
    ]);

    await source.query(`ALTER ROLE "${role}" WITH REPLICATION`);
    await source.query(`ALTER TABLE "${srcSchema}".events REPLICA IDENTITY FULL`);
    await source.query(`GRANT CREATE ON DATABASE nilus_source TO "${role}"`);
    await source.query(`ALTER TABLE "${srcSchema}".events OWNER TO "${role}"; ALTER TABLE "${srcSchema}".orders OWNER TO "${role}"`);
    const fixed = await check();
    expect(failed(fixed)).toEqual([]);
    // a connector property Debezium refuses is reported by Connect's own validation
    const bad = failed(await check({ 'snapshot.mode': 'sometimes' }));
    expect(bad).toEqual([expect.stringMatching(/^Kafka Connect rejects the connector config — snapshot.mode: The 'snapshot.mode' value is invalid/)]);
    expect(fixed.map((l) => l.text)).toEqual(expect.arrayContaining([
      `source user ${role} has REPLICATION`,
      'every selected table has a primary key or REPLICA IDENTITY FULL',
      expect.stringMatching(/^publication nilus_mgdchk\S+ can be created by the connector/),
      expect.stringMatching(/^connector nilus-mgdchk\S+ does not exist yet: nilus-pg run creates it$/),
    ]));
  });
});
