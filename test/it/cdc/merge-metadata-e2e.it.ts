/**
 * metadata_columns on a merge target through real Debezium: after snapshot reads, inserts,
 * updates, deletes (delete_mode soft, so deleted rows stay) and a key change, each row's
 * `_nilus_*` columns equal the Kafka position, op and source position of the last message of its
 * key, read back from the topic itself; a truncate then stamps the live rows with its own message.
 */
import { Pool } from 'pg';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, uniqueName } from '../../helpers/pg';
import { registerPostgresSource, removeConnector } from '../../helpers/debezium';
import { readAll, type ReadMessage } from '../../helpers/kafka';
import { sourcePgUrl } from '../../helpers/stack';
import { cdcManifest, startInProcess, waitFor } from '../../helpers/pipeline';

jest.setTimeout(240_000);

type Meta = {
  id: string;
  op: string;
  ts: string | null;
  lsn: string | null;
  topic: string;
  partition: number;
  offset: string;
  applied: boolean;
  gone: boolean;
};

const META = (schema: string) => `
  SELECT id::text AS id, _nilus_op AS op, to_char(_nilus_source_ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ts,
         _nilus_source_lsn::text AS lsn, _nilus_topic AS topic, _nilus_partition AS partition, _nilus_offset::text AS offset,
         _nilus_applied_at IS NOT NULL AS applied, _nilus_deleted_at IS NOT NULL AS gone
    FROM "${schema}".items ORDER BY id`;

/** What a message says a row's metadata should be. */
function expected(m: ReadMessage): Omit<Meta, 'id' | 'gone'> {
  const p = JSON.parse(m.value!.toString()).payload as { op: string; source: { lsn: number; ts_ms: number } };
  return { op: p.op, ts: new Date(p.source.ts_ms).toISOString(), lsn: String(p.source.lsn), topic: m.topic, partition: m.partition, offset: m.offset, applied: true };
}

describe('metadata_columns on merge through real Debezium', () => {
  let target: Pool;
  let source: Pool;
  let schema: string;
  let srcSchema: string;
  let svc: Awaited<ReturnType<typeof startInProcess>> | undefined;
  const connector = uniqueName('meta');
  let topic: string;

  beforeAll(async () => {
    target = newPool();
    source = new Pool({ connectionString: sourcePgUrl(), max: 2 });
    schema = await createTestSchema(target, 'meta');
    srcSchema = await createTestSchema(source, 'metasrc');
    topic = `${connector}.${srcSchema}.items`;
    await source.query(`CREATE TABLE "${srcSchema}".items (id int PRIMARY KEY, name text)`);
    await source.query(`INSERT INTO "${srcSchema}".items SELECT g, 'n' || g FROM generate_series(1, 30) g`);
    await registerPostgresSource({
      name: connector, topicPrefix: connector, tableIncludeList: `${srcSchema}.items`, slotName: connector, publicationName: connector,
      extra: { 'skipped.operations': 'none' },
    });
    svc = await startInProcess(cdcManifest({
      name: connector, prefix: connector, dest: `${schema}.items`, strategy: 'merge', include: `${srcSchema}.items`,
      options: { metadata_columns: true, delete_mode: 'soft' },
    }));
  });
  afterAll(async () => {
    if (svc) expect(await svc.stop()).toBe(0);
    await removeConnector(connector).catch(() => undefined);
    await dropTestSchemaUnlessFailed(target, schema);
    await dropTestSchemaUnlessFailed(source, srcSchema);
    await target.end();
    await source.end();
  });

  it("each row holds its key's last message: op, source ts and LSN, topic, partition, offset", async () => {
    await source.query(`INSERT INTO "${srcSchema}".items SELECT g, 'n' || g FROM generate_series(31, 40) g`);
    await source.query(`UPDATE "${srcSchema}".items SET name = name || '!' WHERE id % 3 = 0`);
    await source.query(`DELETE FROM "${srcSchema}".items WHERE id % 5 = 0`);
    await source.query(`UPDATE "${srcSchema}".items SET id = 2002 WHERE id = 2`);
    const got = await waitFor<Meta>(target, META(schema), (r) => r.length === 41 && r.filter((x) => x.gone).length === 9);
    // 30 reads, 10 creates, 13 updates, 8 deletes + tombstones, the key change's delete + tombstone + create
    const messages = await readAll(topic, { expect: 30 + 10 + 13 + 16 + 3 });
    const last = new Map<string, ReadMessage>();
    for (const m of messages) {
      if (m.value === null) continue; // a tombstone: nothing lands
      last.set(String(JSON.parse(m.key!.toString()).payload.id), m);
    }
    expect(last.size).toBe(41);
    const want = [...last.entries()].map(([id, m]) => ({ id, ...expected(m), gone: JSON.parse(m.value!.toString()).payload.op === 'd' }));
    const byId = (a: { id: string }, b: { id: string }) => Number(a.id) - Number(b.id);
    expect(got.sort(byId)).toEqual(want.sort(byId));
    // every kind of op is there: snapshot reads, creates, updates, deletes
    expect(new Set(got.map((r) => r.op))).toEqual(new Set(['r', 'c', 'u', 'd']));
  });

  it('a truncate stamps the live rows with its own message; deleted rows keep their delete', async () => {
    const before = await target.query<Meta>(META(schema));
    await source.query(`TRUNCATE "${srcSchema}".items`);
    const got = await waitFor<Meta>(target, META(schema), (r) => r.every((x) => x.gone));
    const messages = await readAll(topic, { expect: 73 });
    const t = messages.find((m) => m.value !== null && JSON.parse(m.value.toString()).payload.op === 't');
    expect(t).toBeDefined();
    const stamp = expected(t!);
    for (const row of got) {
      const was = before.rows.find((b) => b.id === row.id)!;
      expect(row).toEqual(was.gone ? was : { id: row.id, ...stamp, gone: true });
    }
    expect(got.filter((r) => r.op === 't')).toHaveLength(32);
  });
});
