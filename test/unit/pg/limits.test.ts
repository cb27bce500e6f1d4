import { CLIENT_GRACE_MS, clientDeadlineMs, isQueryReadTimeout, sessionSetup } from '../../../src/pg/pool';
import { classifyError } from '../../../src/kernel/classify';

describe('session limits', () => {
  test('the client waits statement_timeout plus the grace for an answer', () => {
    expect(clientDeadlineMs({ statementTimeoutMs: 300_000, lockTimeoutMs: 60_000 })).toBe(300_000 + CLIENT_GRACE_MS);
  });

  test('the session sets statement, lock and idle-in-transaction timeouts and server-side keepalive in one round trip', () => {
    expect(sessionSetup({ statementTimeoutMs: 2_000, lockTimeoutMs: 1_000 }).split('; ')).toEqual([
      'SET statement_timeout = 2000',
      'SET lock_timeout = 1000',
      'SET idle_in_transaction_session_timeout = 2000',
      'SET tcp_keepalives_idle = 30',
      'SET tcp_keepalives_interval = 10',
      'SET tcp_keepalives_count = 3',
    ]);
  });

  test("node-postgres' query_timeout error is recognised, and retriable", () => {
    const e = new Error('Query read timeout');
    expect(isQueryReadTimeout(e)).toBe(true);
    expect(isQueryReadTimeout(new Error('Query read timeout exceeded somewhere else'))).toBe(false);
    expect(classifyError(e)).toBe('retriable');
  });
});
