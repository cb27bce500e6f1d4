/**
 * The replication slot of a managed PostgreSQL source, polled while the pipeline runs: its
 * retained WAL becomes `nilus_source_slot_retained_wal_bytes`. An inactive slot keeps every WAL
 * segment from its restart_lsn on, so a connector that stopped reading fills the source's disk:
 * the most common CDC incident, and the one this gauge and its alert are for.
 */
import type { ManagedSource } from '../config/types';
import type { CoreEmitter } from '../kernel/events';
import type { Logger } from '../observe/logger';
import { connectPg, type Client } from '../pg/pool';
import { readSlotWith, slotName } from './source-status';

export interface SlotWatch {
  stop(): void;
}

/** Polls every `intervalMs` on one connection (opened again after an error); a failure is logged once until a poll succeeds. */
export function watchSlot(m: Extract<ManagedSource, { kind: 'postgresql' }>, emitter: CoreEmitter, log: Logger, intervalMs: number): SlotWatch {
  const slot = slotName(m);
  let client: Client | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let failing = false;
  const poll = async (): Promise<void> => {
    try {
      client ??= await connectPg(m.db);
      const s = await readSlotWith(client, slot);
      if (stopped) return;
      failing = false;
      emitter.emit('sourceSlot', { slot, exists: s.exists, ...(s.active !== undefined ? { active: s.active } : {}), ...(s.retainedBytes !== undefined ? { retainedBytes: s.retainedBytes } : {}) });
    } catch (e) {
      if (!failing) log.warn({ slot, err: (e as Error).message }, `cannot read replication slot ${slot} on the source: nilus_source_slot_retained_wal_bytes is not updated until it can`);
      failing = true;
      const c = client;
      client = undefined;
      await c?.end().catch(() => undefined);
    }
  };
  const loop = (): void => {
    void poll().finally(() => {
      if (!stopped) timer = setTimeout(loop, intervalMs);
    });
  };
  loop();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      void client?.end().catch(() => undefined);
    },
  };
}
