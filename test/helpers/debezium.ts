/**
 * Debezium PostgreSQL source connectors on the local stack's Kafka Connect, registered through
 * the Connect REST API. removeConnector also drops the replication slot and publication, which
 * Debezium leaves behind (an abandoned slot pins WAL on the source cluster forever).
 */
import { Client } from 'pg';
import { connectUrl, sourcePgUrl } from './stack';

export interface PostgresSourceOptions {
  name: string;
  topicPrefix: string;
  /** Comma-separated schema.table list, as Debezium's table.include.list. */
  tableIncludeList: string;
  slotName: string;
  publicationName: string;
  /** Extra or overriding connector properties. */
  extra?: Record<string, string>;
  /** How long to wait for connector, task and slot (default 90 s). */
  timeoutMs?: number;
}

interface ConnectorStatus {
  connector: { state: string; trace?: string };
  tasks: Array<{ id: number; state: string; trace?: string }>;
}

async function rest(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${connectUrl()}${path}`, {
    method,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function withSource<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: sourcePgUrl() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function registerPostgresSource(options: PostgresSourceOptions): Promise<void> {
  const url = new URL(sourcePgUrl());
  const config: Record<string, string> = {
    'connector.class': 'io.debezium.connector.postgresql.PostgresConnector',
    'tasks.max': '1',
    'database.hostname': url.hostname,
    'database.port': url.port || '5432',
    'database.user': decodeURIComponent(url.username || 'postgres'),
    'database.password': decodeURIComponent(url.password),
    'database.dbname': url.pathname.slice(1),
    'topic.prefix': options.topicPrefix,
    'table.include.list': options.tableIncludeList,
    'plugin.name': 'pgoutput',
    'slot.name': options.slotName,
    'publication.name': options.publicationName,
    'publication.autocreate.mode': 'filtered',
    ...options.extra,
  };
  const res = await rest('PUT', `/connectors/${encodeURIComponent(options.name)}/config`, config);
  if (!res.ok) {
    throw new Error(`registering connector ${options.name} failed: HTTP ${res.status} ${await res.text()}`);
  }
  await waitRunning(options.name, options.slotName, options.timeoutMs ?? 90_000);
}

/** Wait for connector + task RUNNING and the replication slot active: only then are changes captured. */
async function waitRunning(name: string, slotName: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no status yet';
  while (Date.now() < deadline) {
    const res = await rest('GET', `/connectors/${encodeURIComponent(name)}/status`);
    if (res.ok) {
      const status = (await res.json()) as ConnectorStatus;
      const failed = [status.connector, ...status.tasks].find((s) => s.state === 'FAILED');
      if (failed) throw new Error(`connector ${name} FAILED: ${failed.trace ?? '(no trace)'}`);
      last = `connector ${status.connector.state}, tasks ${status.tasks.map((t) => t.state).join(',') || 'none'}`;
      if (status.connector.state === 'RUNNING' && status.tasks.some((t) => t.state === 'RUNNING')) {
        const active = await withSource((c) =>
          c.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [slotName]),
        );
        if (active.rowCount === 1) return;
        last += `, slot ${slotName} not active yet`;
      }
    }
    await sleep(500);
  }
  throw new Error(`connector ${name} not running after ${timeoutMs} ms (${last})`);
}

/** Delete the connector, then drop its replication slot and publication on the source. */
export async function removeConnector(name: string, timeoutMs = 60_000): Promise<void> {
  const path = `/connectors/${encodeURIComponent(name)}`;
  const cfgRes = await rest('GET', `${path}/config`);
  if (cfgRes.status === 404) return;
  if (!cfgRes.ok) throw new Error(`reading connector ${name} failed: HTTP ${cfgRes.status}`);
  const config = (await cfgRes.json()) as Record<string, string>;
  const del = await rest('DELETE', path);
  if (!del.ok && del.status !== 404) throw new Error(`deleting connector ${name} failed: HTTP ${del.status}`);
  const slot = config['slot.name'];
  const publication = config['publication.name'];
  const deadline = Date.now() + timeoutMs;
  await withSource(async (client) => {
    // The task releases the slot asynchronously after the DELETE; dropping an active slot fails.
    while (slot) {
      const r = await client.query<{ active: boolean }>(
        'SELECT active FROM pg_replication_slots WHERE slot_name = $1',
        [slot],
      );
      if (r.rowCount === 0) break;
      if (!r.rows[0].active) {
        await client.query('SELECT pg_drop_replication_slot($1)', [slot]);
        break;
      }
      if (Date.now() > deadline) throw new Error(`replication slot ${slot} still active after ${timeoutMs} ms`);
      await sleep(250);
    }
    if (publication) {
      await client.query(`DROP PUBLICATION IF EXISTS "${publication.replace(/"/g, '""')}"`);
    }
  });
}
