/** `nilus-pg status`'s verdict, exit code and text from what was read (src/cli/status-report.ts, status-format.ts). */
import { buildReport, type StatusInputs } from '../../../src/cli/status-report';
import { bytes, columns, formatStatus } from '../../../src/cli/status-format';
import type { KafkaState } from '../../../src/kafka/group-status';
import type { StoredPartition } from '../../../src/sink/state-status';

const NOW = Date.parse('2026-01-01T12:00:00Z');
const ok = <T>(value: T) => ({ ok: true as const, value });
const down = (error: string) => ({ ok: false as const, error });

const kafka = (ends: Record<string, [number, number][]>): KafkaState => ({
  partitions: Object.entries(ends).flatMap(([topic, ps]) => ps.map(([low, high], partition) => ({ topic, partition, low: String(low), high: String(high) }))),
  groupState: 'Stable',
  members: [{ memberId: 'm-1', clientId: 'nilus-pg', host: '/10.0.0.1', partitions: ['p.s.a[0]'] }],
});
const stored = (topic: string, partition: number, next: number, sourceAgoS?: number, flushAgoS = 1): StoredPartition => ({
  topic, partition, next: String(next), flushedMs: NOW - flushAgoS * 1000, ...(sourceAgoS !== undefined ? { sourceMs: NOW - sourceAgoS * 1000 } : {}),
});
const cdc = (over: Partial<StatusInputs>): StatusInputs => ({
  pipeline: 'p', mode: 'cdc', nowMs: NOW, maxLagSeconds: 300, groupId: 'g', tableOf: (t) => `s.${t.split('.').pop()}`, ...over,
});

