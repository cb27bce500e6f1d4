import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../../src/cli/main';
import { formatLetter, formatSettled, parseQuery } from '../../../src/cli/deadletters';
import type { StoredLetter } from '../../../src/deadletter/store';

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const dir = mkdtempSync(join(tmpdir(), 'nilus-dl-'));
/** A CDC manifest with nothing reachable behind it: every case below ends before connecting. */
function manifest(name: string, options: Record<string, unknown>): string {
  const f = join(dir, `${name}.yaml`);
  writeFileSync(f, JSON.stringify({
    name, version: 'v1alpha', type: 'nilus',
    spec: {
      type: 'cdc', compute: 'c',
      source: { address: 'kafka://127.0.0.1:1', cdc: { 'topic.prefix': 'cdc' } },
      sink: { address: 'postgresql://u:p@127.0.0.1:1/db', options: { dest_table: 'raw.{table}', incremental_strategy: 'merge', ...options } },
    },
  }));
  return f;
}

const l: StoredLetter = { id: '7', topic: 'cdc.s.t', partition: 1, offset: '42', reason: 'why', errorClass: 'data', createdAt: '2026-12-07T14:00:00.000000Z', valueBytes: 3 };

describe('nilus-pg deadletters', () => {
  it('--table wants schema.table and --since a time, each named when wrong', () => {
    expect(parseQuery({})).toEqual({});
    expect(parseQuery({ table: 'raw.orders', since: '2026-12-07T14:00:00+01:00' })).toEqual({ table: { schema: 'raw', table: 'orders' }, since: '2026-12-07T13:00:00.000Z' });
    expect(parseQuery({ table: 'orders' })).toMatch(/^--table wants <schema>\.<table>/);
    expect(parseQuery({ since: 'soon' })).toMatch(/^--since wants a time .*"soon"/);
    expect(parseQuery({ since: ' ' })).toMatch(/^--since wants a time/);
  });

  it('prints a letter with its id, time, position, class and reason, and a replay per letter with a summary', () => {
    expect(formatLetter(l)).toBe('7\t2026-12-07T14:00:00.000000Z\tcdc.s.t[1]@42\tdata\twhy');
    expect(formatSettled({ replayed: [l], failed: [{ letter: { ...l, id: '8', offset: '43' }, reason: 'again' }], gone: [{ ...l, id: '9', offset: '1' }] })).toEqual([
      'replayed\t7\tcdc.s.t[1]@42',
      'failed again\t8\tcdc.s.t[1]@43\tagain',
      'gone\t9\tcdc.s.t[1]@1\tKafka no longer holds this record (retention, compaction or deleted records); the letter is kept',
      '1 replayed, 1 failed again (kept with the new reason), 1 gone from Kafka (kept)',
    ]);
  });

  it('wrong command lines exit 2 before connecting', async () => {
    const f = manifest('dl-ok', { 'errors.tolerance': 'all', 'errors.deadletter.table': 'raw.dead_letters', stale_guard: true });
    expect(await cli('deadletters', f)).toMatchObject({ code: 2, err: expect.stringContaining('Usage: nilus-pg deadletters') });
    expect(await cli('deadletters', f, 'purge')).toMatchObject({ code: 2, err: expect.stringContaining('deadletters wants list or replay, got "purge"') });
    expect(await cli('deadletters', f, 'list', '--force')).toMatchObject({ code: 2, err: '--force is for replay only' });
    expect(await cli('deadletters', f, 'list', '--since', 'tomorrow')).toMatchObject({ code: 2, err: expect.stringContaining('--since wants a time') });
    expect(await cli('deadletters', f, 'replay', '--table', 'nodot')).toMatchObject({ code: 2, err: expect.stringContaining('--table wants <schema>.<table>') });
    expect((await cli('deadletters', '--help')).out).toContain('replay: reads each letter');
  });

  it('a pipeline without dead letters is told so (exit 2); a dead-letter topic pipeline is refused replay without the guard too', async () => {
    const none = await cli('deadletters', manifest('dl-none', {}), 'list');
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/errors\.deadletter\.table: this pipeline keeps no dead letters/);
    const topic = await cli('deadletters', manifest('dl-topic', { 'errors.tolerance': 'all', 'errors.deadletter.topic': 'dlq' }), 'replay');
    expect(topic.code).toBe(2);
    expect(topic.err).toMatch(/stale_guard: replay refused/);
  });

  it('a merge replay without the stale-event guard is refused unless --force, before connecting', async () => {
    const r = await cli('deadletters', manifest('dl-unguarded', { 'errors.tolerance': 'all', 'errors.deadletter.table': 'raw.dead_letters' }), 'replay');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/stale_guard: replay refused: .*overwrite any newer change.*--force/);
  });
});

describe('nilus-pg resync: wrong command lines and pipelines it cannot resync exit 2 before connecting', () => {
  it('names the missing or wrong option and the pipelines not supported', async () => {
    const kafkaAddress = manifest('rs-kafka', {});
    expect(await cli('resync', kafkaAddress)).toMatchObject({ code: 2, err: expect.stringContaining('resync needs --table <schema.table>') });
    expect(await cli('resync', kafkaAddress, '--table', 'nodot')).toMatchObject({ code: 2, err: '--table wants <schema>.<table>: "nodot"' });
    expect(await cli('resync', kafkaAddress, '--table', 'a.b', '--timeout', '0')).toMatchObject({ code: 2, err: expect.stringContaining('--timeout wants seconds') });
    const r = await cli('resync', kafkaAddress, '--table', 's.t');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/spec\.source\.address: the address is a Kafka, so the connector is not nilus-pg's/);
    expect((await cli('resync', '--help')).out).toContain('incremental');
  });
});
