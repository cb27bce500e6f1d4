/**
 * A missing target or state schema: created under `auto_create` when the sink's role holds CREATE
 * on the database, otherwise refused with the statement or the grant that would let it go on.
 */
import type { PoolClient } from 'pg';
import { ConfigError } from '../../kernel/errors';
import { ident } from '../../pg/ident';
import { advisoryXactLockSql } from '../sql/advisory-lock';
import { createSchemaSql } from '../sql/create-schema';
import { SCHEMA_EXISTS_SQL } from '../sql/describe-table';
import { MAY_CREATE_SCHEMA_SQL } from '../sql/may-create-schema';

export interface SchemaNeed {
  readonly schema: string;
  readonly autoCreate: boolean;
  /** The manifest option a refusal names. */
  readonly path: string;
  /** What the schema is for, e.g. 'the offsets table'. */
  readonly what: string;
  /** A further way out, appended to a refusal (e.g. ' or set state_schema to an existing schema'). */
  readonly otherwise?: string;
}

/**
 * Makes sure `need.schema` exists, inside the caller's transaction (`client`). Resolves true when
 * it created it. Under a transaction-scoped advisory lock on the schema's name, so replicas
 * starting together create it once.
 */
export async function ensureSchema(client: PoolClient, need: SchemaNeed): Promise<boolean> {
  if (await present(client, need.schema)) return false;
  const name = ident(need.schema);
  const otherwise = need.otherwise ?? '';
  if (!need.autoCreate) {
    throw new ConfigError([{ path: need.path, message: `schema ${name} for ${need.what} does not exist; create it (CREATE SCHEMA ${name})${otherwise}, or set auto_create: true` }]);
  }
  const may = (await client.query<{ may: boolean; database: string; role: string }>(MAY_CREATE_SCHEMA_SQL)).rows[0]!;
  if (!may.may) {
    throw new ConfigError([
      {
        path: need.path,
        message:
          `schema ${name} for ${need.what} does not exist and role ${ident(may.role)} may not create it (no CREATE on database ${ident(may.database)}): ` +
          `GRANT CREATE ON DATABASE ${ident(may.database)} TO ${ident(may.role)} so that auto_create creates it, or create it beforehand (CREATE SCHEMA ${name})${otherwise}`,
      },
    ]);
  }
  await client.query(advisoryXactLockSql(), [name]);
  if (await present(client, need.schema)) return false;
  await client.query(createSchemaSql(need.schema));
  return true;
}

async function present(client: PoolClient, schema: string): Promise<boolean> {
  return (await client.query<{ present: boolean }>(SCHEMA_EXISTS_SQL, [schema])).rows[0]?.present === true;
}
