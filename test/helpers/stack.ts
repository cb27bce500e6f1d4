/**
 * Addresses of the local stack (scripts/stack.sh), as the tests see them. The same port
 * variables drive the script, so overriding NILUS_PG_PORT etc. moves both.
 */
export interface StackEnv {
  NILUS_TEST_PG_URL: string;
  NILUS_TEST_SOURCE_PG_URL: string;
  NILUS_TEST_JDBC_PG_URL: string;
  NILUS_TEST_KAFKA_BROKERS: string;
  NILUS_TEST_CONNECT_URL: string;
  /** The stack's MariaDB (MySQL/MariaDB source of batch pipelines), as root without a password. */
  NILUS_TEST_MYSQL_URL: string;
}

export function stackEnv(env: NodeJS.ProcessEnv = process.env): StackEnv {
  const pgPort = env.NILUS_PG_PORT ?? '55432';
  const pg = (db: string): string => `postgresql://postgres@127.0.0.1:${pgPort}/${db}`;
  return {
    NILUS_TEST_PG_URL: pg('nilus_target'),
    NILUS_TEST_SOURCE_PG_URL: pg('nilus_source'),
    NILUS_TEST_JDBC_PG_URL: pg('nilus_jdbc'),
    NILUS_TEST_KAFKA_BROKERS: `127.0.0.1:${env.NILUS_KAFKA_PORT ?? '9092'}`,
    NILUS_TEST_CONNECT_URL: `http://127.0.0.1:${env.NILUS_CONNECT_PORT ?? '8083'}`,
    NILUS_TEST_MYSQL_URL: `mysql://root@127.0.0.1:${env.NILUS_MYSQL_PORT ?? '53306'}/nilus_source`,
  };
}

function required(name: keyof StackEnv): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set: integration tests get it from test/helpers/global-setup.ts ` +
        '(run them with `npx jest --selectProjects integration`)',
    );
  }
  return value;
}

export const sourcePgUrl = (): string => required('NILUS_TEST_SOURCE_PG_URL');
export const kafkaBrokers = (): string[] => required('NILUS_TEST_KAFKA_BROKERS').split(',');
export const connectUrl = (): string => required('NILUS_TEST_CONNECT_URL');
export const mysqlUrl = (): string => required('NILUS_TEST_MYSQL_URL');
