/**
 * A managed source on the real stack: the manifest names the source PostgreSQL database, and
 * `startService` alone creates the Debezium connector, snapshots and streams inserts, updates,
 * deletes and truncates into the target. Starting again changes nothing in Connect; a changed
 * manifest key updates the connector; teardown removes connector, slot and publication.
 */
import { Client, Pool } from 'pg';
import { buildConfig, parseManifest } from '../../../src/config';
import type { PipelineConfig } from '../../../src/config/types';
import { ensureConnector } from '../../../src/managed/connector';
import { ConnectRest } from '../../../src/managed/connect-rest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { teardown } from '../../../src/cli/teardown';
import { main } from '../../../src/cli/main';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, uniqueName } from '../../helpers/pg';
import { removeConnector } from '../../helpers/debezium';
import { connectUrl, sourcePgUrl } from '../../helpers/stack';
import { managedManifest } from '../../helpers/managed';
import { startInProcess, waitFor } from '../../helpers/pipeline';

const CANON = (schema: string) => `
  SELECT count(*)::int AS n,
         coalesce(md5(string_agg(format('%s|%s|%s|%s', id, status, amount, updated_at), ',' ORDER BY id)), '') AS h
    FROM "${schema}".orders`;

async function configOf(text: string): Promise<PipelineConfig> {
  return buildConfig(parseManifest(text).manifest, undefined, process.env);
}

async function slotAndPublication(name: string): Promise<{ slot: number; publication: number }> {
  const c = new Client({ connectionString: sourcePgUrl() });
  await c.connect();
  try {
    const s = await c.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [name]);
    const p = await c.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [name]);
    return { slot: s.rowCount ?? 0, publication: p.rowCount ?? 0 };
  } finally {
    await c.end();
  }
}

