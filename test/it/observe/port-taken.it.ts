/**
 * Two workers of one pipeline on one host with the same http_port (the built CLI, dist/): the
 * second exits 2 with one line naming spec.sink.options.http_port, the port and the fix, and no
 * stack trace; the first keeps serving.
 */
import type { Pool } from 'pg';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, uniqueName } from '../../helpers/pg';
import { cdcManifest } from '../../helpers/pipeline';
import { freePort, httpGet } from '../ops/support';
import { runWorker, workerPort } from '../ops/worker';

describe('a second worker on a taken http_port', () => {
  let pool: Pool;
  let schema: string;
  beforeAll(async () => {
    pool = newPool();
    schema = await createTestSchema(pool, 'porttaken');
  });
  afterAll(async () => {
    await dropTestSchemaUnlessFailed(pool, schema);
    await pool.end();
  });

  it('exits 2 with one line naming the option, the port and the fix', async () => {
    const prefix = uniqueName('porttaken');
    const port = await freePort();
    const manifest = cdcManifest({ name: prefix, prefix, dest: `${schema}.{table}`, strategy: 'merge', options: { http_port: port, log_level: 'info' } });
    const first = runWorker(manifest);
    try {
      expect(await workerPort(first)).toBe(port);
      const second = runWorker(manifest);
      expect(await second.code).toBe(2);
      const out = second.output();
      const lines = out.split('\n').filter((l) => l.includes('http_port'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        new RegExp(`manifest\\.yaml: spec\\.sink\\.options\\.http_port: port ${port} is already in use on this host .*give each worker on one host its own http_port, or set http_port: 0 to pick a free port$`),
      );
      expect(out).not.toMatch(/\n\s+at /); // no stack trace
      expect(out).not.toMatch(/"level":"(error|fatal)"/); // and no error log line carrying one
      // The first worker is untouched.
      expect((await httpGet(port, '/healthz')).status).toBe(200);
    } finally {
      first.child.kill('SIGTERM');
      expect(await first.code).toBe(0);
    }
  }, 90_000);
});
