/**
 * Which errors a retry can help with. Three answers:
 *  - 'retriable': transient (connection loss, serialization failure, deadlock, broker moving) → back off, retry;
 *  - 'data': this event/row can never apply (bad value, constraint) → dead-letter it;
 *  - 'fatal': retrying cannot help (bad SQL, missing permission, programmer error) → stop loudly.
 * Kept as tables so the policy is read in one place and tested row by row.
 */
import { ConfigError, DataError, FatalError, NilusError, RetriableError } from './errors';

export type ErrorClass = 'retriable' | 'data' | 'fatal';

/** Exact SQLSTATE codes that override their class's default. */
const SQLSTATE_CODES: Readonly<Record<string, ErrorClass>> = {
  '40001': 'retriable', // serialization_failure
  '40P01': 'retriable', // deadlock_detected
  '40002': 'data', // transaction_integrity_constraint_violation (deferred constraint at COMMIT)
  '55P03': 'retriable', // lock_not_available (lock_timeout hit while another session held the lock)
  '57P01': 'retriable', // admin_shutdown
  '57P02': 'retriable', // crash_shutdown
  '57P03': 'retriable', // cannot_connect_now (server starting up / in recovery)
  '57P05': 'retriable', // idle_session_timeout
  // raise_exception: a trigger on the target refused the row (RAISE EXCEPTION), as a constraint would.
  'P0001': 'data',
  '57014': 'fatal', // query_canceled: a statement_timeout will hit again with the same batch
};

/** SQLSTATE class (first two characters) → class. Anything not listed is fatal. */
const SQLSTATE_CLASSES: Readonly<Record<string, ErrorClass>> = {
  '08': 'retriable', // connection exception
  '40': 'retriable', // transaction rollback
  '53': 'retriable', // insufficient resources (disk full, out of memory, too many connections)
  '22': 'data', // data exception (bad value, out of range, invalid text representation…)
  '23': 'data', // integrity constraint violation (not null, unique, foreign key, check)
};

/** Node.js system error codes that mean "the network path hiccupped". */
const NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  // A service name that does not resolve yet is common while a cluster starts; retries are bounded.
  'ENOTFOUND',
  // mysql2 (batch sources): the server went away, restarts, is full, or a lock gave way.
  'PROTOCOL_CONNECTION_LOST',
  'ER_SERVER_SHUTDOWN',
  'ER_CON_COUNT_ERROR',
  'ER_TOO_MANY_USER_CONNECTIONS',
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_NET_READ_INTERRUPTED',
  'ER_NET_WRITE_INTERRUPTED',
]);

/** Messages from drivers that carry no code but mean the connection went away. */
const NETWORK_MESSAGES: readonly RegExp[] = [
  /Connection terminated unexpectedly/i,
  /Connection terminated due to connection timeout/i,
  /timeout expired/i,
  /SSL connection has been closed unexpectedly/i,
  /SSL SYSCALL error/i,
  /socket hang up/i,
  /Client has encountered a connection error and is not queryable/i,
  /timeout exceeded when trying to connect/i, // pg.Pool connectionTimeoutMillis
  // pg's query_timeout: no answer at all within the client's deadline (past statement_timeout, which
  // the server would have answered with 57014): the connection is dropped (src/pg/pool.ts) and the
  // work retried on a new one.
  /^Query read timeout$/,
];

/** kafkajs protocol error types that are transient for a consumer although kafkajs marks them otherwise. */
const KAFKA_RETRIABLE_TYPES: ReadonlySet<string> = new Set([
  'REBALANCE_IN_PROGRESS',
  'NOT_COORDINATOR',
  'COORDINATOR_NOT_AVAILABLE',
  'COORDINATOR_LOAD_IN_PROGRESS',
  'UNKNOWN_MEMBER_ID',
  'ILLEGAL_GENERATION',
]);

/** Programmer errors: a bug, never retried, never dead-lettered. */
const PROGRAMMER_ERRORS = [TypeError, RangeError, ReferenceError, SyntaxError, EvalError, URIError];

