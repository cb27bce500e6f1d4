/**
 * `nilus-pg teardown`: removes what a managed source created — the Debezium connector and, with
 * --drop-slot, its replication slot and publication on the source database. The Kafka topics and
 * the target tables (with their stored offsets) are kept.
 */
import type { PipelineConfig } from '../config/types';
import { loadConfig } from '../config/load';
import { FatalError } from '../kernel/errors';
import { connectPg } from '../pg/pool';
import { ConnectRest } from '../managed/connect-rest';
import { dropSlotAndPublication } from '../managed/pg-source';

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
  if (opts.dropSlot) {
    // Connect keeps a connector's source offsets under its name, even after DELETE: a later run
    // would resume from the old LSN on a fresh slot and skip the snapshot (losing what changed in
    // between). Dropping the slot means starting over, so the offsets go too. Connect resets only a
    // stopped connector that exists: one already deleted is recreated stopped for the reset.
    if (current) await rest.stop(m.connectorName);
    else await rest.createStopped(m.connectorName, m.connectorConfig);
    await waitStopped(rest, m.connectorName, opts.slotTimeoutMs ?? 60_000);
    await rest.resetOffsets(m.connectorName);
    out(`reset the source offsets of connector ${m.connectorName}`);
  }
  const removed = (await rest.remove(m.connectorName)) && current !== undefined;
  out(removed ? `deleted connector ${m.connectorName} from ${m.connectUrl}` : `connector ${m.connectorName} is not in ${m.connectUrl} (already removed)`);
  if (m.kind === 'mysql') {
    // A binlog reader holds nothing on the server (no slot); its schema history topic is kept with the other topics.
    out(`${m.flavor === 'mariadb' ? 'MariaDB' : 'MySQL'} keeps no replication slot for the connector; schema history topic ${current?.['schema.history.internal.kafka.topic'] ?? m.connectorConfig['schema.history.internal.kafka.topic']} kept`);
    return;
  }
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

async function waitStopped(rest: ConnectRest, name: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await rest.status(name);
    if (!s || (s.connector.state === 'STOPPED' && s.tasks.length === 0)) return;
    if (Date.now() > deadline) throw new FatalError(`connector ${name} did not stop within ${timeoutMs} ms (state ${s.connector.state}); try again`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export const TEARDOWN_HELP = `Usage: nilus-pg teardown <manifest.yaml> [--connections <file>] [--drop-slot] --yes

For a managed source (spec.source.address names the database): deletes the pipeline's Debezium
connector from Kafka Connect and, with --drop-slot, its replication slot and publication on the
source database (a later run then snapshots the tables again). Kafka topics and target tables are
kept. Refuses without --yes. Exit 0 done, 1 failed, 2 the manifest/command line is wrong.`;

/** The CLI command: loads the manifest, refuses without --yes, prints one line per step. */
export async function teardownCommand(manifest: string, connectionsPath: string | undefined, flags: { yes?: boolean; dropSlot?: boolean }, io: { out(l: string): void; err(l: string): void }): Promise<number> {
  const cfg = await loadConfig(manifest, { connectionsPath });
  if (!flags.yes) {
    const m = cfg.cdc?.managed;
    const what = m ? `connector ${m.connectorName} at ${m.connectUrl}${flags.dropSlot ? (m.kind === 'postgresql' ? ` and replication slot/publication ${m.connectorConfig['slot.name']}` : ' and its source offsets') : ''}` : 'the managed connector';
    io.err(`teardown deletes ${what}: run it again with --yes to confirm`);
    return 2;
  }
  await teardown(cfg, { dropSlot: flags.dropSlot === true }, (l) => io.out(l));
  return 0;
}
