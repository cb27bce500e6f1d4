/**
 * A DBA at work on the target while a continuous workload flows through the pipeline: a column
 * dropped (with auto_evolve on and off), a column renamed, the table dropped, the table truncated, constraints and a trigger that
 * some rows violate (tolerance all and none), every session of the pipeline terminated, and the
 * connection limit reached mid-stream (53300). Each case checks the defined behaviour
 * (docs/operations.md, "A DBA at work on the target") and compares the target by content.
 *
 * The pipelines connect as a role this test creates (and drops): sessions are terminated and the
 * connection limit is set on that role only, never on anything else of the shared server.
 * Slow: about 2 minutes in all (9 cases, 8-17 s each). The truncate with `nilus-pg verify` on a
 * managed source is test/it/faults/dba-truncate.it.ts.
 */
import type { Pool } from 'pg';
import { createTopics } from '../../helpers/kafka';
import { createTestSchema, dropTestSchemaUnlessFailed, newPool, targetPgUrl, uniqueName } from '../../helpers/pg';
import { cdcManifest, produceMany, startInProcess } from '../../helpers/pipeline';
import { EventFactory, orderRow, ordersTable } from '../../fixtures/factory';
import { stridePick } from '../../fixtures/orders';
import { churn, expectedOrders, httpGet, metricSum, ORDERS_TEXT, ordersRows, scrape, sleep, until } from '../ops/support';
import { highWatermarks, storedOffsets, storedTotal } from '../ops/group';

type Message = { key: string | null; value: string | null; partition: number };
type Service = Awaited<ReturnType<typeof startInProcess>>;

const PASSWORD = 'unused-with-trust-auth';

/** Updates of every live key to its next version, so every row ends written after the fault. */
function touchAll(f: EventFactory, state: Map<number, number>, partitions: number): Message[] {
  const out: Message[] = [];
  for (const [id, v] of [...state.entries()].sort((a, b) => a[0] - b[0])) {
    for (const m of f.update(orderRow(id, v), orderRow(id, v + 1))) out.push({ ...m, partition: id % partitions });
    state.set(id, v + 1);
  }
  return out;
}

/**
 * The live keys and versions after the first `offset` messages of churn(f, events, keys, 1)'s
 * stream (one partition): its loop again, stopped at that offset.
 */
function stateAt(events: number, keys: number, offset: number): Map<number, number> {
  const state = new Map<number, number>();
  const pick = stridePick(keys);
  let at = 0;
  for (let i = 0; i < events; i++) {
    const { id, del } = pick(i);
    const deletes = del && state.has(id);
    const n = deletes ? 2 : 1; // a delete and its tombstone
    if (at + n > offset) break;
    at += n;
    if (deletes) state.delete(id);
    else state.set(id, (state.get(id) ?? -1) + 1);
  }
  if (at !== offset) throw new Error(`offset ${offset} falls inside an event's messages`);
  return state;
}

/** The messages in `slices` slices, one every `everyMs`: a workload that keeps arriving. */
async function produceContinuously(topic: string, messages: readonly Message[], slices: number, everyMs: number): Promise<void> {
  const per = Math.ceil(messages.length / slices);
  for (let i = 0; i < slices; i++) {
    await produceMany(topic, messages.slice(i * per, (i + 1) * per));
    await sleep(everyMs);
  }
}

/** Log lines at error level or above (the in-process logger keeps warn and up). */
function errorLines(svc: Service): string[] {
  return svc.logs().split('\n').filter((l) => /"level":(50|60)\b|"level":"(error|fatal)"/.test(l));
}

/** Resolves with the exit code once the pipeline ended by itself, or throws after `ms`. */
async function ended(svc: Service, ms: number): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      svc.done,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`the pipeline did not stop within ${ms} ms; its log:\n${svc.logs()}`)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

