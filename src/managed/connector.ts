/**
 * A managed source connector's life: created or updated before the pipeline reads (idempotent:
 * the config Connect holds is compared first, so the same manifest twice changes nothing), its
 * connector and task states watched while the pipeline runs, and removed on `nilus-pg teardown`.
 */
import type { ManagedSource } from '../config/types';
import type { CoreEmitter } from '../kernel/events';
import type { Logger } from '../observe/logger';
import { ConnectRest, type ConnectorStatus } from './connect-rest';
import { configDiff } from './pg-config';
import { FatalError, RetriableError } from '../kernel/errors';

export type EnsureOutcome = { readonly action: 'created' | 'unchanged' } | { readonly action: 'updated'; readonly changed: readonly string[] };

/** PUT only when the connector is missing or its config differs from the manifest's. */
export async function ensureConnector(m: ManagedSource, rest = new ConnectRest(m.connectUrl)): Promise<EnsureOutcome> {
  const current = await rest.config(m.connectorName);
  if (current === undefined) {
    await put(m, rest);
    return { action: 'created' };
  }
  const changed = configDiff(current, m.connectorConfig);
  if (changed.length === 0) return { action: 'unchanged' };
  await put(m, rest);
  return { action: 'updated', changed };
}

/**
 * Debezium 3.6's MySQL connector lists one property without a value in its validation, and Kafka
 * Connect then answers a PUT whose config has an error with HTTP 500 (a NullPointerException)
 * instead of 400 and the error: retried forever, it would hide the cause. The validation itself
 * still names the error, so it is asked, and a refused config stops like a 400 would.
 */
async function put(m: ManagedSource, rest: ConnectRest): Promise<void> {
  try {
    await rest.putConfig(m.connectorName, m.connectorConfig);
  } catch (e) {
    if (!(e instanceof RetriableError) || !/HTTP 500 .*configValue\(\)/.test(e.message)) throw e;
    const cls = m.connectorConfig['connector.class'] ?? '';
    const bad = await rest.validate(cls, { name: m.connectorName, ...m.connectorConfig });
    if (bad.length === 0) throw e;
    throw new FatalError(`Kafka Connect PUT /connectors/${m.connectorName}/config: refused — ${bad.map((b) => `${b.name}: ${b.errors.join('; ')}`).join(' | ')} (fix the key in spec.source.cdc or the source connection; nilus-pg check shows every prerequisite)`);
  }
}

/** What one status poll says: healthy unless something is FAILED, paused, stopped, gone or unreachable. */
export interface ConnectorHealth {
  readonly state: string;
  readonly tasks: readonly { readonly id: number; readonly state: string }[];
  readonly healthy: boolean;
  /** Connector (-1) and task ids in FAILED, with their traces. */
  readonly failed: readonly { readonly id: number; readonly trace: string }[];
}

const UNHEALTHY = new Set(['FAILED', 'PAUSED', 'STOPPED', 'MISSING', 'UNREACHABLE']);

export function connectorHealth(status: ConnectorStatus | undefined | 'unreachable'): ConnectorHealth {
  if (status === 'unreachable' || status === undefined) {
    return { state: status === undefined ? 'MISSING' : 'UNREACHABLE', tasks: [], healthy: false, failed: [] };
  }
  const failed = [
    ...(status.connector.state === 'FAILED' ? [{ id: -1, trace: status.connector.trace ?? '(no trace)' }] : []),
    ...status.tasks.filter((t) => t.state === 'FAILED').map((t) => ({ id: t.id, trace: t.trace ?? '(no trace)' })),
  ];
  const tasks = status.tasks.map((t) => ({ id: t.id, state: t.state }));
  const healthy = !UNHEALTHY.has(status.connector.state) && failed.length === 0;
  return { state: status.connector.state, tasks, healthy, failed };
}

export interface ConnectorWatch {
  stop(): void;
}

/**
 * Polls GET /connectors/{name}/status every `statusIntervalMs` and emits `sourceConnector`. A task
 * (or the connector) that turns FAILED is logged once with its trace and counted; readiness follows
 * `healthy` (src/observe/health.ts).
 */
export function watchConnector(m: ManagedSource, emitter: CoreEmitter, log: Logger, rest = new ConnectRest(m.connectUrl)): ConnectorWatch {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let wasFailed = new Set<number>();
  let lastState: string | undefined;
  // Right after a PUT, Connect may answer 404 on /status for a moment: not "deleted" until seen once.
  let seen = false;
  const poll = async (): Promise<void> => {
    let h: ConnectorHealth;
    try {
      const status = await rest.status(m.connectorName);
      h = status === undefined && !seen ? { ...connectorHealth(undefined), state: 'PENDING' } : connectorHealth(status);
      seen ||= status !== undefined;
    } catch (e) {
      h = connectorHealth('unreachable');
      if (lastState !== 'UNREACHABLE') log.warn({ connector: m.connectorName, err: (e as Error).message }, 'cannot read the source connector status: not ready until Kafka Connect answers');
    }
    if (stopped) return;
    const nowFailed = new Set(h.failed.map((f) => f.id));
    const newlyFailed = h.failed.filter((f) => !wasFailed.has(f.id));
    for (const f of newlyFailed) {
      log.error({ connector: m.connectorName, task: f.id < 0 ? 'connector' : f.id, trace: f.trace },
        `source connector ${m.connectorName} ${f.id < 0 ? '' : `task ${f.id} `}FAILED: nothing new arrives until it is restarted (POST ${m.connectUrl}/connectors/${m.connectorName}/restart?includeTasks=true&onlyFailed=true) once the cause is fixed`);
    }
    if (h.state === 'MISSING' && lastState !== 'MISSING') log.warn({ connector: m.connectorName }, `source connector ${m.connectorName} is not in Kafka Connect (deleted?): restart nilus-pg run to create it again`);
    if (h.healthy && lastState !== undefined && lastState !== h.state) log.info({ connector: m.connectorName, state: h.state }, `source connector ${m.connectorName} is ${h.state}`);
    else if (!h.healthy && ['PAUSED', 'STOPPED'].includes(h.state) && lastState !== h.state) log.warn({ connector: m.connectorName, state: h.state }, `source connector ${m.connectorName} is ${h.state}: no changes are captured`);
    wasFailed = nowFailed;
    lastState = h.state;
    emitter.emit('sourceConnector', { connector: m.connectorName, state: h.state, tasks: [...h.tasks], healthy: h.healthy, newlyFailed: newlyFailed.length });
  };
  const loop = (): void => {
    void poll().finally(() => {
      // Until the connector is first seen, poll each second so readiness follows start-up closely.
      if (!stopped) timer = setTimeout(loop, seen ? m.statusIntervalMs : Math.min(1000, m.statusIntervalMs));
    });
  };
  loop();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
