/**
 * What a managed PostgreSQL source needs of the source database: the prerequisites `nilus-pg
 * check` reports, and dropping the replication slot and publication on teardown (the statements
 * are src/tables/sql/postgresql.ts's).
 */
import type { Client } from '../pg/pool';
import { CAPTURE_TABLES, dropPublication, DROP_SLOT, PUBLICATION_EXISTS, SLOT_ACTIVE, SLOT_STATE, SOURCE_PREREQS } from '../tables/sql/postgresql';

export interface SourcePrereqs {
  readonly walLevel: string;
  readonly user: string;
  readonly superuser: boolean;
  readonly replication: boolean;
  readonly maxSlots: number;
  readonly slotsUsed: number;
  readonly maxWalSenders: number;
  readonly walSendersUsed: number;
  /** Our slot, when it exists already. */
  readonly slot?: { readonly active: boolean; readonly plugin: string | null };
  readonly publicationExists: boolean;
  readonly createOnDatabase: boolean;
  readonly serverVersion: number;
}

export async function readPrereqs(c: Client, slot: string, publication: string): Promise<SourcePrereqs> {
  const r = await c.query<Record<string, unknown>>(SOURCE_PREREQS, [publication]);
  const row = r.rows[0];
  const s = await c.query<{ active: boolean; plugin: string | null }>(SLOT_STATE, [slot]);
  return {
    walLevel: String(row.wal_level),
    user: String(row.user),
    superuser: row.superuser === true,
    replication: row.replication === true,
    maxSlots: Number(row.max_slots),
    slotsUsed: Number(row.slots_used),
    maxWalSenders: Number(row.max_wal_senders),
    walSendersUsed: Number(row.wal_senders_used),
    ...(s.rows[0] ? { slot: s.rows[0] } : {}),
    publicationExists: row.publication_exists === true,
    createOnDatabase: row.create_on_db === true,
    serverVersion: Number(row.server_version),
  };
}

export interface SourceTable {
  readonly schema: string;
  readonly table: string;
  readonly hasPrimaryKey: boolean;
  /** pg_class.relreplident: d default, n nothing, f full, i index. */
  readonly replicaIdentity: string;
  readonly owned: boolean;
  readonly selectable: boolean;
}

/** Ordinary and partitioned tables outside the system schemas, with what capture needs of each. */
export async function listTables(c: Client): Promise<SourceTable[]> {
  const r = await c.query<{ schema: string; table: string; has_pk: boolean; replident: string; owned: boolean; selectable: boolean }>(CAPTURE_TABLES);
  return r.rows.map((x) => ({ schema: x.schema, table: x.table, hasPrimaryKey: x.has_pk, replicaIdentity: x.replident, owned: x.owned, selectable: x.selectable }));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Drops the slot once no walsender holds it (the connector's task lets go asynchronously after
 * DELETE), then the publication. Returns what it dropped.
 */
export async function dropSlotAndPublication(c: Client, slot: string, publication: string, timeoutMs = 60_000): Promise<{ slot: boolean; publication: boolean }> {
  const deadline = Date.now() + timeoutMs;
  let droppedSlot = false;
  for (;;) {
    const r = await c.query<{ active: boolean }>(SLOT_ACTIVE, [slot]);
    if (r.rowCount === 0) break;
    if (!r.rows[0].active) {
      await c.query(DROP_SLOT, [slot]);
      droppedSlot = true;
      break;
    }
    if (Date.now() > deadline) throw new Error(`replication slot ${slot} is still in use after ${timeoutMs} ms (is another connector using it?); drop it later with SELECT pg_drop_replication_slot('${slot}')`);
    await sleep(250);
  }
  const p = await c.query(PUBLICATION_EXISTS, [publication]);
  if (p.rowCount) await c.query(dropPublication(publication));
  return { slot: droppedSlot, publication: (p.rowCount ?? 0) > 0 };
}
