import { backoffMs, retry, RetriesExhaustedError, RetryAbortedError, type RetryInfo } from '../../../src/kernel/retry';
import { DataError, RetriableError } from '../../../src/kernel/errors';

const transient = () => new RetriableError('connection lost');

function recordingSleep() {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}

describe('backoffMs (full jitter)', () => {
  test('the cap doubles from initialMs and stops at maxMs', () => {
    const top = () => 0.9999999;
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoffMs(n, 100, 1000, top))).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
  });

  test('random 0 gives 0 and random 0.5 gives half the cap', () => {
    expect(backoffMs(3, 100, 1000, () => 0)).toBe(0);
    expect(backoffMs(3, 100, 1000, () => 0.5)).toBe(200);
  });

  test('huge attempt numbers stay bounded', () => {
    expect(backoffMs(5000, 100, 30000, () => 0.9999999)).toBe(30000);
  });
});

describe('retry', () => {
  test('returns the first success and passes the attempt number', async () => {
    const { waits, sleep } = recordingSleep();
    const seen: number[] = [];
    const result = await retry(
      'flush',
      async (attempt) => {
        seen.push(attempt);
        if (attempt < 3) throw transient();
        return 'ok';
      },
      { maxAttempts: 5, initialMs: 100, maxMs: 1000, sleep, random: () => 0.5 },
    );
    expect(result).toBe('ok');
    expect(seen).toEqual([1, 2, 3]);
    expect(waits).toEqual([50, 100]);
  });

  test('reports every retry through onRetry', async () => {
    const { sleep } = recordingSleep();
    const infos: RetryInfo[] = [];
    await retry(
      'pg.connect',
      async (attempt) => {
        if (attempt === 1) throw transient();
        return 1;
      },
      { maxAttempts: 3, initialMs: 10, maxMs: 10, sleep, random: () => 0, onRetry: (i) => infos.push(i) },
    );
    expect(infos).toHaveLength(1);
    expect(infos[0]).toMatchObject({ operation: 'pg.connect', attempt: 1, delayMs: 0 });
    expect(infos[0]!.error.message).toBe('connection lost');
  });

  test('gives up after maxAttempts with RetriesExhaustedError carrying the last error', async () => {
    const { waits, sleep } = recordingSleep();
    let calls = 0;
    const last = new RetriableError('still down');
    const p = retry(
      'flush',
      async () => {
        calls++;
        throw calls === 4 ? last : transient();
      },
      { maxAttempts: 4, initialMs: 100, maxMs: 250, sleep, random: () => 0.9999999 },
    );
    await expect(p).rejects.toBeInstanceOf(RetriesExhaustedError);
    await p.catch((e: RetriesExhaustedError) => {
      expect(e.cause).toBe(last);
      expect(e.attempts).toBe(4);
      expect(e.message).toBe('flush failed after 4 attempt(s): still down');
    });
    expect(calls).toBe(4);
    expect(waits).toEqual([100, 200, 250]);
  });

  test('does not retry data or programmer errors', async () => {
    const { waits, sleep } = recordingSleep();
    const bad = new DataError('bad row', undefined);
    let calls = 0;
    await expect(
      retry('flush', async () => {
        calls++;
        throw bad;
      }, { maxAttempts: 5, initialMs: 1, maxMs: 1, sleep }),
    ).rejects.toBe(bad);
    await expect(
      retry('flush', async () => {
        calls++;
        throw new TypeError('undefined is not a function');
      }, { maxAttempts: 5, initialMs: 1, maxMs: 1, sleep }),
    ).rejects.toBeInstanceOf(TypeError);
    expect(calls).toBe(2);
    expect(waits).toEqual([]);
  });

  test('an injected classify decides what is retried', async () => {
    const { sleep } = recordingSleep();
    let calls = 0;
    await retry(
      'x',
      async () => {
        if (++calls < 2) throw new Error('plain');
        return null;
      },
      { maxAttempts: 3, initialMs: 1, maxMs: 1, sleep, classify: () => 'retriable' },
    );
    expect(calls).toBe(2);
  });

  test('an abort during the wait cuts it short', async () => {
    const controller = new AbortController();
    let calls = 0;
    const started = Date.now();
    const p = retry(
      'flush',
      async () => {
        calls++;
        throw transient();
      },
      // Real timer: 60 s would time the test out if the abort did not cut it short.
      { maxAttempts: 10, initialMs: 60_000, maxMs: 60_000, signal: controller.signal, random: () => 0.9 },
    );
    setTimeout(() => controller.abort(new Error('SIGTERM')), 20);
    await expect(p).rejects.toBeInstanceOf(RetryAbortedError);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(calls).toBe(1);
  });

  test('an injected sleep is also cut short by abort', async () => {
    const controller = new AbortController();
    const never = () => new Promise<void>(() => undefined);
    const p = retry('x', async () => Promise.reject(transient()), {
      maxAttempts: 3,
      initialMs: 1,
      maxMs: 1,
      signal: controller.signal,
      sleep: never,
    });
    setImmediate(() => controller.abort());
    await expect(p).rejects.toThrow('x abandoned: shutting down');
  });

  test('an already-aborted signal runs nothing', async () => {
    let calls = 0;
    await expect(
      retry('x', async () => ++calls, { maxAttempts: 3, initialMs: 1, maxMs: 1, signal: AbortSignal.abort() }),
    ).rejects.toBeInstanceOf(RetryAbortedError);
    expect(calls).toBe(0);
  });

  test('bad options are rejected naming the option', async () => {
    const fn = async () => 1;
    await expect(retry('x', fn, { maxAttempts: 0, initialMs: 1, maxMs: 1 })).rejects.toThrow(/maxAttempts/);
    await expect(retry('x', fn, { maxAttempts: 1, initialMs: -1, maxMs: 1 })).rejects.toThrow(/initialMs/);
    await expect(retry('x', fn, { maxAttempts: 1, initialMs: 10, maxMs: 5 })).rejects.toThrow(/maxMs/);
  });
});
