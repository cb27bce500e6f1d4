/**
 * `nilus-pg teardown`: removes what a managed source created — the Debezium connector and, with
 * --drop-slot, its replication slot and publication on the source database. The Kafka topics and
 * the target tables (with their stored offsets) are kept.
 */
import type { PipelineConfig } from '../config/types';
import { FatalError } from '../core/errors';
import { connectPg } from '../connect/pg';
import { ConnectRest } from '../connector/connect-rest';
import { dropSlotAndPublication } from '../connector/pg-source';

export interface TeardownOptions {
  readonly dropSlot: boolean;
  /** How long to wait for the connector's task to release the slot. */
  readonly slotTimeoutMs?: number;
}

export async function teardown(cfg: PipelineConfig, opts: TeardownOptions, out: (line: string) => void): Promise<void> {
  const m = cfg.cdc?.managed;
  if (!m) {
    throw new FatalError(`teardown removes the Debezium connector of a managed source; ${cfg.name}'s source is Kafka, so nilus-pg created no connector (remove your own connector in Kafka Connect)`);
  }
  const rest = new ConnectRest(m.connectUrl);
  // The names the connector really uses (a manifest may have changed since it was created).
  const current = await rest.config(m.connectorName);
  const removed = await rest.remove(m.connectorName);
  out(removed ? `deleted connector ${m.connectorName} from ${m.connectUrl}` : `connector ${m.connectorName} is not in ${m.connectUrl} (already removed)`);
  const slot = current?.['slot.name'] ?? m.connectorConfig['slot.name'];
  const publication = current?.['publication.name'] ?? m.connectorConfig['publication.name'];
  if (!opts.dropSlot) {
    out(`kept replication slot ${slot} and publication ${publication}: a slot nobody reads holds WAL on the source; add --drop-slot to drop them (a later run then snapshots again)`);
    return;
  }
  const c = await connectPg(m.db);
  try {
    const dropped = await dropSlotAndPublication(c, slot, publication, opts.slotTimeoutMs);
    out(dropped.slot ? `dropped replication slot ${slot}` : `replication slot ${slot} did not exist`);
    out(dropped.publication ? `dropped publication ${publication}` : `publication ${publication} did not exist`);
  } finally {
    await c.end().catch(() => undefined);
  }
}