describe('managed PostgreSQL source', () => {
  let target: Pool;
  let source: Pool;
  let schema: string;
  let srcSchema: string;
  const name = uniqueName('mgd').replace(/_/g, '-');
  const connector = `nilus-${name}`;
  const slot = `nilus_${name.replace(/-/g, '_')}`;
  const rest = new ConnectRest(connectUrl());

  beforeAll(async () => {
    target = newPool();
    source = new Pool({ connectionString: sourcePgUrl(), max: 2 });
    schema = await createTestSchema(target, 'mgd');
    srcSchema = await createTestSchema(source, 'mgdsrc');
    await source.query(`CREATE TABLE "${srcSchema}".orders (id bigint PRIMARY KEY, status text NOT NULL, amount numeric(12,2), updated_at timestamptz NOT NULL DEFAULT now())`);
    await source.query(`INSERT INTO "${srcSchema}".orders (id, status, amount) SELECT g, 'new', g * 1.25 FROM generate_series(1, 300) g`);
  });
  afterAll(async () => {
    // Never leave a slot behind: it would hold WAL on the shared PostgreSQL.
    await removeConnector(connector).catch(() => undefined);
    const c = new Client({ connectionString: sourcePgUrl() });
    await c.connect();
    await c.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active`, [slot]).catch(() => undefined);
    await c.query(`DROP PUBLICATION IF EXISTS "${slot}"`).catch(() => undefined);
    await c.end();
    await dropTestSchemaUnlessFailed(target, schema);
    await dropTestSchemaUnlessFailed(source, srcSchema);
    await target.end();
    await source.end();
  });

  it('run alone creates the connector; snapshot, inserts, updates, deletes and a truncate land', async () => {
    const text = managedManifest({ name, srcSchema, dest: `${schema}.orders` });
    const svc = await startInProcess(text);
    const states: boolean[] = [];
    svc.emitter.on('sourceConnector', (e) => states.push(e.healthy));
    try {
      const snap = (await source.query(CANON(srcSchema))).rows[0];
      await waitFor(target, CANON(schema), (r) => r[0]?.h === snap.h, 150_000);
      const cfg = await rest.config(connector);
      expect(cfg).toMatchObject({ 'skipped.operations': 'none', 'plugin.name': 'pgoutput', 'slot.name': slot, 'table.include.list': `${srcSchema}.orders`, 'topic.prefix': name });

      await source.query(`INSERT INTO "${srcSchema}".orders (id, status, amount) SELECT g, 'new', g FROM generate_series(301, 600) g`);
      await source.query(`UPDATE "${srcSchema}".orders SET status = 'paid', amount = amount + 0.01, updated_at = now() WHERE id % 3 = 0`);
      await source.query(`DELETE FROM "${srcSchema}".orders WHERE id % 10 = 7`);
      const want = (await source.query(CANON(srcSchema))).rows[0];
      expect((await waitFor(target, CANON(schema), (r) => r[0]?.h === want.h, 120_000))[0]).toEqual(want);

      // TRUNCATE reaches the target only because the connector has skipped.operations=none.
      await source.query(`TRUNCATE "${srcSchema}".orders`);
      await source.query(`INSERT INTO "${srcSchema}".orders (id, status, amount) VALUES (1, 'after-truncate', 1)`);
      const after = (await source.query(CANON(srcSchema))).rows[0];
      expect((await waitFor(target, CANON(schema), (r) => r[0]?.h === after.h, 120_000))[0]).toEqual(after);
      expect(after.n).toBe(1);
      // the watch saw the connector running (readiness needs it)
      const deadline = Date.now() + 30_000;
      while (states.at(-1) !== true && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      expect(states.at(-1)).toBe(true);
    } finally {
      expect(await svc.stop()).toBe(0);
    }
  });

  it('starting again does not duplicate or change the connector, and streaming resumes', async () => {
    const text = managedManifest({ name, srcSchema, dest: `${schema}.orders` });
    const before = await rest.config(connector);
    expect(await ensureConnector((await configOf(text)).cdc!.managed!)).toEqual({ action: 'unchanged' });
    const svc = await startInProcess(text);
    try {
      await source.query(`INSERT INTO "${srcSchema}".orders (id, status, amount) VALUES (2, 'restart', 2)`);
      const want = (await source.query(CANON(srcSchema))).rows[0];
      await waitFor(target, CANON(schema), (r) => r[0]?.h === want.h, 120_000);
      expect(await rest.config(connector)).toEqual(before);
      const all = (await (await fetch(`${connectUrl()}/connectors`)).json()) as string[];
      expect(all.filter((c) => c.includes(name))).toEqual([connector]);
    } finally {
      expect(await svc.stop()).toBe(0);
    }
  });

  it('a changed manifest key updates the connector config', async () => {
    const text = managedManifest({ name, srcSchema, dest: `${schema}.orders`, cdc: { 'max.batch.size': 1024 } });
    const svc = await startInProcess(text);
    try {
      const deadline = Date.now() + 60_000;
      while ((await rest.config(connector))?.['max.batch.size'] !== '1024' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
      expect((await rest.config(connector))?.['max.batch.size']).toBe('1024');
      // and the pipeline still streams after the connector restarted with its new config
      await source.query(`INSERT INTO "${srcSchema}".orders (id, status, amount) VALUES (3, 'updated-config', 3)`);
      const want = (await source.query(CANON(srcSchema))).rows[0];
      await waitFor(target, CANON(schema), (r) => r[0]?.h === want.h, 120_000);
    } finally {
      expect(await svc.stop()).toBe(0);
    }
    expect(await ensureConnector((await configOf(text)).cdc!.managed!)).toEqual({ action: 'unchanged' });
  });

  it('teardown without --drop-slot keeps the slot; with it, slot and publication go', async () => {
    const cfg = await configOf(managedManifest({ name, srcSchema, dest: `${schema}.orders`, cdc: { 'max.batch.size': 1024 } }));
    const out: string[] = [];
    await teardown(cfg, { dropSlot: false }, (l) => out.push(l));
    expect(await rest.config(connector)).toBeUndefined();
    expect(out.join('\n')).toMatch(new RegExp(`deleted connector ${connector}[\\s\\S]*kept replication slot ${slot}`));
    expect(await slotAndPublication(slot)).toEqual({ slot: 1, publication: 1 });
    out.length = 0;
    // the CLI: refused without --yes, then done
    const file = join(mkdtempSync(join(tmpdir(), 'nilus-teardown-')), 'manifest.yaml');
    writeFileSync(file, managedManifest({ name, srcSchema, dest: `${schema}.orders` }));
    const err: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l) };
    expect(await main(['teardown', file, '--drop-slot'], io)).toBe(2);
    expect(err).toEqual([`teardown deletes connector ${connector} at ${connectUrl()} and replication slot/publication ${slot}: run it again with --yes to confirm`]);
    expect(await slotAndPublication(slot)).toEqual({ slot: 1, publication: 1 });
    expect(await main(['teardown', file, '--drop-slot', '--yes'], io)).toBe(0);
    // the connector was deleted already: it is recreated stopped only to reset its source offsets
    expect(out).toEqual([`reset the source offsets of connector ${connector}`, `connector ${connector} is not in ${connectUrl()} (already removed)`, `dropped replication slot ${slot}`, `dropped publication ${slot}`]);
    expect(await slotAndPublication(slot)).toEqual({ slot: 0, publication: 0 });
    expect(await rest.config(connector)).toBeUndefined();
  });

  it('after teardown --drop-slot a run starts over: the connector snapshots the table again', async () => {
    const text = managedManifest({ name, srcSchema, dest: `${schema}.orders` });
    // a running connector, then torn down with --drop-slot through the CLI
    const svc = await startInProcess(text);
    try {
      await source.query(`INSERT INTO "${srcSchema}".orders (id, status, amount) VALUES (4, 'before-teardown', 4)`);
      const want = (await source.query(CANON(srcSchema))).rows[0];
      await waitFor(target, CANON(schema), (r) => r[0]?.h === want.h, 120_000);
    } finally {
      expect(await svc.stop()).toBe(0);
    }
    const file = join(mkdtempSync(join(tmpdir(), 'nilus-teardown-')), 'manifest.yaml');
    writeFileSync(file, text);
    const out: string[] = [];
    expect(await main(['teardown', file, '--drop-slot', '--yes'], { out: (l) => out.push(l), err: (l) => out.push(l) })).toBe(0);
    expect(out).toEqual([`reset the source offsets of connector ${connector}`, `deleted connector ${connector} from ${connectUrl()}`, `dropped replication slot ${slot}`, `dropped publication ${slot}`]);
    // The target is emptied by hand; a new run must bring every source row back (snapshot), not
    // resume from the old position on a fresh slot.
    await target.query(`TRUNCATE "${schema}".orders`);
    const again = await startInProcess(text);
    try {
      const want = (await source.query(CANON(srcSchema))).rows[0];
      expect((await waitFor(target, CANON(schema), (r) => r[0]?.h === want.h, 150_000))[0]).toEqual(want);
    } finally {
      expect(await again.stop()).toBe(0);
    }
    await teardown(await configOf(text), { dropSlot: true }, () => undefined);
    expect(await slotAndPublication(slot)).toEqual({ slot: 0, publication: 0 });
  });
});

describe('managed source whose task fails', () => {
  const name = uniqueName('mgdfail').replace(/_/g, '-');
  const connector = `nilus-${name}`;
  let source: Pool;
  let target: Pool;
  let srcSchema: string;
  let schema: string;

  beforeAll(async () => {
    source = new Pool({ connectionString: sourcePgUrl(), max: 2 });
    target = newPool();
    srcSchema = await createTestSchema(source, 'mgdfailsrc');
    schema = await createTestSchema(target, 'mgdfail');
    await source.query(`CREATE TABLE "${srcSchema}".orders (id bigint PRIMARY KEY, status text, amount numeric, updated_at timestamptz)`);
  });
  afterAll(async () => {
    await removeConnector(connector).catch(() => undefined);
    await dropTestSchemaUnlessFailed(source, srcSchema);
    await dropTestSchemaUnlessFailed(target, schema);
    await source.end();
    await target.end();
  });

  it('a FAILED task is logged with its trace, makes /readyz not ready and is counted', async () => {
    // No publication and autocreation disabled: the task fails when it starts streaming.
    const text = managedManifest({ name, srcSchema, dest: `${schema}.orders`, cdc: { 'publication.autocreate.mode': 'disabled', 'snapshot.mode': 'no_data' } });
    const manifest = JSON.parse(text) as { spec: { sink: { options: Record<string, unknown> } } };
    manifest.spec.sink.options.http_port = 0;
    const svc = await startInProcess(JSON.stringify(manifest));
    const failed: number[] = [];
    svc.emitter.on('sourceConnector', (e) => e.newlyFailed && failed.push(e.newlyFailed));
    try {
      const deadline = Date.now() + 90_000;
      while (failed.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
      expect(failed.length).toBeGreaterThan(0);
      const ready = await fetch(`http://127.0.0.1:${svc.httpPort}/readyz`);
      expect(ready.status).toBe(503);
      expect(JSON.parse(await ready.text())).toMatchObject({ missing: expect.arrayContaining(['source_connector']), sourceConnector: { name: connector, healthy: false, tasks: [{ id: 0, state: 'FAILED' }] } });
      const metrics = await (await fetch(`http://127.0.0.1:${svc.httpPort}/metrics`)).text();
      expect(metrics).toMatch(new RegExp(`nilus_source_connector_task_failures_total\\{pipeline="${name}"\\} [1-9]`));
      expect(metrics).toMatch(new RegExp(`nilus_source_connector_up\\{pipeline="${name}"\\} 0`));
      const line = svc.logs().split('\n').find((l) => l.includes(`source connector ${connector} task 0 FAILED`));
      expect(JSON.parse(line ?? '{}')).toMatchObject({ level: 'error', task: 0, trace: expect.stringMatching(/Publication autocreation is disabled/) });
    } finally {
      expect(await svc.stop()).toBe(0);
    }
  });
});

describe('managed source with a config Kafka Connect refuses', () => {
  it('run stops at start-up with Connect\'s message, creating nothing', async () => {
    const name = uniqueName('mgdbad').replace(/_/g, '-');
    const svc = await startInProcess(managedManifest({ name, srcSchema: 'public', dest: 'public.never', cdc: { 'snapshot.mode': 'sometimes' } }));
    expect(await svc.done).toBe(1);
    expect(svc.logs()).toMatch(/Kafka Connect PUT \/connectors\/nilus-mgdbad\S+\/config: HTTP 400 .*snapshot\.mode/);
    expect(await new ConnectRest(connectUrl()).config(`nilus-${name}`)).toBeUndefined();
  });
});