describe('status report', () => {
  it('healthy (exit 0): every partition caught up; lag in messages is end minus stored, lag in seconds the age of the last change applied', () => {
    const r = buildReport(cdc({ kafka: ok(kafka({ 'p.s.a': [[0, 10], [0, 4]] })), stored: ok([stored('p.s.a', 0, 10, 5), stored('p.s.a', 1, 4, 3600)]) }));
    expect(r).toMatchObject({ health: 'healthy', exitCode: 0, problems: [], unreachable: [] });
    expect(r.partitions).toEqual([
      { table: 's.a', topic: 'p.s.a', partition: 0, storedOffset: '10', endOffset: '10', lagMessages: 0, lastSourceTime: '2026-01-01T11:59:55.000Z', lagSeconds: 5, lastFlush: '2026-01-01T11:59:59.000Z', lagging: false },
      // an hour old but nothing waits (a quiet source): not lagging
      { table: 's.a', topic: 'p.s.a', partition: 1, storedOffset: '4', endOffset: '4', lagMessages: 0, lastSourceTime: '2026-01-01T11:00:00.000Z', lagSeconds: 3600, lastFlush: '2026-01-01T11:59:59.000Z', lagging: false },
    ]);
    expect(r.tables).toEqual([{ table: 's.a', topics: ['p.s.a'], lagMessages: 0, lagSeconds: 0, lastSourceTime: '2026-01-01T11:59:55.000Z', lastFlush: '2026-01-01T11:59:59.000Z', deadLetters: null, lagging: false }]);
    expect(r.group).toEqual({ id: 'g', state: 'Stable', members: kafka({}).members });
  });

  it('lagging (exit 1): messages wait and the last change applied is older than --max-lag-seconds; below it, not', () => {
    const inputs = cdc({ kafka: ok(kafka({ 'p.s.a': [[0, 15]], 'p.s.b': [[0, 8]] })), stored: ok([stored('p.s.a', 0, 10, 400), stored('p.s.b', 0, 3, 100)]) });
    const r = buildReport(inputs);
    expect(r).toMatchObject({ health: 'unhealthy', exitCode: 1 });
    expect(r.problems).toEqual(['s.a: 5 message(s) behind, last change applied 400 s ago (more than 300 s)']);
    expect(r.tables.map((t) => [t.table, t.lagMessages, t.lagSeconds, t.lagging])).toEqual([['s.a', 5, 400, true], ['s.b', 5, 100, false]]);
    expect(buildReport({ ...inputs, maxLagSeconds: 500 }).exitCode).toBe(0);
  });

  it('with no source time stored the last flush is the age; with nothing stored the log start is the offset and it is lagging once messages wait', () => {
    const r = buildReport(cdc({ kafka: ok(kafka({ 'p.s.a': [[2, 12]], 'p.s.b': [[0, 3]] })), stored: ok([stored('p.s.a', 0, 10, undefined, 600)]) }));
    expect(r.partitions.map((p) => [p.topic, p.storedOffset, p.lagMessages, p.lagSeconds, p.lagging])).toEqual([['p.s.a', '10', 2, null, true], ['p.s.b', null, 3, null, true]]);
    expect(r.exitCode).toBe(1);
  });

  it('a stored offset past the end (a re-created topic) is 0 behind, not negative', () => {
    const r = buildReport(cdc({ kafka: ok(kafka({ 'p.s.a': [[0, 3]] })), stored: ok([stored('p.s.a', 0, 10, 1000)]) }));
    expect(r.partitions[0]!.lagMessages).toBe(0);
    expect(r.exitCode).toBe(0);
  });

  it('dead letters held are counted per table from their topics and make it unhealthy; a topic destination is not counted', () => {
    const base = { kafka: ok(kafka({ 'p.s.a': [[0, 1]], 'p.s.b': [[0, 1]] })), stored: ok([stored('p.s.a', 0, 1, 1), stored('p.s.b', 0, 1, 1)]) };
    const r = buildReport(cdc({ ...base, deadLetters: { kind: 'table', where: 'table s.dlq', counts: ok(new Map([['p.s.b', 2], ['p.s.gone', 1]])) } }));
    expect(r.tables.map((t) => [t.table, t.deadLetters])).toEqual([['s.a', 0], ['s.b', 2]]);
    expect(r.deadLetters).toEqual({ where: 'table s.dlq', total: 3 });
    expect(r.problems).toEqual(['3 dead letter(s) held in table s.dlq: changes that did not apply']);
    expect(r.exitCode).toBe(1);
    const none = buildReport(cdc({ ...base, deadLetters: { kind: 'table', where: 'table s.dlq', counts: ok(new Map()) } }));
    expect(none.exitCode).toBe(0);
    const topic = buildReport(cdc({ ...base, deadLetters: { kind: 'topic', where: 'topic dlq' } }));
    expect(topic).toMatchObject({ exitCode: 0, deadLetters: { where: 'topic dlq', total: null } });
  });

  it('cannot tell (exit 2) when a part cannot be read and nothing read was wrong; what was wrong wins (exit 1)', () => {
    const r = buildReport(cdc({ kafka: down('connection refused'), stored: ok([stored('p.s.a', 0, 10, 1)]) }));
    expect(r).toMatchObject({ health: 'unknown', exitCode: 2, unreachable: [{ part: 'Kafka', error: 'connection refused' }] });
    // Without Kafka the partitions come from the offsets table, their lag unknown.
    expect(r.partitions.map((p) => [p.topic, p.storedOffset, p.endOffset, p.lagMessages, p.lagging])).toEqual([['p.s.a', '10', null, null, false]]);
    expect(r.tables[0]).toMatchObject({ lagMessages: null, lagSeconds: null });
    const both = buildReport(cdc({
      kafka: down('connection refused'), stored: ok([]),
      connector: { name: 'nilus_p', read: ok({ state: 'RUNNING', tasks: [{ id: 0, state: 'FAILED' }] }) },
    }));
    expect(both).toMatchObject({ health: 'unhealthy', exitCode: 1, problems: ['source task 0 is FAILED: nothing new is captured'] });
  });

  it('a managed source: connector and tasks must run, the slot must exist; retained WAL and the binlog position are reported', () => {
    const base = { kafka: ok(kafka({})), stored: ok([]) };
    const running = { name: 'nilus_p', read: ok({ state: 'RUNNING', tasks: [{ id: 0, state: 'RUNNING' }] }) };
    const r = buildReport(cdc({ ...base, connector: running, slot: ok({ slot: 'nilus_p', exists: true, active: true, retainedBytes: 4096, restartLsn: '0/16B3748' }) }));
    expect(r.exitCode).toBe(0);
    expect(r.source).toEqual({
      connector: { name: 'nilus_p', state: 'RUNNING', tasks: [{ id: 0, state: 'RUNNING' }] },
      slot: { name: 'nilus_p', exists: true, active: true, retainedWalBytes: 4096, restartLsn: '0/16B3748' },
    });
    expect(buildReport(cdc({ ...base, connector: running, slot: ok({ slot: 'nilus_p', exists: false }) })).problems).toEqual(['replication slot nilus_p does not exist on the source']);
    expect(buildReport(cdc({ ...base, connector: { name: 'nilus_p', read: ok({ state: 'PAUSED', tasks: [] }) } })).problems).toEqual(['source connector nilus_p is PAUSED: nothing new is captured']);
    expect(buildReport(cdc({ ...base, connector: { name: 'nilus_p', read: ok({ state: 'MISSING', tasks: [] }) } })).exitCode).toBe(1);
    const unreachable = buildReport(cdc({ ...base, connector: { name: 'nilus_p', read: down('ECONNREFUSED') } }));
    expect(unreachable).toMatchObject({ exitCode: 2, source: { connector: { state: 'UNREACHABLE' } }, unreachable: [{ part: 'Kafka Connect (connector nilus_p)', error: 'ECONNREFUSED' }] });
    const my = buildReport(cdc({ ...base, connector: running, binlog: ok({ file: 'mysql-bin.000003', position: '157' }) }));
    expect(my.source?.binlog).toEqual({ file: 'mysql-bin.000003', position: '157', gtids: null });
  });

  it('batch: the cursor, when a run last stored it and the next run; 0 when read, 2 when the target cannot be', () => {
    const r = buildReport({ pipeline: 'b', mode: 'batch', nowMs: NOW, maxLagSeconds: 300, batch: { sourceTable: 'public.orders', incremental: true, nextRunMs: NOW + 60_000, cursor: ok({ column: 'id', value: '42', rowsLoaded: '42', updatedMs: NOW - 30_000 }) } });
    expect(r).toMatchObject({ exitCode: 0, partitions: [], tables: [] });
    expect(r.batch).toEqual({ sourceTable: 'public.orders', cursorColumn: 'id', cursorValue: '42', rowsLoaded: '42', lastRun: '2026-01-01T11:59:30.000Z', nextRun: '2026-01-01T12:01:00.000Z' });
    expect(r.group).toBeUndefined();
    expect(buildReport({ pipeline: 'b', mode: 'batch', nowMs: NOW, maxLagSeconds: 300, batch: { sourceTable: 'public.orders', incremental: true, cursor: down('no route') } }).exitCode).toBe(2);
  });
});

