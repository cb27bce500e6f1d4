/**
 * `nilus-pg status` and the lag metrics on the real stack: a CDC pipeline running in this process,
 * then stopped. The figures status prints are checked against what Kafka (admin
 * fetchTopicOffsets, describeGroups) and the target's offsets table say; each exit code (0 healthy,
 * 1 lagging, 2 cannot tell) is provoked; the worker's /metrics shows the per-table lag in seconds
 * and the per-partition lag in records moving while a flush is held back by a lock.
 */
import { request } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool, PoolClient } from 'pg';
import { main } from '../../../src/cli/main';
import type { StatusReport } from '../../../src/cli/status-report';
import { createTopics, produce, testKafka } from '../../helpers/kafka';
import { uniqueName, useTestSchema } from '../../helpers/pg';
import { cdcManifest, startInProcess, waitFor } from '../../helpers/pipeline';
import { EventFactory, ordersTable, orderRow } from '../../fixtures/factory';

jest.setTimeout(180_000);

function scrape(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The value of one series in a scrape, or undefined. */
function sample(body: string, series: string): number | undefined {
  const line = body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Runs `nilus-pg status <manifest> …` through the CLI entry point; the exit code, stdout and stderr. */
async function status(manifestPath: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['status', manifestPath, ...args], { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

async function kafkaEnd(topic: string): Promise<string> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).find((p) => p.partition === 0)!.high;
  } finally {
    await admin.disconnect();
  }
}

describe('nilus-pg status and the lag metrics', () => {
  let pool: Pool;
  let schema: string;
  useTestSchema('status', (p, s) => ((pool = p), (schema = s)));

  it('reports what Kafka and the target hold, with the worker running and stopped; exit 0, 1 and 2; /metrics shows the lag', async () => {
    const prefix = uniqueName('stat');
    const f = new EventFactory(ordersTable(prefix));
    await createTopics([f.topic]);
    const dir = mkdtempSync(join(tmpdir(), 'nilus-status-'));
    const manifestText = cdcManifest({ name: prefix, prefix, dest: `${schema}.orders`, strategy: 'merge', include: 'public.orders', groupId: `${prefix}-g` });
    const manifest = join(dir, 'manifest.yaml');
    writeFileSync(manifest, manifestText);
    const offsets = async () => (await pool.query<{ next: string; source_ms: number | null }>(
      `SELECT next_offset::text AS next, (extract(epoch FROM source_ts) * 1000)::float8 AS source_ms FROM "${schema}".nilus_offsets WHERE topic = $1 AND partition = 0`, [f.topic])).rows[0];

    // Five changes committed at the source 20 s ago, one (the newest) 10 s ago.
    const t0 = Date.now();
    await produce(f.topic, [...[1, 2, 3, 4].flatMap((id) => f.create(orderRow(id, 0), t0 - 20_000)), ...f.create(orderRow(5, 0), t0 - 10_000)]);
    const svc = await startInProcess(manifestText);
    let locker: PoolClient | undefined;
    try {
      await waitFor(pool, `SELECT id FROM "${schema}".orders`, (r) => r.length === 5);
      await until('the offset stored', async () => ((await offsets())?.next === '5' ? true : undefined));
      // source_ts is stored with the offset, in the flush's transaction: the newest change's time.
      expect((await offsets())!.source_ms).toBe(t0 - 10_000);

      // ---- running, caught up: exit 0; the figures are Kafka's and the target's.
      const running = await status(manifest, '--json');
      expect({ code: running.code, err: running.err }).toEqual({ code: 0, err: '' });
      const r = JSON.parse(running.out) as StatusReport;
      expect(r.partitions).toHaveLength(1);
      expect(r.partitions[0]).toMatchObject({
        table: `${schema}.orders`, topic: f.topic, partition: 0,
        storedOffset: (await offsets())!.next, endOffset: await kafkaEnd(f.topic), lagMessages: 0,
        lastSourceTime: new Date(t0 - 10_000).toISOString(), lagging: false,
      });
      const age = (Date.now() - (t0 - 10_000)) / 1000;
      expect(r.partitions[0]!.lagSeconds).toBeGreaterThanOrEqual(10);
      expect(r.partitions[0]!.lagSeconds).toBeLessThanOrEqual(age + 1);
      expect(r.tables).toEqual([expect.objectContaining({ table: `${schema}.orders`, lagMessages: 0, lagSeconds: 0, lagging: false })]);
      expect(r.group).toMatchObject({ id: `${prefix}-g`, state: 'Stable' });
      expect(r.group!.members).toHaveLength(1);
      expect(r.group!.members[0]!.partitions).toEqual([`${f.topic}[0]`]);
      const text = await status(manifest);
      expect(text.code).toBe(0);
      expect(text.out).toContain(`pipeline ${prefix} (cdc): HEALTHY (exit 0)`);
      expect(text.out).toMatch(new RegExp(`${schema}\\.orders\\s+${f.topic.replace(/\./g, '\\.')}\\[0\\]\\s+5\\s+5\\s+0\\s+`));

      // ---- /metrics: the table's lag in seconds is now minus the newest source time applied.
      const quoted = `"${schema}"."orders"`.replace(/"/g, '\\"');
      const before = Date.now();
      let body = await scrape(svc.httpPort);
      const tableLag = sample(body, `nilus_table_lag_seconds{pipeline="${prefix}",table="${quoted}"}`);
      expect(tableLag).toBeGreaterThanOrEqual((before - (t0 - 10_000)) / 1000 - 0.001);
      expect(tableLag).toBeLessThanOrEqual((Date.now() - (t0 - 10_000)) / 1000 + 0.001);
      const lagSeries = `nilus_consumer_lag{pipeline="${prefix}",topic="${f.topic}",partition="0"}`;
      expect(sample(body, lagSeries)).toBe(0);

      // ---- a flush held back by a lock on the target table: nothing is flushed, yet the lag in
      // records follows Kafka's end offset (read on the 10 s timer), and status says lagging.
      locker = await pool.connect();
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE "${schema}".orders IN ACCESS EXCLUSIVE MODE`);
      await produce(f.topic, [6, 7, 8].flatMap((id) => f.create(orderRow(id, 0), Date.now())));
      await until('nilus_consumer_lag at 3', async () => (sample(await scrape(svc.httpPort), lagSeries) === 3 ? true : undefined), 40_000);
      expect((await offsets())!.next).toBe('5');
      const held = await status(manifest, '--json', '--max-lag-seconds', '1');
      expect(held.code).toBe(1);
      const h = JSON.parse(held.out) as StatusReport;
      expect(h.partitions[0]).toMatchObject({ storedOffset: '5', endOffset: '8', lagMessages: 3, lagging: true });
      expect(h.problems).toEqual([expect.stringMatching(new RegExp(`^${schema}\\.orders: 3 message\\(s\\) behind, last change applied \\d+(\\.\\d)? s ago \\(more than 1 s\\)$`))]);
      await locker.query('ROLLBACK');
      locker.release();
      locker = undefined;
      await until('the held flush applied', async () => ((await offsets())?.next === '8' ? true : undefined));
      await until('nilus_consumer_lag back at 0', async () => (sample(await scrape(svc.httpPort), lagSeries) === 0 ? true : undefined), 40_000);
      body = await scrape(svc.httpPort);
      expect(sample(body, `nilus_table_lag_seconds{pipeline="${prefix}",table="${quoted}"}`)).toBeLessThan((Date.now() - t0) / 1000);
    } finally {
      if (locker) {
        await locker.query('ROLLBACK').catch(() => undefined);
        locker.release();
      }
      expect(await svc.stop()).toBe(0);
    }

    // ---- stopped: status still answers from the target's tables and Kafka; the group is empty.
    const stoppedTs = Date.now() - 5_000;
    await produce(f.topic, [9, 10].flatMap((id) => f.create(orderRow(id, 0), stoppedTs)));
    const stopped = await status(manifest, '--json');
    const s = JSON.parse(stopped.out) as StatusReport;
    expect(s.partitions[0]).toMatchObject({ storedOffset: (await offsets())!.next, endOffset: await kafkaEnd(f.topic), lagMessages: 2 });
    expect(s.partitions[0]!.storedOffset).toBe('8');
    expect(s.partitions[0]!.endOffset).toBe('10');
    expect(s.group).toMatchObject({ members: [] });
    // the last change applied is seconds old: under the default 300 s, healthy; over 1 s, lagging
    expect(stopped.code).toBe(0);
    const strict = await status(manifest, '--max-lag-seconds', '1');
    expect(strict.code).toBe(1);
    expect(strict.out).toContain('UNHEALTHY (exit 1)');
    expect(strict.out).toMatch(/\bLAGGING$/m);

    // ---- a part that cannot be read (Kafka at a closed port) and nothing read wrong: exit 2.
    const noKafka = join(dir, 'no-kafka.yaml');
    writeFileSync(noKafka, manifestText.replace(/kafka:\/\/[^"]+/, 'kafka://127.0.0.1:1'));
    const unknown = await status(noKafka, '--json');
    expect(unknown.code).toBe(2);
    const u = JSON.parse(unknown.out) as StatusReport;
    expect(u).toMatchObject({ health: 'unknown', unreachable: [{ part: 'Kafka' }] });
    // what the target holds is still shown, its lag unknown
    expect(u.partitions[0]).toMatchObject({ storedOffset: '8', endOffset: null, lagMessages: null });
  });

  it('an offsets table from before source_ts: status reads it (source time unknown), and the worker adds the column at start-up and fills it', async () => {
    const prefix = uniqueName('statold');
    const f = new EventFactory(ordersTable(prefix));
    await createTopics([f.topic]);
    const group = `${prefix}-g`;
    // The table as earlier versions created it, holding offset 2 of the topic.
    await pool.query(`CREATE TABLE "${schema}".nilus_offsets (group_id text NOT NULL, topic text NOT NULL, partition int NOT NULL, next_offset bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (group_id, topic, partition))`);
    await pool.query(`INSERT INTO "${schema}".nilus_offsets VALUES ($1, $2, 0, 2, now())`, [group, f.topic]);
    const ts = Date.now() - 30_000;
    await produce(f.topic, [1, 2, 3, 4, 5].flatMap((id) => f.create(orderRow(id, 0), ts + id)));
    const dir = mkdtempSync(join(tmpdir(), 'nilus-status-'));
    const manifestText = cdcManifest({ name: prefix, prefix, dest: `${schema}.orders`, strategy: 'merge', include: 'public.orders', groupId: group });
    const manifest = join(dir, 'manifest.yaml');
    writeFileSync(manifest, manifestText);

    const before = JSON.parse((await status(manifest, '--json')).out) as StatusReport;
    expect(before.partitions[0]).toMatchObject({ storedOffset: '2', endOffset: '5', lagMessages: 3, lastSourceTime: null, lagSeconds: null, lagging: false });

    const svc = await startInProcess(manifestText);
    try {
      await waitFor(pool, `SELECT id FROM "${schema}".orders`, (r) => r.length === 3); // offsets 2..4: ids 3, 4, 5
      const row = await until('the offset stored with its source time', async () => (await pool.query<{ next: string; source_ms: number | null }>(
        `SELECT next_offset::text AS next, (extract(epoch FROM source_ts) * 1000)::float8 AS source_ms FROM "${schema}".nilus_offsets WHERE group_id = $1`, [group])).rows.find((r) => r.next === '5'));
      expect(row.source_ms).toBe(ts + 5);
    } finally {
      expect(await svc.stop()).toBe(0);
    }
    const after = JSON.parse((await status(manifest, '--json')).out) as StatusReport;
    expect(after.partitions[0]).toMatchObject({ storedOffset: '5', endOffset: '5', lagMessages: 0, lastSourceTime: new Date(ts + 5).toISOString() });
  });
});
