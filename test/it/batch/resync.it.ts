/**
 * Issue 29, item 3 for batch pipelines: `nilus-pg resync` is one full run that ignores the stored
 * cursor and then stores the cursor the source holds now. Target rows deleted by hand are not
 * brought back by incremental runs (they read past the cursor only) but are by a resync; the next
 * incremental run continues from the reset cursor. An append pipeline is refused.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { buildConfig, parseManifest } from '../../../src/config';
import { main } from '../../../src/cli/main';
import { startService } from '../../../src/service/run';
import { createLogger } from '../../../src/observe/logger';
import type { CoreEvents } from '../../../src/kernel/events';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, targetPgUrl } from '../../helpers/pg';
import { sourcePgUrl } from '../../helpers/stack';

type Finished = CoreEvents['batchFinished'][0];

function manifest(name: string, source: string, dest: string, strategy: string): string {
  return JSON.stringify({
    name, version: 'v1alpha', type: 'nilus',
    spec: {
      type: 'batch',
      source: { address: sourcePgUrl(), options: { source_table: source, page_size: 500, incremental_key: 'updated_at' } },
      sink: { address: targetPgUrl(), options: { dest_table: dest, incremental_strategy: strategy, http_port: 0, log_level: 'warn' } },
    },
  });
}

async function run(text: string): Promise<Finished | undefined> {
  const cfg = await buildConfig(parseManifest(text).manifest, undefined, process.env);
  const svc = await startService(cfg, { log: createLogger({ level: 'warn', name: 'resync-test', destination: { write: () => undefined } }) });
  let finished: Finished | undefined;
  svc.emitter.on('batchFinished', (f) => (finished = f));
  expect(await svc.done).toBe(0);
  return finished;
}

async function cli(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

const CANON = (t: string) =>
  `SELECT count(*)::int AS n, coalesce(md5(string_agg(format('%s|%s|%s', id, name, updated_at), ',' ORDER BY id)), '') AS h FROM ${t}`;

describe('nilus-pg resync of a batch pipeline', () => {
  let source: Pool;
  let target: Pool;
  let src: string;
  let dst: string;
  beforeAll(async () => {
    source = new Pool({ connectionString: sourcePgUrl(), max: 2 });
    target = newPool();
    src = await createTestSchema(source, 'rbsrc');
    dst = await createTestSchema(target, 'rbdst');
  });
  afterAll(async () => {
    await dropTestSchemaUnlessFailed(source, src);
    await dropTestSchemaUnlessFailed(target, dst);
    await source.end();
    await target.end();
  });

  const cursorOf = async (pipeline: string): Promise<string | undefined> =>
    (await target.query(`SELECT cursor_value FROM "${dst}".nilus_batch_state WHERE pipeline = $1`, [pipeline])).rows[0]?.cursor_value;

  it('merge: a full run brings back rows deleted from the target, resets the cursor, and the next run continues from it', async () => {
    await source.query(`CREATE TABLE "${src}".acc (id int PRIMARY KEY, name text, updated_at timestamp(6) NOT NULL)`);
    await source.query(`INSERT INTO "${src}".acc SELECT g, 'n' || g, '2024-01-01'::timestamp + g * interval '1 second' FROM generate_series(1, 2000) g`);
    const m = manifest('rsy-merge', `${src}.acc`, `${dst}.acc`, 'merge');
    const file = join(mkdtempSync(join(tmpdir(), 'nilus-rsyb-')), 'manifest.yaml');
    writeFileSync(file, m);
    expect(await run(m)).toMatchObject({ outcome: 'success', rows: 2000 });
    expect(await cursorOf('rsy-merge')).toBe('2024-01-01 00:33:20');

    // damage by hand; an incremental run reads only from the cursor on and does not repair it
    expect((await target.query(`DELETE FROM "${dst}".acc WHERE id % 4 = 0`)).rowCount).toBe(500);
    expect(await run(m)).toMatchObject({ outcome: 'success', rows: 1 });
    // only id 2000, at the stored cursor (merge reads >=), came back
    expect((await target.query(`SELECT count(*)::int AS n FROM "${dst}".acc`)).rows[0].n).toBe(1501);
    // a later change at the source, and a row whose cursor went back in time (never read incrementally)
    await source.query(`UPDATE "${src}".acc SET name = 'later', updated_at = '2024-03-01' WHERE id = 7`);
    await source.query(`UPDATE "${src}".acc SET name = 'earlier', updated_at = '2023-01-01' WHERE id = 9`);

    const r = await cli(['resync', file, '--table', `${src}.acc`]);
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.out).toEqual([`full run of ${src}.acc: 2000 row(s) written; cursor updated_at reset to 2024-03-01 00:00:00`]);
    expect((await target.query(CANON(`"${dst}".acc`))).rows[0]).toEqual((await source.query(CANON(`"${src}".acc`))).rows[0]);
    expect(await cursorOf('rsy-merge')).toBe('2024-03-01 00:00:00');

    // the next incremental run continues from the reset cursor: only what is new
    await source.query(`INSERT INTO "${src}".acc VALUES (2001, 'new', '2024-04-01')`);
    expect(await run(m)).toMatchObject({ outcome: 'success', rows: 2 }); // the row at the stored cursor (merge reads >=) and the new one
    expect((await target.query(CANON(`"${dst}".acc`))).rows[0]).toEqual((await source.query(CANON(`"${src}".acc`))).rows[0]);
  });

  it('append is refused (a full run would add every row again); a --table other than the source table is named', async () => {
    await source.query(`CREATE TABLE "${src}".ev (id int PRIMARY KEY, name text, updated_at timestamp NOT NULL)`);
    const file = join(mkdtempSync(join(tmpdir(), 'nilus-rsyb-')), 'append.yaml');
    writeFileSync(file, manifest('rsy-append', `${src}.ev`, `${dst}.ev`, 'append'));
    const refused = await cli(['resync', file, '--table', `${src}.ev`]);
    expect(refused.code).toBe(2);
    expect(refused.err.join('\n')).toMatch(/incremental_strategy: resync of an append pipeline is refused: a full run would add every source row to the target a second time/);
    const other = await cli(['resync', file, '--table', `${src}.other`]);
    expect(other.code).toBe(2);
    expect(other.err.join('\n')).toContain(`is not this batch pipeline's source table (spec.source.options.source_table: ${src}.ev)`);
  });
});