describe('status text', () => {
  it('one row per table and partition under a header, the verdict first, the group and source after', () => {
    const r = buildReport(cdc({
      kafka: ok(kafka({ 'p.s.a': [[0, 15]] })), stored: ok([stored('p.s.a', 0, 10, 400)]),
      deadLetters: { kind: 'table', where: 'table s.dlq', counts: ok(new Map()) },
      connector: { name: 'nilus_p', read: ok({ state: 'RUNNING', tasks: [{ id: 0, state: 'RUNNING' }] }) },
      slot: ok({ slot: 'nilus_p', exists: true, active: false, retainedBytes: 3 * 1024 * 1024, restartLsn: '0/1' }),
    }));
    const text = formatStatus(r);
    expect(text[0]).toBe('pipeline p (cdc): UNHEALTHY (exit 1) at 2026-01-01T12:00:00.000Z');
    expect(text[1]).toBe('  problem: s.a: 5 message(s) behind, last change applied 400 s ago (more than 300 s)');
    const header = text.findIndex((l) => l.startsWith('TABLE'));
    expect(text[header]!.split(/\s{2,}/)).toEqual(['TABLE', 'TOPIC[PARTITION]', 'STORED', 'END', 'LAG MSGS', 'LAG S', 'LAST CHANGE APPLIED (SOURCE TIME)', 'LAST FLUSH', 'DEAD LETTERS', 'STATE']);
    expect(text[header + 1]!.split(/\s{2,}/)).toEqual(['s.a', 'p.s.a[0]', '10', '15', '5', '400', '2026-01-01 11:53:20Z (400 s ago)', '2026-01-01 11:59:59Z (1 s ago)', '0', 'LAGGING']);
    expect(text).toContain('consumer group g: Stable, 1 member(s)');
    expect(text).toContain('  nilus-pg /10.0.0.1 m-1: p.s.a[0]');
    expect(text).toContain('source connector nilus_p: RUNNING, task 0 RUNNING');
    expect(text).toContain('replication slot nilus_p: INACTIVE, retained WAL 3.0 MiB (restart_lsn 0/1)');
  });

  it('pads columns to the widest cell and prints sizes in binary units', () => {
    expect(columns([['a', 'bb', 'c'], ['ccc', 'd', 'e']])).toEqual(['a    bb  c', 'ccc  d   e']);
    expect([bytes(512), bytes(1536), bytes(10 * 1024 ** 3)]).toEqual(['512 B', '1.5 KiB', '10.0 GiB']);
  });
});

describe('status command line', () => {
  it('refuses a --max-lag-seconds that is not seconds, naming the option (exit 2), before reading the manifest', async () => {
    const { main } = await import('../../../src/cli/main');
    const err: string[] = [];
    const code = await main(['status', 'no-such-manifest.yaml', '--max-lag-seconds', 'soon'], { out: () => undefined, err: (l) => err.push(l) });
    expect(code).toBe(2);
    expect(err).toEqual(['--max-lag-seconds wants seconds (a number ≥ 0), got "soon"']);
  });

  it('lists status in the help and explains its exit codes', async () => {
    const { main } = await import('../../../src/cli/main');
    const out: string[] = [];
    expect(await main(['--help'], { out: (l) => out.push(l), err: () => undefined })).toBe(0);
    expect(out.join('\n')).toContain('status <manifest> [--json] [--max-lag-seconds n]');
    const help: string[] = [];
    expect(await main(['status', '--help'], { out: (l) => help.push(l), err: () => undefined })).toBe(0);
    expect(help.join('\n')).toMatch(/Exit 0 healthy; 1 unhealthy: .* 2 cannot tell/s);
  });
});