const MAX_CAUSE_DEPTH = 8;

export function classifyError(err: unknown): ErrorClass {
  return classify(err, 0) ?? 'fatal';
}

/** Undefined = "this layer says nothing"; the caller then looks at the cause. */
function classify(err: unknown, depth: number): ErrorClass | undefined {
  if (depth > MAX_CAUSE_DEPTH || err === null || typeof err !== 'object') return undefined;
  const e = err as Record<string, unknown>;

  if (err instanceof NilusError) return classifyOwn(err);
  if (PROGRAMMER_ERRORS.some((C) => err instanceof C)) return 'fatal';

  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code !== undefined && NETWORK_CODES.has(code)) return 'retriable';
  if (code !== undefined && isSqlState(code) && isPgError(e)) return classifySqlState(code);

  const name = typeof e.name === 'string' ? e.name : '';
  if (name.startsWith('KafkaJS')) return classifyKafka(e, depth);

  const message = typeof e.message === 'string' ? e.message : '';
  if (NETWORK_MESSAGES.some((re) => re.test(message))) return 'retriable';

  if (Array.isArray(e.errors)) {
    // AggregateError (e.g. a connect that tried IPv4 and IPv6): transient if any attempt was.
    const inner = e.errors.map((x) => classify(x, depth + 1));
    if (inner.includes('retriable')) return 'retriable';
  }
  return classify(e.cause, depth + 1);
}

function classifyOwn(err: NilusError): ErrorClass {
  if (err instanceof RetriableError) return 'retriable';
  if (err instanceof DataError) return 'data';
  if (err instanceof ConfigError || err instanceof FatalError) return 'fatal';
  return err.retriable ? 'retriable' : 'fatal';
}

export function classifySqlState(code: string): ErrorClass {
  return SQLSTATE_CODES[code] ?? SQLSTATE_CLASSES[code.slice(0, 2)] ?? 'fatal';
}

/** The SQLSTATE of an error PostgreSQL sent (pg's DatabaseError), else undefined. */
export function sqlStateOf(err: unknown): string | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const e = err as Record<string, unknown>;
  return typeof e.code === 'string' && isSqlState(e.code) && isPgError(e) ? e.code : undefined;
}

function isSqlState(code: string): boolean {
  return /^[0-9A-Z]{5}$/.test(code);
}

/**
 * pg's DatabaseError always carries `severity` (ERROR, FATAL, PANIC) from the server's message;
 * a bare 5-character code on some other error (Node's 'EPIPE') is not a SQLSTATE.
 */
function isPgError(e: Record<string, unknown>): boolean {
  return typeof e.severity === 'string';
}

function classifyKafka(e: Record<string, unknown>, depth: number): ErrorClass {
  const name = e.name as string;
  if (typeof e.type === 'string' && KAFKA_RETRIABLE_TYPES.has(e.type)) return 'retriable';
  if (name === 'KafkaJSConnectionError' || name === 'KafkaJSConnectionClosedError') return 'retriable';
  if (name === 'KafkaJSRequestTimeoutError') return 'retriable';
  // Marked non-retriable by kafkajs, but while brokers start or move coordinators it clears up.
  if (name === 'KafkaJSGroupCoordinatorNotFound') return 'retriable';
  if (name === 'KafkaJSNumberOfRetriesExceeded') {
    // kafkajs gave up on its own retries; the cause says whether waiting longer can help.
    const inner = classify(e.cause ?? e.originalError, depth + 1);
    return inner === 'retriable' ? 'retriable' : 'fatal';
  }
  if (e.retriable === true) return 'retriable';
  // A non-retriable wrapper around a lost connection (e.g. a producer whose broker went away
  // while a dead letter was being sent) is an outage, never poison.
  return classify(e.cause ?? e.originalError, depth + 1) === 'retriable' ? 'retriable' : 'fatal';
}

