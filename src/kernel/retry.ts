/**
 * Bounded retry with exponential backoff and full jitter, for 'retriable' errors only.
 * Full jitter (delay = random × min(max, initial × 2^(n−1))) spreads N replicas that lost the same
 * database at the same moment, so they do not reconnect in lock-step.
 * A shutdown (AbortSignal) cuts the wait short: the worker must not sit out a 30 s backoff on SIGTERM.
 */
import { classifyError } from './classify';
import { FatalError, NilusError } from './errors';
import type { CoreEmitter } from './events';

export interface RetryInfo {
  readonly operation: string;
  /** The attempt that failed (1-based); the next one is attempt + 1. */
  readonly attempt: number;
  readonly delayMs: number;
  readonly error: Error;
}

export interface RetryOptions {
  /** Total attempts including the first; 1 = no retry; Infinity = until it works or the signal aborts. */
  readonly maxAttempts: number;
  readonly initialMs: number;
  readonly maxMs: number;
  readonly signal?: AbortSignal;
  readonly onRetry?: (info: RetryInfo) => void;
  readonly classify?: typeof classifyError;
  /** Injected for tests; the default is an abortable setTimeout. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Injected for tests; returns [0, 1). */
  readonly random?: () => number;
}

/** Retries ran out; `cause` is the last error. Fatal: the caller stops instead of looping forever. */
export class RetriesExhaustedError extends FatalError {
  constructor(
    readonly operation: string,
    readonly attempts: number,
    cause: unknown,
  ) {
    super(`${operation} failed after ${attempts} attempt(s): ${messageOf(cause)}`, { cause });
  }
}

/** The wait between attempts was cut short by shutdown. */
export class RetryAbortedError extends NilusError {
  constructor(
    readonly operation: string,
    cause: unknown,
  ) {
    super(`${operation} abandoned: shutting down`, { cause });
  }
}

/** How long and how often to retry: errors.retry of the manifest. */
export type RetryPolicy = Pick<RetryOptions, 'maxAttempts' | 'initialMs' | 'maxMs'>;

/**
 * `retry` that reports each failed attempt: a `retry` event (metric, log line) and the system it
 * needs marked as down (readiness). The CDC core's flushes and start-up, and a batch run's start-up.
 */
export function reportedRetry<T>(
  emitter: CoreEmitter,
  policy: RetryPolicy,
  operation: string,
  fn: () => Promise<T>,
  o: { signal?: AbortSignal; system?: 'postgresql' | 'kafka' } = {},
): Promise<T> {
  const down = o.system === 'kafka' ? { kafkaConnected: false } : { pgConnected: false };
  return retry(operation, fn, {
    ...policy,
    ...(o.signal ? { signal: o.signal } : {}),
    onRetry: (info) => {
      emitter.emit('state', down);
      emitter.emit('retry', info);
    },
  });
}

export async function retry<T>(op: string, fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  checkOptions(opts);
  const classify = opts.classify ?? classifyError;
  const random = opts.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    if (opts.signal?.aborted) throw new RetryAbortedError(op, opts.signal.reason);
    try {
      return await fn(attempt);
    } catch (err) {
      if (classify(err) !== 'retriable') throw err;
      if (attempt >= opts.maxAttempts) throw new RetriesExhaustedError(op, attempt, err);
      const delayMs = backoffMs(attempt, opts.initialMs, opts.maxMs, random);
      opts.onRetry?.({ operation: op, attempt, delayMs, error: toError(err) });
      await waitOrAbort(op, delayMs, opts.signal, opts.sleep);
    }
  }
}

/** Full-jitter delay before the attempt after `attempt` (1-based). Integer ms in [0, cap]. */
export function backoffMs(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  // 2^(attempt-1) overflows to Infinity for large attempts; Math.min keeps it bounded anyway.
  const cap = Math.min(maxMs, initialMs * 2 ** (attempt - 1));
  return Math.floor(random() * (cap + 1));
}

function checkOptions(o: RetryOptions): void {
  if (!(Number.isInteger(o.maxAttempts) || o.maxAttempts === Infinity) || o.maxAttempts < 1) {
    throw new RangeError(`retry: maxAttempts must be an integer >= 1 or Infinity, got ${o.maxAttempts}`);
  }
  if (!(o.initialMs >= 0)) throw new RangeError(`retry: initialMs must be >= 0, got ${o.initialMs}`);
  if (!(o.maxMs >= o.initialMs)) {
    throw new RangeError(`retry: maxMs (${o.maxMs}) must be >= initialMs (${o.initialMs})`);
  }
}

async function waitOrAbort(op: string, ms: number, signal?: AbortSignal, sleep?: (ms: number) => Promise<void>): Promise<void> {
  if (!signal) return (sleep ?? defaultSleep)(ms);
  if (signal.aborted) throw new RetryAbortedError(op, signal.reason);
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new RetryAbortedError(op, signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  let timer: NodeJS.Timeout | undefined;
  const slept = sleep
    ? sleep(ms)
    : new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ms);
      });
  try {
    await Promise.race([slept, aborted]);
  } finally {
    if (timer) clearTimeout(timer);
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(messageOf(err));
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
