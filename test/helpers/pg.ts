/**
 * PostgreSQL access for integration tests. The target database comes from NILUS_TEST_PG_URL,
 * which the stack's global setup sets to the stack's private cluster; without it the machine's
 * server on 127.0.0.1:5432 is used.
 */
import { Pool } from 'pg';
import { randomBytes } from 'node:crypto';

export function targetPgUrl(): string {
  return process.env.NILUS_TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
}

export function newPool(url = targetPgUrl()): Pool {
  return new Pool({ connectionString: url, max: 4 });
}

/** A short unique lower-case name, for schemas, topics and groups of one test. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

export async function createTestSchema(pool: Pool, prefix = 't'): Promise<string> {
  const name = uniqueName(prefix);
  await pool.query(`CREATE SCHEMA "${name}"`);
  return name;
}

export async function dropTestSchema(pool: Pool, name: string): Promise<void> {
  await pool.query(`DROP SCHEMA IF EXISTS "${name.replace(/"/g, '""')}" CASCADE`);
}

/** True when a test or hook of the running file failed (set by test/helpers/environment.ts). */
export function testFileFailed(): boolean {
  return (globalThis as Record<string, unknown>).__nilusTestFailed === true;
}

/**
 * Drop the schema unless a test of this file failed (or NILUS_KEEP_SCHEMAS=1): a failed test
 * leaves its data behind for inspection, and the schema name is logged.
 */
export async function dropTestSchemaUnlessFailed(pool: Pool, name: string): Promise<boolean> {
  if (testFileFailed() || process.env.NILUS_KEEP_SCHEMAS === '1') {
    console.warn(`keeping schema "${name}" for inspection (a test failed or NILUS_KEEP_SCHEMAS=1)`);
    return false;
  }
  await dropTestSchema(pool, name);
  return true;
}

/**
 * Registers the hooks most integration files need: one pool for the file, a fresh schema for each
 * test (kept for inspection when the file has a failure). `use` receives them before each test.
 */
export function useTestSchema(prefix: string, use: (pool: Pool, schema: string) => void): void {
  let pool: Pool;
  let schema: string;
  beforeAll(() => {
    pool = newPool();
  });
  afterAll(async () => {
    await pool.end();
  });
  beforeEach(async () => {
    schema = await createTestSchema(pool, prefix);
    use(pool, schema);
  });
  afterEach(async () => {
    await dropTestSchemaUnlessFailed(pool, schema);
  });
}

/** Column name → type as format_type prints it, for a table in the target. */
export async function columnTypes(pool: Pool, schema: string, table: string): Promise<Record<string, string>> {
  const res = await pool.query<{ name: string; type: string }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped`,
    [schema, table],
  );
  return Object.fromEntries(res.rows.map((r) => [r.name, r.type]));
}

/**
 * Drops a database of a test's own once every session on it has really gone. pg's `Pool.end()`
 * resolves before its connections' backends have exited; a `DROP … WITH (FORCE)` at that moment
 * terminates one still closing, and its client raises the 57P01 as an unhandled error.
 */
export async function dropDatabaseWhenIdle(admin: Pool, database: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const open = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [database]);
    if (open.rows[0]!.n === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await admin.query(`DROP DATABASE IF EXISTS "${database.replace(/"/g, '""')}" WITH (FORCE)`);
}
