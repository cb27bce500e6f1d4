import { DatabaseError } from 'pg';
import { explainPgError } from '../../../src/pg/explain';
import { classifyError } from '../../../src/kernel/classify';
import { FatalError, RetriableError } from '../../../src/kernel/errors';
import type { PgConnection } from '../../../src/config/types';

const conn: PgConnection = { host: 'db', port: 5432, database: 'shop', username: 'nilus', password: 's3cret!', connectTimeoutMs: 10_000 };

/** What the server sends when it refuses a connection (FATAL during start-up). */
function serverError(code: string, message: string): Error {
  const e = new DatabaseError(message, 0, 'error');
  e.code = code;
  e.severity = 'FATAL';
  return e;
}

describe('explainPgError: transient refusals at connect time are retried', () => {
  test.each([
    ['53300', 'too many connections for role "nilus"', /CONNECTION LIMIT of user "nilus" or database "shop".*retrying with backoff/],
    ['53300', 'sorry, too many clients already', /max_connections/],
    ['57P03', 'the database system is starting up', /starting up or recovering; retrying with backoff/],
    ['57P01', 'terminating connection due to administrator command', /SQLSTATE 57P01, transient/],
  ])('%s (%s) → RetriableError naming the cause', (code, message, hint) => {
    const err = explainPgError(serverError(code, message), conn);
    expect(err).toBeInstanceOf(RetriableError);
    expect(classifyError(err)).toBe('retriable');
    expect(err.message).toContain('connection to server at "db", port 5432 failed');
    expect(err.message).toContain(message);
    expect(err.message).toMatch(hint);
    expect(err.message).not.toContain(conn.password);
  });

  test('refusals a retry cannot help stay fatal', () => {
    expect(explainPgError(serverError('28P01', 'password authentication failed for user "nilus"'), conn)).toBeInstanceOf(FatalError);
    expect(explainPgError(serverError('3D000', 'database "shop" does not exist'), conn)).toBeInstanceOf(FatalError);
    expect(explainPgError(serverError('42P01', 'relation "x" does not exist'), conn)).toBeInstanceOf(FatalError);
  });

  test('a 5-character Node error code is not read as a SQLSTATE', () => {
    const epipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
    expect(explainPgError(epipe, conn)).toBeInstanceOf(FatalError);
  });
});
