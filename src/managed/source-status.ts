/**
 * A managed source's side of `nilus-pg status` and of the retained-WAL gauge: the connector's and
 * its tasks' states from Kafka Connect, and the source database's own position — a PostgreSQL
 * replication slot's retained WAL, or MySQL/MariaDB's current binlog file and position.
 */
import type { ManagedSource, PgConnection } from '../config/types';
import { connectPg, type Client } from '../pg/pool';
import { connectMysql, run } from '../tables/mysql-connection';
import { BINARY_LOG_STATUS, MASTER_STATUS } from '../tables/sql/mysql';
import { SLOT_RETAINED_WAL } from '../tables/sql/postgresql';
import { ConnectRest } from './connect-rest';
import { connectorHealth, type ConnectorHealth } from './connector';

/** The connector's state as `connectorHealth` reads it (UNREACHABLE when Connect does not answer, with why). */
export async function readConnector(m: ManagedSource, rest = new ConnectRest(m.connectUrl, 5000)): Promise<ConnectorHealth & { readonly error?: string }> {
  try {
    return connectorHealth(await rest.status(m.connectorName));
  } catch (e) {
    return { ...connectorHealth('unreachable'), error: (e as Error).message };
  }
}

export interface SlotState {
  readonly slot: string;
  /** False when the slot does not exist (the connector has not created it, or it was dropped). */
  readonly exists: boolean;
  readonly active?: boolean;
  readonly restartLsn?: string;
  /** WAL the slot keeps the server from recycling, bytes; undefined when it cannot be told (a standby, a slot not used yet). */
  readonly retainedBytes?: number;
}

/** The slot the managed PostgreSQL connector reads through (its `slot.name`). */
export function slotName(m: ManagedSource): string {
  return m.connectorConfig['slot.name'] ?? '';
}

export async function readSlotWith(c: Client, slot: string): Promise<SlotState> {
  const r = await c.query<{ active: boolean; restart_lsn: string | null; retained_bytes: string | null }>(SLOT_RETAINED_WAL, [slot]);
  const row = r.rows[0];
  if (!row) return { slot, exists: false };
  return {
    slot,
    exists: true,
    active: row.active,
    ...(row.restart_lsn !== null ? { restartLsn: row.restart_lsn } : {}),
    ...(row.retained_bytes !== null ? { retainedBytes: Number(row.retained_bytes) } : {}),
  };
}

/** One connection, one query, closed. */
export async function readSlot(db: PgConnection, slot: string): Promise<SlotState> {
  const c = await connectPg(db);
  try {
    return await readSlotWith(c, slot);
  } finally {
    await c.end().catch(() => undefined);
  }
}

export interface BinlogPosition {
  readonly file: string;
  readonly position: string;
  /** Executed GTID set, when the server reports one. */
  readonly gtids?: string;
}

/** The MySQL/MariaDB server's current binlog file and position; undefined when binary logging is off. */
export async function readBinlogPosition(m: Extract<ManagedSource, { kind: 'mysql' }>): Promise<BinlogPosition | undefined> {
  const c = await connectMysql(m.db);
  try {
    let rows: Record<string, unknown>[];
    try {
      rows = await run<Record<string, unknown>>(c, BINARY_LOG_STATUS);
    } catch (e) {
      // ER_PARSE_ERROR: a server older than SHOW BINARY LOG STATUS
      if ((e as { errno?: number }).errno !== 1064) throw e;
      rows = await run<Record<string, unknown>>(c, MASTER_STATUS);
    }
    const r = rows[0];
    if (!r) return undefined;
    const gtids = r.Executed_Gtid_Set;
    return { file: String(r.File), position: String(r.Position), ...(typeof gtids === 'string' && gtids !== '' ? { gtids } : {}) };
  } finally {
    c.destroy();
  }
}
