/**
 * The peer: Debezium's JDBC sink connector on the same schema+payload topic, upserting into a
 * fresh table of the nilus_jdbc database. Timed from registering the connector until its consumer
 * group's committed offsets reach the end of every partition (Connect commits sink offsets only
 * after the rows are flushed, every offset.flush.interval.ms — 1 s on the local stack).
 */
import { compareDigest, expectedDigest, tableDigest } from '../check';
import { rate, sleep, type RunResult } from '../result';
import { since, snapshot } from '../machine-cpu';
import { CONNECT_URL, JDBC_URL, kafka, quoteIdent, withPg } from '../stack';
import type { Workload } from '../workload';

export const JDBC_BATCH_SIZE = 10_000;

async function rest(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${CONNECT_URL}${path}`, {
    method,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

export function jdbcSinkConfig(topic: string, table: string): Record<string, string> {
  const url = new URL(JDBC_URL);
  return {
    'connector.class': 'io.debezium.connector.jdbc.JdbcSinkConnector',
    // One task, like the one nilus-pg worker it is compared with.
    'tasks.max': '1',
    topics: topic,
    'connection.url': `jdbc:postgresql://${url.hostname}:${url.port || '5432'}${url.pathname}`,
    'connection.username': decodeURIComponent(url.username || 'postgres'),
    'connection.password': decodeURIComponent(url.password),
    'insert.mode': 'upsert',
    'delete.enabled': 'true',
    'primary.key.mode': 'record_key',
    'schema.evolution': 'basic',
    'use.reduction.buffer': 'true',
    'batch.size': String(JDBC_BATCH_SIZE),
    'collection.name.format': table,
    'consumer.override.max.poll.records': String(JDBC_BATCH_SIZE),
    'key.converter': 'org.apache.kafka.connect.json.JsonConverter',
    'key.converter.schemas.enable': 'true',
    'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
    'value.converter.schemas.enable': 'true',
    // Hibernate's default JSON mapper loads every Jackson module it finds through ServiceLoader,
    // and the Connect runtime's jackson-module-blackbird does not match the plugin's own
    // jackson-databind ("BlackbirdModule not a subtype"): the task fails before its first row.
    // The orders table has no JSON column, so a mapper that never touches Jackson is enough.
    'hibernate.type.json_format_mapper': 'org.hibernate.type.format.jaxb.JaxbXmlFormatMapper',
  };
}

interface Status {
  connector: { state: string; trace?: string };
  tasks: { state: string; trace?: string }[];
}

/** Records behind the end, summed over partitions; throws if the connector or its task failed. */
async function lag(name: string, topic: string, admin: ReturnType<ReturnType<typeof kafka>['admin']>): Promise<number> {
  const res = await rest('GET', `/connectors/${encodeURIComponent(name)}/status`);
  if (res.ok) {
    const s = (await res.json()) as Status;
    const bad = [s.connector, ...s.tasks].find((x) => x.state === 'FAILED');
    if (bad) throw new Error(`JDBC sink FAILED: ${(bad.trace ?? '').slice(0, 1500)}`);
  }
  const ends = await admin.fetchTopicOffsets(topic);
  const [committed] = await admin.fetchOffsets({ groupId: `connect-${name}`, topics: [topic] });
  let behind = 0;
  for (const e of ends) {
    const c = committed?.partitions.find((p) => p.partition === e.partition);
    const at = c && Number(c.offset) >= 0 ? Number(c.offset) : 0;
    behind += Number(e.high) - at;
  }
  return behind;
}

export async function jdbcRun(name: string, topic: string, w: Workload, timeoutMs = 4 * 3_600_000): Promise<RunResult> {
  const table = `${name}_orders`;
  await withPg(JDBC_URL, (c) => c.query(`DROP TABLE IF EXISTS public.${quoteIdent(table)}`));
  const admin = kafka().admin();
  await admin.connect();
  const t0 = Date.now();
  const cpu0 = snapshot();
  try {
    const res = await rest('PUT', `/connectors/${encodeURIComponent(name)}/config`, jdbcSinkConfig(topic, table));
    if (!res.ok) throw new Error(`registering the JDBC sink failed: HTTP ${res.status} ${await res.text()}`);
    let lastLog = Date.now();
    for (;;) {
      const behind = await lag(name, topic, admin);
      if (behind === 0) break;
      if (Date.now() - t0 > timeoutMs) throw new Error(`JDBC sink still ${behind} records behind after ${timeoutMs} ms`);
      if (Date.now() - lastLog > 30_000) {
        lastLog = Date.now();
        console.log(`  jdbc: ${behind} records behind after ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      }
      await sleep(500);
    }
    const seconds = (Date.now() - t0) / 1000;
    const cpu = since(cpu0);
    await removeConnector(name);
    return await withPg(JDBC_URL, async (c) => {
      const v = compareDigest(expectedDigest(w, 'typed'), await tableDigest(c, 'public', table, 'typed', w.maxId));
      const types = (await c.query<{ column_name: string; data_type: string }>(
        `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position`, [table],
      )).rows.map((r) => `${r.column_name} ${r.data_type}`);
      await c.query(`DROP TABLE IF EXISTS public.${quoteIdent(table)}`);
      return {
        name: 'jdbc', ok: v.ok, check: v.detail, events: w.events, seconds, eventsPerSec: rate(w.events, seconds),
        // The sink's own process is the Connect worker's JVM: its CPU is the figure beside nilus-pg's worker CPU.
        cpuSeconds: cpu.connectCpuSeconds,
        extra: { batchSize: JDBC_BATCH_SIZE, tasks: 1, ...cpu, eventsPerCpuSecond: rate(w.events, cpu.connectCpuSeconds) },
        notes: [`JDBC sink created: ${types.join(', ')}`, 'CPU s is the Kafka Connect JVM (utime+stime from /proc) over the run'],
      };
    });
  } finally {
    await removeConnector(name).catch(() => undefined);
    await admin.deleteGroups([`connect-${name}`]).catch(() => undefined);
    await admin.disconnect();
    await withPg(JDBC_URL, (c) => c.query(`DROP TABLE IF EXISTS public.${quoteIdent(table)}`)).catch(() => undefined);
  }
}

export async function removeConnector(name: string): Promise<void> {
  const res = await rest('DELETE', `/connectors/${encodeURIComponent(name)}`);
  if (!res.ok && res.status !== 404) throw new Error(`deleting connector ${name}: HTTP ${res.status}`);
}
