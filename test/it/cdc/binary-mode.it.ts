/** binary.handling.mode: bytea sent as hex strings (with the source type propagated) lands as the same bytes. */
import type { Pool } from 'pg';
import { createTopics } from '../../helpers/kafka';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, uniqueName } from '../../helpers/pg';
import { cdcManifest, produceMany, startInProcess, waitFor } from '../../helpers/pipeline';
import { EventFactory } from '../../fixtures/factory';

describe('binary.handling.mode', () => {
  let pool: Pool;
  let schema: string;
  beforeAll(async () => {
    pool = newPool();
    schema = await createTestSchema(pool, 'bin');
  });
  afterAll(async () => {
    await dropTestSchemaUnlessFailed(pool, schema);
    await pool.end();
  });

  it.each(['hex', 'base64'] as const)('%s: the connector setting in the manifest decodes bytea exactly', async (mode) => {
    const prefix = uniqueName(`bin_${mode}`);
    const f = new EventFactory({
      prefix, schema: 'public', table: 'blobs', key: ['id'],
      fields: [
        { name: 'id', type: 'int32', optional: false },
        { name: 'data', type: 'string', optional: true, parameters: { '__debezium.source.column.type': 'BYTEA' } },
      ],
    });
    await createTopics([f.topic]);
    const bytes = Buffer.from([0x00, 0xff, 0x10, 0x5c, 0x0a]);
    const text = mode === 'hex' ? bytes.toString('hex') : bytes.toString('base64');
    await produceMany(f.topic, f.create({ id: 1, data: text }));
    const svc = await startInProcess(cdcManifest({
      name: prefix, prefix, dest: `${schema}.blobs_${mode}`, strategy: 'merge', include: 'public.blobs',
      cdc: { 'binary.handling.mode': mode },
    }));
    try {
      const rows = await waitFor<{ hex: string }>(pool, `SELECT encode(data, 'hex') AS hex FROM "${schema}".blobs_${mode}`, (r) => r.length === 1);
      expect(rows[0].hex).toBe('00ff105c0a');
    } finally {
      expect(await svc.stop()).toBe(0);
    }
  });
});
