/**
 * Whether the sink's role may create a schema (CREATE on the current database), with the names a
 * GRANT would need.
 */
export const MAY_CREATE_SCHEMA_SQL = `SELECT has_database_privilege(current_database(), 'CREATE') AS may, current_database() AS database, current_user AS role`;
