/** The batch scheduler over jest's fake clock: croner computes fire times, the fake timers move time. */
import type { BatchSchedule } from '../../../src/config/types';
import { CoreEmitter, type CoreEvents } from '../../../src/kernel/events';
import { createLogger } from '../../../src/observe/logger';
import { Scheduler, validateSchedule, type BatchRun } from '../../../src/batch/schedule';

const T0 = new Date('2030-01-01T00:00:00.000Z');

interface FakeRun {
  readonly n: number;
  readonly signal: AbortSignal;
  readonly trigger: string;
  readonly startedAt: number;
  settledAt?: number;
  finish(): void;
  fail(err: Error): void;
}

/**
 * A run that lasts until told (finish/fail), `autoFinishMs`, or its signal aborts: it then fails
 * with the abort reason at once, or `onAbortMs` later (like a runner rolling back).
 */
function fakeRuns(opts: { onAbortMs?: number; autoFinishMs?: number } = {}) {
  const runs: FakeRun[] = [];
  const run: BatchRun = (signal, trigger) =>
    new Promise<void>((resolve, reject) => {
      const r: FakeRun = {
        n: runs.length + 1,
        signal,
        trigger,
        startedAt: Date.now(),
        finish: () => {
          r.settledAt ??= Date.now();
          resolve();
        },
        fail: (err) => {
          r.settledAt ??= Date.now();
          reject(err);
        },
      };
      runs.push(r);
      signal.addEventListener('abort', () => {
        if (opts.onAbortMs === undefined) r.fail(signal.reason as Error);
        else setTimeout(() => r.fail(signal.reason as Error), opts.onAbortMs);
      });
      if (opts.autoFinishMs !== undefined) setTimeout(() => r.finish(), opts.autoFinishMs);
    });
  const inProgress = () => runs.filter((r) => r.settledAt === undefined).length;
  return { runs, run, inProgress };
}

function setup(schedule: Partial<BatchSchedule>, run: BatchRun) {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ level: 'debug', name: 'test', destination: { write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) } });
  const emitter = new CoreEmitter();
  const finished: CoreEvents['batchFinished'][0][] = [];
  const scheduled: (string | null)[] = [];
  emitter.on('batchFinished', (e) => finished.push(e));
  emitter.on('batchScheduled', (e) => scheduled.push(e.nextRunAt?.toISOString() ?? null));
  const full: BatchSchedule = { crons: ['*/1 * * * * *'], timezone: 'UTC', concurrencyPolicy: 'Forbid', ...schedule };
  const scheduler = new Scheduler(full, run, { emitter, log });
  return { scheduler, emitter, lines, finished, scheduled };
}

/** Moves the fake clock, running timers and the promise callbacks they schedule. */
const advance = (ms: number) => jest.advanceTimersByTimeAsync(ms);

const unhandled: unknown[] = [];
const onUnhandled = (err: unknown) => unhandled.push(err);

beforeEach(() => {
  jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask'], now: T0 });
  unhandled.length = 0;
  process.on('unhandledRejection', onUnhandled);
});
afterEach(() => {
  process.off('unhandledRejection', onUnhandled);
  jest.useRealTimers();
});

