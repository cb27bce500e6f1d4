/**
 * Restarts one component of the local stack (scripts/stack.sh) in the middle of a test, using the
 * script's own functions (pid files, pg_ctl as the postgres OS user), so the component comes back
 * exactly as `stack.sh up` starts it. The script itself has no single-component commands.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { connectUrl } from './stack';

const ROOT = path.resolve(__dirname, '..', '..');

function stackShell(body: string, timeoutMs: number): void {
  const script = [
    'set -euo pipefail',
    `source "${ROOT}/scripts/stack/common.sh"`,
    'source "$STACK_DIR/pg.sh"',
    'source "$STACK_DIR/kafka.sh"',
    body,
  ].join('\n');
  const r = spawnSync('bash', ['-c', script], { cwd: ROOT, env: process.env, encoding: 'utf8', timeout: timeoutMs });
  if (r.status !== 0) {
    throw new Error(`stack command failed (exit ${String(r.status)}${r.error ? `, ${r.error.message}` : ''}): ${body}\n${r.stdout}\n${r.stderr}`);
  }
}

/**
 * Takes the stack's cluster down (`-m fast`: every connection is cut) for `downMs`, then starts it
 * again. The wait is asynchronous, so workers in this process meet the outage and must retry.
 */
export async function restartStackPg(downMs = 2_000): Promise<void> {
  stackShell('as_pg_owner "$(pg_bin)/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null', 90_000);
  await new Promise((r) => setTimeout(r, downMs));
  // -l keeps the server's output in its log file (without it pg_ctl would hold our pipe open).
  stackShell('as_pg_owner "$(pg_bin)/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 start >/dev/null', 90_000);
}

/** Stops the broker (TERM via its pid file, as `stack.sh down` does). */
export function stopStackKafka(): void {
  stackShell('kafka_down', 90_000);
}

/** Starts the broker as `stack.sh up` does and waits until it answers. */
export function startStackKafka(): void {
  stackShell('kafka_up', 150_000);
}

/** Waits until Kafka Connect's REST API answers again (it reconnects to a restarted broker by itself). */
export async function waitForConnect(timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const r = await fetch(`${connectUrl()}/connectors`);
      if (r.ok) return;
      last = `HTTP ${r.status}`;
    } catch (err) {
      last = String(err);
    }
    await new Promise((res) => setTimeout(res, 1000));
  }
  throw new Error(`Kafka Connect at ${connectUrl()} did not answer within ${timeoutMs} ms (last: ${last})`);
}
