/**
 * The one transaction helper: every read-write transaction nilus-pg opens on the target goes
 * through `inTransaction`, every savepoint through `withSavepoint`. Transaction control is the only
 * SQL outside src/sink/sql/ that reaches the target.
 *
 * A connection whose ROLLBACK failed is broken (the server or the network is gone): it is
 * destroyed, not returned to the pool, so the next attempt starts on a new connection.
 */
import type { Pool, PoolClient } from 'pg';

export const BEGIN = 'BEGIN';
export const COMMIT = 'COMMIT';
export const ROLLBACK = 'ROLLBACK';

/**
 * Runs `body` between BEGIN and COMMIT on a pooled connection. On any error it rolls back, calls
 * `onRollback` (e.g. to forget DDL cached during the transaction) and rethrows the body's error.
 */
export async function inTransaction<T>(
  pool: Pool,
  body: (client: PoolClient) => Promise<T>,
  onRollback?: () => void,
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query(BEGIN);
    try {
      const result = await body(client);
      await client.query(COMMIT);
      return result;
    } catch (e) {
      onRollback?.();
      await client.query(ROLLBACK).catch((r: Error) => (broken = r));
      throw e;
    }
  } finally {
    client.release(broken);
  }
}

/**
 * Runs `body` inside `SAVEPOINT name` on a client already in a transaction: released on success,
 * rolled back to on error (the transaction stays usable) and the error rethrown for the caller to
 * judge. `name` is nilus' own identifier (letters, digits, underscore), never user input.
 */
export async function withSavepoint<T>(client: PoolClient, name: string, body: () => Promise<T>): Promise<T> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`savepoint name ${JSON.stringify(name)} is not a plain identifier`);
  await client.query(`SAVEPOINT ${name}`);
  try {
    const result = await body();
    await client.query(`RELEASE SAVEPOINT ${name}`);
    return result;
  } catch (e) {
    await client.query(`ROLLBACK TO SAVEPOINT ${name}`);
    throw e;
  }
}