describe('Scheduler', () => {
  test('fires at every cron time with trigger "schedule"; nextRunAt and batchScheduled follow', async () => {
    const f = fakeRuns({ autoFinishMs: 100 });
    const s = setup({ crons: ['*/2 * * * * *'] }, f.run);
    expect(s.scheduler.nextRunAt()).toEqual(new Date('2030-01-01T00:00:02.000Z'));
    s.scheduler.start();
    expect(s.scheduled).toEqual(['2030-01-01T00:00:02.000Z']);
    await advance(1_999);
    expect(f.runs).toHaveLength(0);
    await advance(1);
    expect(f.runs.map((r) => [r.startedAt - T0.getTime(), r.trigger])).toEqual([[2_000, 'schedule']]);
    expect(s.scheduler.nextRunAt()).toEqual(new Date('2030-01-01T00:00:04.000Z'));
    await advance(4_000);
    expect(f.runs.map((r) => r.startedAt - T0.getTime())).toEqual([2_000, 4_000, 6_000]);
    expect(s.scheduled).toEqual(['2030-01-01T00:00:02.000Z', '2030-01-01T00:00:04.000Z', '2030-01-01T00:00:06.000Z', '2030-01-01T00:00:08.000Z']);
    await s.scheduler.stop();
  });

  test('several crons due at the same instant start one run', async () => {
    const f = fakeRuns({ autoFinishMs: 10 });
    const s = setup({ crons: ['*/2 * * * * *', '*/3 * * * * *', '*/2 * * * * *'], concurrencyPolicy: 'Allow' }, f.run);
    s.scheduler.start();
    await advance(6_000);
    // 2, 3, 4, 6: 6 is due for both expressions, 2 and 4 for two identical ones.
    expect(f.runs.map((r) => (r.startedAt - T0.getTime()) / 1000)).toEqual([2, 3, 4, 6]);
    await s.scheduler.stop();
  });

  test('Forbid: a fire time reached during a run is skipped, logged with the running start time, reported as skipped', async () => {
    const f = fakeRuns();
    const s = setup({ concurrencyPolicy: 'Forbid' }, f.run);
    s.scheduler.start();
    await advance(1_000);
    expect(f.runs).toHaveLength(1);
    await advance(2_000); // due at 2 s and 3 s: both skipped
    expect(f.runs).toHaveLength(1);
    expect(s.finished).toEqual([
      { outcome: 'skipped', rows: 0, durationSeconds: 0 },
      { outcome: 'skipped', rows: 0, durationSeconds: 0 },
    ]);
    const skipped = s.lines.filter((l) => l.level === 'warn');
    expect(skipped).toHaveLength(2);
    expect(skipped[0]).toMatchObject({ dueAt: '2030-01-01T00:00:02.000Z', runningSince: '2030-01-01T00:00:01.000Z' });
    expect(String(skipped[0]!.msg)).toContain('2030-01-01T00:00:01.000Z');
    f.runs[0]!.finish();
    await advance(1_000);
    expect(f.runs).toHaveLength(2);
    expect(f.runs[1]!.startedAt - T0.getTime()).toBe(4_000);
    expect(f.runs[0]!.signal.aborted).toBe(false);
    f.runs[1]!.finish();
    await s.scheduler.stop();
  });

  test('Allow: runs overlap', async () => {
    const f = fakeRuns({ autoFinishMs: 2_500 });
    const s = setup({ concurrencyPolicy: 'Allow' }, f.run);
    s.scheduler.start();
    await advance(3_000);
    expect(f.runs).toHaveLength(3);
    expect(f.inProgress()).toBe(3); // started at 1, 2 and 3 s; the first ends at 3.5 s
    await advance(1_000);
    expect(f.runs).toHaveLength(4);
    expect(f.inProgress()).toBe(3);
    expect(f.runs.every((r) => !r.signal.aborted)).toBe(true);
    expect(s.finished).toEqual([]);
    await s.scheduler.stop();
  });

  test('Replace: the running run is aborted and the new one starts once it has settled', async () => {
    const f = fakeRuns({ onAbortMs: 300 });
    const s = setup({ crons: ['*/2 * * * * *'], concurrencyPolicy: 'Replace' }, f.run);
    s.scheduler.start();
    await advance(2_000);
    expect(f.runs).toHaveLength(1);
    await advance(2_000); // due at 4 s
    expect(f.runs[0]!.signal.aborted).toBe(true);
    expect((f.runs[0]!.signal.reason as Error).message).toBe('batch run aborted: replaced by the run due at 2030-01-01T00:00:04.000Z');
    expect(f.runs).toHaveLength(1); // not before the old one has settled
    await advance(299);
    expect(f.runs).toHaveLength(1);
    await advance(1);
    expect(f.runs).toHaveLength(2);
    expect(f.runs[0]!.settledAt! - T0.getTime()).toBe(4_300);
    expect(f.runs[1]!.startedAt - T0.getTime()).toBe(4_300);
    expect(f.runs[1]!.signal.aborted).toBe(false);
    expect(s.finished).toEqual([]);
    const stopping = s.scheduler.stop();
    await advance(300);
    await stopping;
    expect(f.runs).toHaveLength(2);
    expect(unhandled).toEqual([]);
  });

  test('Replace: fire times due while the old run is still settling start one new run, not several', async () => {
    const f = fakeRuns({ onAbortMs: 2_500 });
    const s = setup({ concurrencyPolicy: 'Replace' }, f.run);
    s.scheduler.start();
    await advance(1_000);
    await advance(3_000); // due at 2 s (abort; settles at 4.5 s), 3 s and 4 s fold into it
    expect(f.runs).toHaveLength(1);
    await advance(500);
    expect(f.runs).toHaveLength(2);
    expect(f.runs[1]!.startedAt - T0.getTime()).toBe(4_500);
    const stopping = s.scheduler.stop();
    await advance(2_500);
    await stopping;
    expect(f.runs).toHaveLength(2);
  });

  test('failing runs (rejected or thrown) neither stop the schedule nor leave an unhandled rejection', async () => {
    let n = 0;
    const run: BatchRun = async () => {
      n++;
      if (n % 2 === 1) throw new Error(`run ${n} failed`);
      return Promise.reject(new Error(`run ${n} rejected`));
    };
    const sync: BatchRun = () => {
      n++;
      throw new Error('synchronous throw');
    };
    const s = setup({}, run);
    s.scheduler.start();
    await advance(4_000);
    expect(n).toBe(4);
    await s.scheduler.stop();
    const t = setup({ concurrencyPolicy: 'Forbid' }, sync);
    t.scheduler.start();
    await advance(3_000);
    expect(n).toBe(7); // a run that threw is over: the next one is not skipped
    expect(t.finished).toEqual([]);
    expect(t.lines.filter((l) => l.msg === 'scheduled batch run ended with an error')).toHaveLength(3);
    await t.scheduler.stop();
    jest.useRealTimers();
    await new Promise((r) => setImmediate(r));
    expect(unhandled).toEqual([]);
  });

  test('stop during a run aborts its signal and resolves only after it has settled; nothing runs after', async () => {
    const f = fakeRuns({ onAbortMs: 700 });
    const s = setup({}, f.run);
    s.scheduler.start();
    await advance(1_000);
    let stopped = false;
    const stopping = s.scheduler.stop().then(() => (stopped = true));
    expect(f.runs[0]!.signal.aborted).toBe(true);
    expect((f.runs[0]!.signal.reason as Error).name).toBe('AbortError');
    await advance(699);
    expect(stopped).toBe(false);
    await advance(1);
    await stopping;
    expect(f.runs[0]!.settledAt! - T0.getTime()).toBe(1_700);
    await advance(5_000);
    expect(f.runs).toHaveLength(1);
    expect(s.scheduler.nextRunAt()).toBeUndefined();
    expect(s.scheduled.at(-1)).toBeNull();
    expect(jest.getTimerCount()).toBe(0);
  });

  test('stop between runs resolves at once and disarms the timer; stop is idempotent', async () => {
    const f = fakeRuns({ autoFinishMs: 100 });
    const s = setup({ crons: ['*/5 * * * * *'] }, f.run);
    s.scheduler.start();
    await advance(5_200);
    expect(f.inProgress()).toBe(0);
    await s.scheduler.stop();
    await s.scheduler.stop();
    expect(jest.getTimerCount()).toBe(0);
    await advance(20_000);
    expect(f.runs).toHaveLength(1);
    expect(() => s.scheduler.start()).toThrow(/already stopped/);
  });

  test('next run in the schedule time zone, across DST', () => {
    const at = (iso: string, crons: string[], timezone: string) => {
      const s = new Scheduler({ crons, timezone, concurrencyPolicy: 'Forbid' }, async () => {}, {
        emitter: new CoreEmitter(),
        log: createLogger({ level: 'silent', name: 't' }),
        now: () => new Date(iso),
      });
      return s.nextRunAt()?.toISOString();
    };
    // 03:00 in Paris is 02:00Z in winter (CET) and 01:00Z in summer (CEST).
    expect(at('2024-01-15T12:00:00Z', ['0 3 * * *'], 'Europe/Paris')).toBe('2024-01-16T02:00:00.000Z');
    expect(at('2024-07-15T12:00:00Z', ['0 3 * * *'], 'Europe/Paris')).toBe('2024-07-16T01:00:00.000Z');
    expect(at('2024-01-15T12:00:00Z', ['0 3 * * *'], 'America/New_York')).toBe('2024-01-16T08:00:00.000Z');
    expect(at('2024-01-15T12:00:00Z', ['0 3 * * *'], 'UTC')).toBe('2024-01-16T03:00:00.000Z');
    // 02:30 does not exist in Paris on 2024-03-31: a fixed-time job runs right after the gap (03:00 CEST).
    expect(at('2024-03-30T12:00:00Z', ['30 2 * * *'], 'Europe/Paris')).toBe('2024-03-31T01:00:00.000Z');
    // The earliest over all expressions: 09:00 Tokyo (00:00Z) is before 03:00 UTC.
    expect(at('2024-01-15T12:00:00Z', ['0 3 * * *', '0 9 * * *'], 'Asia/Tokyo')).toBe('2024-01-15T18:00:00.000Z');
    expect(at('2024-01-15T12:00:00Z', ['0 9 * * MON'], 'Asia/Tokyo')).toBe('2024-01-22T00:00:00.000Z');
  });

  test('a wait longer than setTimeout allows is reached in steps', async () => {
    const f = fakeRuns({ autoFinishMs: 1 });
    const s = setup({ crons: ['0 0 1 3 *'] }, f.run); // 1 March: 59 days from 1 January
    s.scheduler.start();
    expect(s.scheduler.nextRunAt()).toEqual(new Date('2030-03-01T00:00:00.000Z'));
    await advance(58 * 86_400_000);
    expect(f.runs).toHaveLength(0);
    await advance(86_400_000);
    expect(f.runs).toHaveLength(1);
    expect(new Date(f.runs[0]!.startedAt).toISOString()).toBe('2030-03-01T00:00:00.000Z');
    await s.scheduler.stop();
  });

  test('a schedule that runs out (a year field) stops arming and says no run is due', async () => {
    jest.setSystemTime(new Date('2030-12-31T23:59:58.000Z'));
    const f = fakeRuns({ autoFinishMs: 1 });
    const s = setup({ crons: ['*/1 * * * * * 2030'] }, f.run);
    s.scheduler.start();
    await advance(5_000);
    expect(f.runs.map((r) => new Date(r.startedAt).toISOString())).toEqual(['2030-12-31T23:59:59.000Z']);
    expect(s.scheduler.nextRunAt()).toBeUndefined();
    expect(s.scheduled).toEqual(['2030-12-31T23:59:59.000Z', null]);
    expect(jest.getTimerCount()).toBe(0);
    await s.scheduler.stop();
  });

  test('an invalid schedule is refused at construction', () => {
    const deps = { emitter: new CoreEmitter(), log: createLogger({ level: 'silent', name: 't' }) };
    expect(() => new Scheduler({ crons: ['61 * * * *'], timezone: 'UTC', concurrencyPolicy: 'Forbid' }, async () => {}, deps)).toThrow(
      'invalid spec.schedule: cron "61 * * * *": Invalid value for minute: 61',
    );
  });
});