describe('a DBA at work on the target, mid-stream', () => {
  let pool: Pool;
  let schema: string;
  const role = uniqueName('fltdba');
  beforeAll(async () => {
    pool = newPool();
    schema = await createTestSchema(pool, 'fltdba');
    await pool.query(`CREATE ROLE "${role}" LOGIN PASSWORD '${PASSWORD}'`);
    await pool.query(`GRANT ALL ON SCHEMA "${schema}" TO "${role}"`);
  });
  afterAll(async () => {
    await pool.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, [role]);
    await pool.query(`REASSIGN OWNED BY "${role}" TO CURRENT_USER`);
    await pool.query(`DROP OWNED BY "${role}"`);
    await pool.query(`DROP ROLE "${role}"`);
    await dropTestSchemaUnlessFailed(pool, schema);
    await pool.end();
  });

  /** Only the sessions of this test's role: the pipeline's own. */
  async function terminateOwnSessions(): Promise<number> {
    const r = await pool.query<{ n: string }>(
      `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::text AS n FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()`,
      [role],
    );
    return Number(r.rows[0]!.n);
  }

  /** A topic, a group, a target table of its own, and a pipeline connected as the test's role. */
  async function pipeline(name: string, partitions: number, options: Record<string, unknown> = {}) {
    const prefix = uniqueName(name);
    const groupId = `${prefix}_g`;
    const table = `orders_${name}`;
    const f = new EventFactory(ordersTable(prefix));
    await createTopics([f.topic], partitions);
    const url = new URL(targetPgUrl());
    url.username = role;
    url.password = PASSWORD;
    url.searchParams.set('sslmode', 'disable');
    const m = JSON.parse(cdcManifest({
      name: prefix, prefix, groupId, dest: `${schema}.${table}`, strategy: 'merge', include: 'public.orders',
      options: { 'batch.max_rows': 500, lock_timeout_ms: 5_000, 'errors.retry.initial_ms': 200, 'errors.retry.max_ms': 1_000, ...options },
    }));
    m.spec.sink.address = url.toString();
    const start = () => startInProcess(JSON.stringify(m));
    const target = async () => ordersRows((await pool.query(ORDERS_TEXT(schema, table))).rows);
    const stored = () => storedTotal(pool, schema, groupId);
    return { f, groupId, table, start, target, stored, qt: `"${schema}"."${table}"` };
  }

  /** A column dropped, or renamed, mid-stream: read again, added back, every later row complete. */
  async function columnGone(name: string, ddl: (qt: string) => string): Promise<{ svc: Service; qt: string }> {
    const p = await pipeline(name, 2);
    const { state, messages } = churn(p.f, 6_000, 600, 2);
    const svc = await p.start();
    try {
      const producing = produceContinuously(p.f.topic, messages, 30, 200);
      await until('the first flushes to commit', async () => ((await p.stored()) > 1_000 ? true : undefined), 60_000, 50);
      await pool.query(ddl(p.qt));
      const changedAt = Date.now();
      await producing;
      const tail = touchAll(p.f, state, 2);
      await produceMany(p.f.topic, tail);
      await until('every event to be applied', async () => ((await p.stored()) === messages.length + tail.length ? true : undefined), 60_000);
      const retryLines = svc.logs().split('\n').filter((l) => l.includes('"msg":"retrying apply"'));
      expect(retryLines.some((l) => l.includes(`a column of ${p.qt.replace(/"/g, '\\"')} is gone`))).toBe(true);
      expect({ applyRetriesCounted: metricSum(await scrape(svc.httpPort), 'nilus_retries_total', { operation: 'apply' }) > 0 }).toEqual({ applyRetriesCounted: true });
      expect({ readyz: (await httpGet(svc.httpPort, '/readyz')).status }).toEqual({ readyz: 200 });
      expect(errorLines(svc)).toEqual([]);
      console.log(`${name}: caught up ${Date.now() - changedAt} ms after the DDL, ${retryLines.length} apply retries logged`);
      // Exact: every live key at its last version (written after the column came back), nothing doubled.
      expect(await p.target()).toEqual(expectedOrders(state));
      expect(await storedOffsets(pool, schema, p.groupId, p.f.topic)).toEqual(await highWatermarks(p.f.topic));
    } finally {
      expect({ exitCode: await svc.stop() }).toEqual({ exitCode: 0 });
    }
    return { svc, qt: p.qt };
  }

  it('a column dropped: the sink reads the table again, adds the column back, retries the flush; exact', async () => {
    await columnGone('coldrop', (qt) => `ALTER TABLE ${qt} DROP COLUMN note`);
  }, 120_000);

  it('a column renamed: the old name is added back (the renamed column keeps the rows written before); exact', async () => {
    await columnGone('colrename', (qt) => `ALTER TABLE ${qt} RENAME COLUMN note TO note_renamed`);
    const kept = await pool.query<{ n: string }>(`SELECT count(note_renamed)::text AS n FROM "${schema}"."orders_colrename"`);
    expect({ renamedColumnKeepsOldValues: Number(kept.rows[0]!.n) > 0 }).toEqual({ renamedColumnKeepsOldValues: true });
  }, 120_000);

  it('a column dropped with auto_evolve: false: stops naming the ALTER TABLE to run, applies nothing past', async () => {
    const p = await pipeline('colnoevolve', 2, { auto_evolve: false });
    const { messages } = churn(p.f, 6_000, 600, 2);
    const svc = await p.start();
    const producing = produceContinuously(p.f.topic, messages, 30, 200);
    let code: number | undefined;
    try {
      await until('the first flushes to commit', async () => ((await p.stored()) > 1_000 ? true : undefined), 60_000, 50);
      await pool.query(`ALTER TABLE ${p.qt} DROP COLUMN note`);
      const storedAtDrop = await p.stored();
      code = await ended(svc, 30_000);
      const errors = errorLines(svc).join('\n');
      expect(errors).toContain('spec.sink.options.auto_evolve');
      expect(errors).toContain(`ALTER TABLE ${p.qt} ADD COLUMN "note" text`.replace(/"/g, '\\"'));
      expect(await p.stored()).toBe(storedAtDrop);
    } finally {
      await producing;
      const stopCode = await svc.stop();
      code ??= stopCode;
    }
    expect({ exitCode: code }).toEqual({ exitCode: 1 });
  }, 120_000);

  it('the table dropped: the pipeline stops naming the table and the fixes, does not re-create it, applies nothing past', async () => {
    const p = await pipeline('tdrop', 2);
    const { messages } = churn(p.f, 6_000, 600, 2);
    const svc = await p.start();
    const producing = produceContinuously(p.f.topic, messages, 30, 200);
    let code: number | undefined;
    try {
      await until('the first flushes to commit', async () => ((await p.stored()) > 1_000 ? true : undefined), 60_000, 50);
      await pool.query(`DROP TABLE ${p.qt}`);
      const droppedAt = Date.now();
      // No flush touching the table can commit after the DROP did.
      const storedAtDrop = await p.stored();
      code = await ended(svc, 30_000);
      console.log(`table dropped: the pipeline stopped ${Date.now() - droppedAt} ms after the DROP`);
      const errors = errorLines(svc).join('\n');
      expect(errors).toContain(`target table ${p.qt.replace(/"/g, '\\"')} was dropped while the pipeline was writing to it`);
      expect(errors).toMatch(/restore the table/);
      expect(errors).toMatch(/resync/);
      expect(await p.stored()).toBe(storedAtDrop);
      const exists = await pool.query<{ t: string | null }>(`SELECT to_regclass($1)::text AS t`, [p.qt]);
      expect({ tableRecreated: exists.rows[0]!.t !== null }).toEqual({ tableRecreated: false });
    } finally {
      await producing;
      const stopCode = await svc.stop();
      code ??= stopCode;
    }
    expect({ exitCode: code }).toEqual({ exitCode: 1 });
  }, 120_000);

  it('the table truncated: the pipeline goes on; the target then holds exactly the rows changed since', async () => {
    const partitions = 2;
    const p = await pipeline('ttrunc', partitions);
    // Keys 301-600 change only in the first half of the stream, keys 1-300 throughout.
    const first = stridePick(600);
    const second = stridePick(300);
    const { state, messages } = churn(p.f, 6_000, 600, partitions, (i) => (i < 3_000 ? first(i) : second(i)));
    const firstHalf = churn(new EventFactory(ordersTable(p.f.def.prefix)), 3_000, 600, partitions, first).messages.length;
    const svc = await p.start();
    let since: Record<number, number> = {};
    try {
      // The truncate comes once the first half is applied, while the second half is produced.
      await produceContinuously(p.f.topic, messages.slice(0, firstHalf), 15, 200);
      await until('the first half to be applied', async () => ((await p.stored()) === firstHalf ? true : undefined), 60_000, 50);
      const producing = produceContinuously(p.f.topic, messages.slice(firstHalf), 15, 200);
      // The offsets read in the truncating transaction: TRUNCATE's lock keeps every flush out
      // until it commits, so what was stored then is exactly what the truncate removed.
      const c = await pool.connect();
      try {
        await c.query('BEGIN');
        await c.query(`TRUNCATE ${p.qt}`);
        since = await storedOffsets(c as unknown as Pool, schema, p.groupId, p.f.topic);
        await c.query('COMMIT');
      } finally {
        c.release();
      }
      await producing;
      await until('every event to be applied', async () => ((await p.stored()) === messages.length ? true : undefined), 60_000);
      expect(errorLines(svc)).toEqual([]);
    } finally {
      expect({ exitCode: await svc.stop() }).toEqual({ exitCode: 0 });
    }
    // The keys with a change at or past the truncate's offsets are there at their last version;
    // every other key is gone: the truncate is not in the change stream, so nothing restores it.
    const touched = new Set<number>();
    const next: Record<number, number> = {};
    for (const m of messages) {
      const offset = next[m.partition] ?? 0;
      next[m.partition] = offset + 1;
      if (m.key !== null && offset >= (since[m.partition] ?? 0)) touched.add(Number(JSON.parse(m.key).payload.id));
    }
    const expected = new Map([...state].filter(([id]) => touched.has(id)));
    const rows = await p.target();
    console.log(`table truncated: ${rows.length} of ${state.size} live keys in the target afterwards (stored offsets at the truncate ${JSON.stringify(since)})`);
    expect({ someRowsGone: expected.size < state.size }).toEqual({ someRowsGone: true });
    expect(rows).toEqual(expectedOrders(expected));
  }, 120_000);

  it('constraints and a trigger that some rows violate, errors.tolerance all: those rows dead-lettered naming constraint/trigger, the rest exact', async () => {
    const p = await pipeline('constr', 2, { 'errors.tolerance': 'all', 'errors.deadletter.table': `${schema}.dead_constr` });
    const { state, messages } = churn(p.f, 6_000, 600, 2);
    const half = messages.length >> 1;
    // New keys after the DDL, every fourth good, the others each violating one of the three rules.
    const bad = new Map<number, string>();
    const special: Message[] = [];
    for (let j = 0; j < 40; j++) {
      const id = 100_000 + j;
      const row = orderRow(id, 0);
      const kind = j % 4;
      if (kind === 1) row.status = null;
      if (kind === 2) row.note = 'forbidden';
      if (kind === 3) row.customer_id = -1;
      if (kind === 0) state.set(id, 0);
      else bad.set(id, ['', 'status', 'check', 'trigger'][kind]!);
      for (const m of p.f.create(row)) special.push({ ...m, partition: id % 2 });
    }
    const rest: Message[] = [];
    const tailChurn = messages.slice(half);
    const step = Math.ceil(tailChurn.length / special.length);
    for (let i = 0; i < special.length; i++) rest.push(...tailChurn.slice(i * step, (i + 1) * step), special[i]!);
    rest.push(...tailChurn.slice(special.length * step));

    const svc = await p.start();
    try {
      await produceContinuously(p.f.topic, messages.slice(0, half), 15, 200);
      await until('the first flushes to commit', async () => ((await p.stored()) > 1_000 ? true : undefined), 60_000, 50);
      await pool.query(`ALTER TABLE ${p.qt} ALTER COLUMN status SET NOT NULL`);
      await pool.query(`ALTER TABLE ${p.qt} ADD CONSTRAINT note_not_forbidden CHECK (note IS DISTINCT FROM 'forbidden')`);
      await pool.query(
        `CREATE FUNCTION "${schema}".refuse_negative() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ` +
          `IF NEW.customer_id < 0 THEN RAISE EXCEPTION 'customer_id % is negative', NEW.customer_id; END IF; RETURN NEW; END $$`,
      );
      await pool.query(`CREATE TRIGGER refuse_negative BEFORE INSERT OR UPDATE ON ${p.qt} FOR EACH ROW EXECUTE FUNCTION "${schema}".refuse_negative()`);
      await produceContinuously(p.f.topic, rest, 15, 200);
      await until('every event to be applied', async () => ((await p.stored()) === messages.length + special.length ? true : undefined), 60_000);
      expect(errorLines(svc)).toEqual([]);
      expect({ deadLetteredCounted: metricSum(await scrape(svc.httpPort), 'nilus_dead_lettered_total') }).toEqual({ deadLetteredCounted: bad.size });
    } finally {
      expect({ exitCode: await svc.stop() }).toEqual({ exitCode: 0 });
    }
    expect(await p.target()).toEqual(expectedOrders(state));
    const dead = (await pool.query<{ value_text: string; reason: string }>(`SELECT value_text, reason FROM "${schema}".dead_constr ORDER BY kafka_offset`)).rows;
    const byId = new Map(dead.map((d) => [Number(JSON.parse(d.value_text).id), d.reason]));
    expect([...byId.keys()].sort((a, b) => a - b)).toEqual([...bad.keys()]);
    for (const [id, kind] of bad) {
      const reason = byId.get(id)!;
      expect(reason).toContain(p.qt);
      if (kind === 'status') expect(reason).toMatch(/null value in column "status".*violates not-null constraint.*SQLSTATE 23502/);
      if (kind === 'check') expect(reason).toMatch(/violates check constraint "note_not_forbidden".*SQLSTATE 23514/);
      if (kind === 'trigger') expect(reason).toMatch(/customer_id -1 is negative \(SQLSTATE P0001\) \(raised by trigger function .*refuse_negative\(\)\)/);
    }
    console.log(`constraints/trigger, tolerance all: ${dead.length} rows dead-lettered, ${state.size} live keys exact`);
  }, 150_000);

  it('a CHECK constraint a row violates, errors.tolerance none: stops at that record naming table, constraint and fix; nothing applied past it', async () => {
    const p = await pipeline('constrnone', 1);
    const { state, messages } = churn(p.f, 3_000, 300, 1);
    const poison = p.f.create({ ...orderRow(100_000, 0), note: 'forbidden' }).map((m) => ({ ...m, partition: 0 }));
    const after = touchAll(p.f, new Map(state), 1);
    const svc = await p.start();
    let code: number | undefined;
    try {
      const half = messages.length >> 1;
      await produceContinuously(p.f.topic, messages.slice(0, half), 10, 200);
      await until('the first flushes to commit', async () => ((await p.stored()) > 500 ? true : undefined), 60_000, 50);
      await pool.query(`ALTER TABLE ${p.qt} ADD CONSTRAINT note_not_forbidden CHECK (note IS DISTINCT FROM 'forbidden')`);
      await produceContinuously(p.f.topic, [...messages.slice(half), ...poison, ...after], 10, 200);
      code = await ended(svc, 60_000);
      const errors = errorLines(svc).join('\n');
      expect(errors).toContain(`topic ${p.f.topic}, partition 0, offset ${messages.length}`);
      expect(errors).toContain(p.qt.replace(/"/g, '\\"'));
      expect(errors).toMatch(/violates check constraint \\"note_not_forbidden\\".*SQLSTATE 23514/);
      expect(errors).toMatch(/Fix the row at the source or the target's constraint or trigger, then restart/);
    } finally {
      const stopCode = await svc.stop();
      code ??= stopCode;
    }
    expect({ exitCode: code }).toEqual({ exitCode: 1 });
    // The flush holding the record was rolled back: the stored offset is where it began, at or
    // before the record, and the target holds exactly the events before that offset.
    const stored = (await storedOffsets(pool, schema, p.groupId, p.f.topic))[0]!;
    console.log(`constraint, tolerance none: stopped at offset ${messages.length}, stored offset ${stored}`);
    expect({ storedAtOrBeforeTheRecord: stored <= messages.length && stored > 0 }).toEqual({ storedAtOrBeforeTheRecord: true });
    expect(await p.target()).toEqual(expectedOrders(stateAt(3_000, 300, stored)));
  }, 120_000);

  it("all of the pipeline's sessions terminated, three times mid-stream: retried on new connections; exact", async () => {
    const p = await pipeline('term', 2);
    const { state, messages } = churn(p.f, 8_000, 800, 2);
    const svc = await p.start();
    let terminated = 0;
    try {
      const producing = produceContinuously(p.f.topic, messages, 40, 200);
      await until('the first flushes to commit', async () => ((await p.stored()) > 1_000 ? true : undefined), 60_000, 50);
      for (let i = 0; i < 3; i++) {
        terminated += await terminateOwnSessions();
        await sleep(1_500);
      }
      await producing;
      await until('every event to be applied', async () => ((await p.stored()) === messages.length ? true : undefined), 60_000);
      expect({ sessionsTerminated: terminated > 0 }).toEqual({ sessionsTerminated: true });
      expect(errorLines(svc)).toEqual([]);
      expect({ readyz: (await httpGet(svc.httpPort, '/readyz')).status }).toEqual({ readyz: 200 });
      const retries = metricSum(await scrape(svc.httpPort), 'nilus_retries_total', { operation: 'apply' });
      console.log(`sessions terminated: ${terminated} sessions ended in 3 rounds, ${retries} apply retries`);
    } finally {
      expect({ exitCode: await svc.stop() }).toEqual({ exitCode: 0 });
    }
    expect(await p.target()).toEqual(expectedOrders(state));
    expect(await storedOffsets(pool, schema, p.groupId, p.f.topic)).toEqual(await highWatermarks(p.f.topic));
  }, 120_000);

  it('the connection limit reached mid-stream (53300): retried with backoff, not ready while it lasts, then exact', async () => {
    const p = await pipeline('limit', 2);
    const { state, messages } = churn(p.f, 8_000, 800, 2);
    const svc = await p.start();
    try {
      const producing = produceContinuously(p.f.topic, messages, 40, 200);
      await until('the first flushes to commit', async () => ((await p.stored()) > 1_000 ? true : undefined), 60_000, 50);
      await pool.query(`ALTER ROLE "${role}" CONNECTION LIMIT 0`);
      await terminateOwnSessions();
      const limitedAt = Date.now();
      await until('the worker to meet 53300', async () => (/too many connections for role/.test(svc.logs()) ? true : undefined), 30_000, 50);
      const detectedMs = Date.now() - limitedAt;
      const ready = await httpGet(svc.httpPort, '/readyz');
      expect({ readyz: ready.status, postgresqlMissing: (JSON.parse(ready.body).missing as string[]).includes('postgresql') }).toEqual({ readyz: 503, postgresqlMissing: true });
      const first = metricSum(await scrape(svc.httpPort), 'nilus_retries_total', { operation: 'apply' });
      const storedWhileLimited = await p.stored();
      await sleep(3_000);
      expect(await p.stored()).toBe(storedWhileLimited);
      const second = metricSum(await scrape(svc.httpPort), 'nilus_retries_total', { operation: 'apply' });
      expect({ retriesGrowing: second > first }).toEqual({ retriesGrowing: true });
      await pool.query(`ALTER ROLE "${role}" CONNECTION LIMIT -1`);
      const raisedAt = Date.now();
      await until('a flush to commit once connections are allowed', async () => ((await p.stored()) > storedWhileLimited ? true : undefined), 30_000, 50);
      const recoveredMs = Date.now() - raisedAt;
      await producing;
      await until('every event to be applied', async () => ((await p.stored()) === messages.length ? true : undefined), 60_000);
      await until('/readyz to answer 200', async () => ((await httpGet(svc.httpPort, '/readyz')).status === 200 ? true : undefined), 30_000);
      expect(errorLines(svc)).toEqual([]);
      console.log(`53300 mid-stream: seen ${detectedMs} ms after the limit, ${second} apply retries while it lasted, first commit ${recoveredMs} ms after it was raised`);
    } finally {
      await pool.query(`ALTER ROLE "${role}" CONNECTION LIMIT -1`);
      expect({ exitCode: await svc.stop() }).toEqual({ exitCode: 0 });
    }
    expect(await p.target()).toEqual(expectedOrders(state));
    expect(await storedOffsets(pool, schema, p.groupId, p.f.topic)).toEqual(await highWatermarks(p.f.topic));
  }, 120_000);
});
