/**
 * Jest global setup for the integration project: brings the local stack (PostgreSQL, MariaDB,
 * Kafka, Kafka Connect with Debezium) up when it is not running, then publishes its addresses
 * (every StackEnv entry of stack.ts) to the tests through process.env. Jest spawns its workers
 * after this function resolves, so the variables set here are inherited by every worker
 * (smoke.it.ts asserts that).
 *
 * NILUS_STACK=skip leaves the stack alone and only sets the variables the caller did not set,
 * for machines where a stack is managed by hand.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { stackEnv } from './stack';

export default async function globalSetup(): Promise<void> {
  if (process.env.NILUS_STACK !== 'skip') {
    const root = path.resolve(__dirname, '..', '..');
    // `up` is idempotent and cheap when everything already runs (pid and port checks only).
    const result = spawnSync('bash', [path.join(root, 'scripts', 'stack.sh'), 'up', '--connect'], {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: process.env,
    });
    if (result.status !== 0) {
      throw new Error(
        `the local stack did not start (scripts/stack.sh up --connect exited ${String(result.status)}); ` +
          'see the log tail above, or run with NILUS_STACK=skip against a stack you manage yourself',
      );
    }
  }
  for (const [key, value] of Object.entries(stackEnv())) {
    process.env[key] ??= value;
  }
}