describe('validateSchedule', () => {
  test('valid schedules have no problems', () => {
    expect(validateSchedule(['0 3 * * *', '*/15 * * * *', '*/1 * * * * *', '@daily', '0 9 * * MON-FRI'], 'Europe/Paris')).toEqual([]);
    expect(validateSchedule(['0 3 * * *'], 'UTC')).toEqual([]);
    expect(validateSchedule(['0 3 * * *'], 'America/Argentina/Buenos_Aires')).toEqual([]);
  });

  test('each bad expression is named with the reason croner gives', () => {
    expect(validateSchedule(['61 * * * *', '* * *', '0 3 * * *', '*/0 * * * *', '@reboot', '0 0 31 2 *'], 'UTC')).toEqual([
      'cron "61 * * * *": Invalid value for minute: 61',
      'cron "* * *": invalid configuration format (\'* * *\'), exactly five, six, or seven space separated parts are required.',
      'cron "*/0 * * * *": Syntax error, illegal stepping: 0',
      'cron "@reboot": @reboot is not supported in this environment. This is an event-based trigger that requires system startup detection.',
      'cron "0 0 31 2 *" never fires again (no matching date from now on)',
    ]);
  });

  test('bad time zones and an empty list are reported; expressions are still checked', () => {
    const zone = (tz: string) => `time zone ${JSON.stringify(tz)} is not a valid IANA time zone name (e.g. "UTC", "Europe/Paris", "America/New_York")`;
    expect(validateSchedule(['0 3 * * *'], 'Mars/Olympus')).toEqual([zone('Mars/Olympus')]);
    expect(validateSchedule(['0 3 * * *'], '')).toEqual([zone('')]);
    expect(validateSchedule(['0 3 * * *'], '+01:00')).toEqual([zone('+01:00')]);
    expect(validateSchedule(['bad'], 'Nowhere')).toEqual([zone('Nowhere'), expect.stringContaining('cron "bad": invalid configuration format')]);
    expect(validateSchedule([], 'UTC')).toEqual(['at least one cron expression is needed']);
  });
});
