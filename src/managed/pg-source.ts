/**
 * The SQL a managed PostgreSQL source needs on the source database: the prerequisites
 * `nilus-pg check` reports, and dropping the replication slot and publication on teardown.
 */
import type { Client } from '../pg/pool';
import { ident } from '../pg/ident';

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
  const r = await c.query<Record<string, unknown>>(`
    SELECT current_setting('wal_level') AS wal_level, current_user AS "user",
           r.rolsuper AS superuser, r.rolreplication AS replication,
           current_setting('max_replication_slots')::int AS max_slots,
           (SELECT count(*)::int FROM pg_replication_slots) AS slots_used,
           current_setting('max_wal_senders')::int AS max_wal_senders,
           (SELECT count(*)::int FROM pg_stat_replication) AS wal_senders_used,
           EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1) AS publication_exists,
           has_database_privilege(current_database(), 'CREATE') AS create_on_db,
           current_setting('server_version_num')::int AS server_version
      FROM pg_roles r WHERE r.rolname = current_user`, [publication]);
  const row = r.rows[0];
  const s = await c.query<{ active: boolean; plugin: string | null }>('SELECT active, plugin FROM pg_replication_slots WHERE slot_name = $1', [slot]);
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
  const r = await c.query<{ schema: string; table: string; has_pk: boolean; replident: string; owned: boolean; selectable: boolean }>(`
    SELECT n.nspname AS schema, t.relname AS "table",
           EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = t.oid AND k.contype = 'p') AS has_pk,
           t.relreplident AS replident,
           pg_has_role(t.relowner, 'USAGE') AS owned,
           has_table_privilege(t.oid, 'SELECT') AS selectable
      FROM pg_class t JOIN pg_namespace n ON n.oid = t.relnamespace
     WHERE t.relkind IN ('r', 'p') AND NOT t.relispartition
       AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
     ORDER BY 1, 2`);
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
    const r = await c.query<{ active: boolean }>('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    if (r.rowCount === 0) break;
    if (!r.rows[0].active) {
      await c.query('SELECT pg_drop_replication_slot($1)', [slot]);
      droppedSlot = true;
      break;
    }
    if (Date.now() > deadline) throw new Error(`replication slot ${slot} is still in use after ${timeoutMs} ms (is another connector using it?); drop it later with SELECT pg_drop_replication_slot('${slot}')`);
    await sleep(250);
  }
  const p = await c.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [publication]);
  if (p.rowCount) await c.query(`DROP PUBLICATION ${ident(publication)}`);
  return { slot: droppedSlot, publication: (p.rowCount ?? 0) > 0 };
}
