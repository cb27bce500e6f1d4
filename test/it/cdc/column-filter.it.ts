/**
 * Column filters and masks with real Debezium (spec.sink.options.columns): an excluded column and
 * masked ones (hash, redact, a fixed value) land as configured, through an add-column evolution
 * where the added column that is excluded is never added while a kept one is. The worker reaches
 * PostgreSQL through a proxy that keeps every byte it sends: no filtered or masked source value is
 * in them (not in a COPY into staging, not anywhere), while the kept values are.
 */
import { createHmac } from 'node:crypto';
import { Pool } from 'pg';
import { columnTypes, createTestSchema, dropTestSchemaUnlessFailed, newPool, targetPgUrl, uniqueName } from '../../helpers/pg';
import { registerPostgresSource, removeConnector } from '../../helpers/debezium';
import { sourcePgUrl } from '../../helpers/stack';
import { cdcManifest, startInProcess, waitFor } from '../../helpers/pipeline';
import { RecordingProxy } from '../../helpers/recording-proxy';

describe('column filters and masks with real Debezium', () => {
  let target: Pool;
  let source: Pool;
  let proxy: RecordingProxy;
  let schema: string;
  let src: string;
  const connector = uniqueName('colf');
  const keyEnv = `NILUS_TEST_HASH_KEY_${process.pid}`;
  const key = `key-${connector}`;
  const tag = connector.replace(/[^a-z0-9]/gi, '');
  const hash = (v: string): string => createHmac('sha256', key).update(v, 'utf8').digest('hex');

  beforeAll(async () => {
    target = newPool();
    source = new Pool({ connectionString: sourcePgUrl(), max: 2 });
    schema = await createTestSchema(target, 'colf');
    src = await createTestSchema(source, 'colfsrc');
    const url = new URL(targetPgUrl());
    proxy = await RecordingProxy.start(url.hostname, Number(url.port));
    process.env[keyEnv] = key;
  });
  afterAll(async () => {
    delete process.env[keyEnv];
    await removeConnector(connector).catch(() => undefined);
    await proxy.stop();
    await dropTestSchemaUnlessFailed(target, schema);
    await dropTestSchemaUnlessFailed(source, src);
    await target.end();
    await source.end();
  });

  it('excluded and masked values never reach PostgreSQL, through an add-column evolution', async () => {
    const t = `"${src}".people`;
    const dst = `"${schema}".people`;
    await source.query(`CREATE TABLE ${t} (id int PRIMARY KEY, name text, email text, ssn text, note text, secret_note text)`);
    const v = (what: string, id: number): string => `${what}-${tag}-${id}`;
    await source.query(`INSERT INTO ${t} VALUES ($1, $2, $3, $4, $5, $6), (2, $7, NULL, $8, NULL, $9)`,
      [1, v('NAME', 1), v('MAIL', 1), v('SSN', 1), v('NOTE', 1), v('SECRET', 1), v('NAME', 2), v('SSN', 2), v('SECRET', 2)]);
    await registerPostgresSource({ name: connector, topicPrefix: connector, tableIncludeList: `${src}.people`, slotName: connector, publicationName: connector });

    const manifest = JSON.parse(cdcManifest({
      name: connector, prefix: connector, dest: `${schema}.people`, strategy: 'merge', include: `${src}.people`,
      options: {
        decode_threads: 1, // the rules cross to the decode thread too
        columns: { exclude: ['secret_note', '/pii_.+/'], mask: { email: 'hash', ssn: 'redact', note: { value: '***' } }, hash_key_env: keyEnv },
      },
    })) as { spec: { sink: { address: string } } };
    const url = new URL(targetPgUrl());
    url.port = String(proxy.port);
    manifest.spec.sink.address = url.toString();
    const svc = await startInProcess(JSON.stringify(manifest));
    try {
      const first = await waitFor(target, `SELECT id, name, email, ssn, note FROM ${dst} ORDER BY id`, (r) => r.length === 2);
      expect(first).toEqual([
        { id: 1, name: v('NAME', 1), email: hash(v('MAIL', 1)), ssn: null, note: '***' },
        { id: 2, name: v('NAME', 2), email: null, ssn: null, note: null },
      ]);
      expect(await columnTypes(target, schema, 'people')).toEqual({ id: 'integer', name: 'text', email: 'text', ssn: 'text', note: 'text' });

      // ADD COLUMN mid-stream: the kept one is added, the excluded one never is.
      await source.query(`ALTER TABLE ${t} ADD COLUMN pii_phone text, ADD COLUMN city text`);
      await source.query(`INSERT INTO ${t} (id, name, email, ssn, note, secret_note, pii_phone, city) VALUES (3, $1, $2, $3, $4, $5, $6, $7)`,
        [v('NAME', 3), v('MAIL', 3), v('SSN', 3), v('NOTE', 3), v('SECRET', 3), v('PHONE', 3), v('CITY', 3)]);
      await source.query(`UPDATE ${t} SET email = $1, pii_phone = $2, city = $3 WHERE id = 1`, [v('MAIL', 11), v('PHONE', 1), v('CITY', 1)]);
      const later = await waitFor(target, `SELECT id, email, city FROM ${dst} WHERE id IN (1, 3) ORDER BY id`,
        (r) => r.length === 2 && r[0]?.city === v('CITY', 1));
      expect(later).toEqual([{ id: 1, email: hash(v('MAIL', 11)), city: v('CITY', 1) }, { id: 3, email: hash(v('MAIL', 3)), city: v('CITY', 3) }]);
      expect(Object.keys(await columnTypes(target, schema, 'people')).sort()).toEqual(['city', 'email', 'id', 'name', 'note', 'ssn']);
    } finally {
      await svc.stop();
    }

    // What the worker sent PostgreSQL: the kept values (so the recording sees the COPY data) …
    expect(proxy.sentBytes).toBeGreaterThan(0);
    for (const kept of [v('NAME', 1), v('NAME', 3), v('CITY', 3), hash(v('MAIL', 3))]) expect(proxy.sent(kept)).toBe(true);
    // … and none of the excluded or masked source values, in staging or anywhere else.
    for (const id of [1, 2, 3]) {
      for (const what of ['SECRET', 'MAIL', 'SSN', 'NOTE', 'PHONE']) expect([what, id, proxy.sent(v(what, id))]).toEqual([what, id, false]);
    }
    expect(proxy.sent(v('MAIL', 11))).toBe(false);
  });

  it('a rule on the Kafka key\'s column stops the pipeline at the first event, naming it, before anything lands', async () => {
    // The same topic, read by a second pipeline (its own group) that redacts the key column.
    const svc = await startInProcess(cdcManifest({
      name: `${connector}-key`, prefix: connector, dest: `${schema}.people_key`, strategy: 'merge', include: `${src}.people`, groupId: `${connector}-key`,
      options: { columns: { mask: { id: 'redact' } } },
    }));
    const code = await Promise.race([svc.done, new Promise<string>((r) => setTimeout(() => r('still running'), 60_000))]);
    if (code === 'still running') await svc.stop();
    else await svc.stop().catch(() => undefined); // closes what the failed run left open
    expect(code).toBe(1);
    expect(svc.logs()).toMatch(/primary-key column \\?"id\\?" \(masked\) of topic/);
    expect((await target.query('SELECT to_regclass($1) AS t', [`"${schema}".people_key`])).rows[0].t).toBeNull();
  });
});
