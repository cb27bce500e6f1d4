/**
 * pino JSON logs with secrets removed. Two layers, because either alone leaks:
 *  1. pino `redact` censors known secret fields (password, sasl.password…) before serialization;
 *  2. every finished line is scrubbed as text: a password inside a connection string, a
 *     `password=` keyword pair, any JSON field whose name looks secret at any depth, and any
 *     registered secret value. Layer 2 catches what layer 1 cannot see: a driver error message
 *     that echoes the URI, a stack trace, a config object nested deeper than the listed paths.
 */
import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface LogDestination {
  write(line: string): unknown;
}

export interface LoggerOptions {
  readonly level: LogLevel;
  readonly name: string;
  /** Where lines go; default stdout. */
  readonly destination?: LogDestination;
  /** Literal secret values (passwords from the connections file) that must never be printed. */
  readonly secrets?: readonly string[];
}

export const MASK = '***';

const REDACT_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  '*.*.*.password',
  'sasl.password',
  '*.sasl.password',
  '*.*.sasl.password',
  '*.*.*.sasl.password',
  'connectionString',
  '*.connectionString',
];

/** `scheme://user:SECRET@host` → `scheme://user:***@host`. */
const URI_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^\s:/@"]*:)([^\s@"/]+)(@)/gi;
/** libpq keyword form and query parameters: `password=SECRET`, `?password=SECRET&…`. */
const KEYWORD_PASSWORD = /\b(password|passwd|pwd)=([^\s&;"',]+)/gi;
/** JSON fields with a secret-looking name, at any depth: `"password":"SECRET"`. */
const JSON_SECRET_FIELD = /("(?:[A-Za-z_.]*(?:password|passwd|secret|token|apikey|api_key))"\s*:\s*)"(?:[^"\\]|\\.)*"/gi;

/** Removes secrets from one piece of text (a log line, an error message). */
export function scrubSecrets(text: string, secrets: readonly string[] = []): string {
  let out = text
    .replace(URI_PASSWORD, `$1${MASK}$3`)
    .replace(KEYWORD_PASSWORD, `$1=${MASK}`)
    .replace(JSON_SECRET_FIELD, `$1"${MASK}"`);
  for (const s of secrets) {
    // Short values ("a", "1") would mask half the line and prove nothing; config requires real passwords.
    if (s.length < 3) continue;
    out = out.split(s).join(MASK);
    // The same secret as it appears inside a JSON string (quotes/backslashes escaped).
    const escaped = JSON.stringify(s).slice(1, -1);
    if (escaped !== s) out = out.split(escaped).join(MASK);
  }
  return out;
}

export function createLogger(opts: LoggerOptions): Logger {
  const target = opts.destination ?? process.stdout;
  const secrets = [...(opts.secrets ?? [])];
  const scrubbing: LogDestination = { write: (line: string) => target.write(scrubSecrets(line, secrets)) };
  return pino(
    {
      name: opts.name,
      level: opts.level,
      redact: { paths: REDACT_PATHS, censor: MASK },
      // Errors keep their message, stack, code and cause chain; the scrubber then cleans the text.
      serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    scrubbing as pino.DestinationStream,
  );
}

/** Context carried by every line of one part of the pipeline. Only bounded, non-secret values. */
export interface LogScope {
  readonly pipeline?: string;
  readonly topic?: string;
  readonly partition?: number;
  readonly table?: string;
  readonly stage?: string;
}

export function childLogger(parent: Logger, scope: LogScope): Logger {
  const bindings: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(scope)) if (v !== undefined) bindings[k] = v as string | number;
  return parent.child(bindings);
}

/** Aggregated flush activity since the last logged line. */
export interface FlushSummary {
  readonly flushes: number;
  readonly events: number;
  readonly rows: number;
  readonly durationSeconds: number;
  /** Longest single flush in the window. */
  readonly maxDurationSeconds: number;
  /** Window length the summary covers, ms. */
  readonly windowMs: number;
}

export interface FlushLogSampler {
  /** Records one flush; returns the summary to log now, or undefined to stay quiet. */
  offer(flush: { events: number; rows: number; durationSeconds: number }): FlushSummary | undefined;
  /** Whatever was aggregated and not yet logged (on shutdown); undefined when nothing is pending. */
  drain(): FlushSummary | undefined;
}

/**
 * At most one info line per `intervalMs`: a busy pipeline flushes many times a second, and one
 * line per flush would drown the logs and cost more than the flush. Flushes in between are
 * aggregated into the next line's counts. The first flush is logged at once.
 */
export function flushLogSampler(intervalMs: number, now: () => number = Date.now): FlushLogSampler {
  if (!(intervalMs >= 0)) throw new RangeError(`flushLogSampler: intervalMs must be >= 0, got ${intervalMs}`);
  let lastLogged: number | undefined;
  let windowStart = now();
  let acc = { flushes: 0, events: 0, rows: 0, durationSeconds: 0, maxDurationSeconds: 0 };

  const take = (t: number): FlushSummary => {
    const summary = { ...acc, windowMs: t - windowStart };
    acc = { flushes: 0, events: 0, rows: 0, durationSeconds: 0, maxDurationSeconds: 0 };
    windowStart = t;
    lastLogged = t;
    return summary;
  };

  return {
    offer(f) {
      acc.flushes++;
      acc.events += f.events;
      acc.rows += f.rows;
      acc.durationSeconds += f.durationSeconds;
      acc.maxDurationSeconds = Math.max(acc.maxDurationSeconds, f.durationSeconds);
      const t = now();
      if (lastLogged === undefined || t - lastLogged >= intervalMs) return take(t);
      return undefined;
    },
    drain() {
      return acc.flushes > 0 ? take(now()) : undefined;
    },
  };
}
