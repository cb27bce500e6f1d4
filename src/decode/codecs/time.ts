/**
 * Debezium / Connect temporal types → PostgreSQL text. All arithmetic is on integers in UTC
 * (never through Date/local time), so pre-1970, leap days, far-future values, microseconds and
 * nanoseconds come out exact.
 */
import type { PgValue } from '../../kernel/types';
import { intValue } from './numeric';
import { fail } from './types';

const US_PER_DAY = 86_400_000_000;
const MS_PER_DAY = 86_400_000;

/*
 * How Debezium's PostgresValueConverter encodes PostgreSQL 'infinity' / '-infinity':
 * timestamps become LocalDateTime of the JDBC driver's DATE_POSITIVE/NEGATIVE_INFINITY read as
 * microseconds (so MicroTimestamp carries those numbers, Timestamp the same /1000), dates become
 * LocalDate -5877611-06-21 (+inf) / -5877611-06-22 (-inf), zoned timestamps the strings themselves.
 */
const POS_INF_US = 9223372036825200000n;
const NEG_INF_US = -9223372036832400000n;
const POS_INF_MS = 9223372036825200n;
const NEG_INF_MS = -9223372036832400n;
const POS_INF_DAYS = -2147472692;
const NEG_INF_DAYS = -2147472691;
/*
 * Debezium 3.x with the current JDBC driver sends other day counts for date 'infinity' /
 * '-infinity' (the driver's infinity milliseconds overflowing an int of days), seen in real
 * output of connector 3.6. Both lie far outside PostgreSQL's date range (4713 BC .. 5874897 AD),
 * so no real date can be mistaken for them.
 */
const POS_INF_DAYS_3 = -622191234;
const NEG_INF_DAYS_3 = -625821272;

/** The constants are beyond 2^53, so they only ever arrive exact, as bigint (see intValue). */
function infinityOf(n: number | bigint, pos: bigint, neg: bigint): string | null {
  if (typeof n === 'number') return null;
  if (n === pos) return 'infinity';
  if (n === neg) return '-infinity';
  return null;
}

function pad(n: number, w: number): string {
  const s = String(n);
  return s.length >= w ? s : '0'.repeat(w - s.length) + s;
}

/** Days since 1970-01-01 → 'YYYY-MM-DD' (proleptic Gregorian; years ≤ 0 written as BC). */
export function formatDate(days: number): string {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  if (y <= 0) return `${pad(1 - y, 4)}-${pad(m, 2)}-${pad(d, 2)} BC`;
  return `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}`;
}

/** Microseconds (+ extra nanoseconds) of a day → 'HH:MM:SS[.fraction]', trailing zeros trimmed. */
export function formatTime(usOfDay: number, nanos = 0): string {
  const secs = Math.floor(usOfDay / 1_000_000);
  const frac = usOfDay - secs * 1_000_000;
  const base = `${pad(Math.floor(secs / 3600), 2)}:${pad(Math.floor(secs / 60) % 60, 2)}:${pad(secs % 60, 2)}`;
  if (frac === 0 && nanos === 0) return base;
  let f = nanos === 0 ? pad(frac, 6) : pad(frac, 6) + pad(nanos, 3);
  let end = f.length;
  while (f.charCodeAt(end - 1) === 48) end--;
  f = f.slice(0, end);
  return base + '.' + f;
}

/** Split a BC date's ' BC' suffix so the time goes between date and era. */
let lastDays = NaN;
let lastDate = '';

function joinTs(days: number, time: string): string {
  // Timestamps of a stream mostly fall on a few days: keep the last day's text.
  if (days !== lastDays) {
    lastDate = formatDate(days);
    lastDays = days;
  }
  const date = lastDate;
  return date.endsWith(' BC') ? `${date.slice(0, -3)} ${time} BC` : `${date} ${time}`;
}

/** Timestamp from an integer count of units (1 = ms, 1000 = µs, 1e6 = ns) since the epoch. */
function timestampText(n: number | bigint, unitsPerUs: 0 | 1 | 1000, unitsPerMs: number): string {
  if (typeof n === 'number' && unitsPerUs !== 1000) {
    const perDay = unitsPerUs === 0 ? MS_PER_DAY : US_PER_DAY;
    const days = Math.floor(n / perDay);
    const rem = n - days * perDay;
    return joinTs(days, formatTime(unitsPerUs === 0 ? rem * 1000 : rem));
  }
  const b = BigInt(n);
  const perDay = BigInt(MS_PER_DAY) * BigInt(unitsPerMs);
  let days = b / perDay;
  let rem = b % perDay;
  if (rem < 0n) {
    rem += perDay;
    days -= 1n;
  }
  if (unitsPerUs === 1000) return joinTs(Number(days), formatTime(Number(rem / 1000n), Number(rem % 1000n)));
  if (unitsPerUs === 0) return joinTs(Number(days), formatTime(Number(rem) * 1000));
  return joinTs(Number(days), formatTime(Number(rem)));
}

export function convertTimestampMs(v: unknown): PgValue {
  const n = intValue(v, 'milliseconds since the epoch');
  return infinityOf(n, POS_INF_MS, NEG_INF_MS) ?? timestampText(n, 0, 1);
}

export function convertMicroTimestamp(v: unknown): PgValue {
  const n = intValue(v, 'microseconds since the epoch');
  return infinityOf(n, POS_INF_US, NEG_INF_US) ?? timestampText(n, 1, 1000);
}

export function convertNanoTimestamp(v: unknown): PgValue {
  const n = intValue(v, 'nanoseconds since the epoch');
  return timestampText(typeof n === 'number' ? BigInt(n) : n, 1000, 1_000_000);
}

/** io.debezium.time.Date: days since the epoch (int32). */
export function convertEpochDays(v: unknown): PgValue {
  if (typeof v !== 'number' || !Number.isInteger(v)) return fail('days since the epoch (int32)', v);
  if (v === POS_INF_DAYS || v === POS_INF_DAYS_3) return 'infinity';
  if (v === NEG_INF_DAYS || v === NEG_INF_DAYS_3) return '-infinity';
  return formatDate(v);
}

/** org.apache.kafka.connect.data.Date: milliseconds at midnight UTC. */
export function convertConnectDate(v: unknown): PgValue {
  const n = intValue(v, 'milliseconds since the epoch at midnight');
  const days = typeof n === 'number' ? Math.floor(n / MS_PER_DAY) : Number(n / BigInt(MS_PER_DAY));
  if (days === POS_INF_DAYS) return 'infinity';
  if (days === NEG_INF_DAYS) return '-infinity';
  const inf = infinityOf(n, POS_INF_MS, NEG_INF_MS);
  return inf ?? formatDate(days);
}

function timeOfDay(v: unknown, perUs: number, what: string): PgValue {
  const n = intValue(v, what);
  if (typeof n === 'bigint') {
    const p = BigInt(perUs === 0 ? 1 : perUs);
    if (perUs >= 1000) return formatTime(Number(n / p), Number(n % p));
    return formatTime(Number(n));
  }
  if (n < 0) return fail(`${what} (non-negative)`, v);
  if (perUs === 0) return formatTime(n * 1000);
  if (perUs === 1) return formatTime(n);
  return formatTime(Math.floor(n / perUs), n % perUs);
}

export const convertTimeMs = (v: unknown): PgValue => timeOfDay(v, 0, 'milliseconds past midnight');
export const convertMicroTime = (v: unknown): PgValue => timeOfDay(v, 1, 'microseconds past midnight');
export const convertNanoTime = (v: unknown): PgValue => timeOfDay(v, 1000, 'nanoseconds past midnight');

/** ZonedTimestamp / ZonedTime / Interval (ISO 8601 strings PostgreSQL reads as they are). */
export function convertIsoString(v: unknown): PgValue {
  if (typeof v === 'string' && v.length > 0) return v;
  return fail('an ISO 8601 string', v);
}

/** io.debezium.time.MicroDuration: microseconds → 'H:MM:SS.ffffff' (hours may exceed 24). */
export function convertMicroDuration(v: unknown): PgValue {
  const n = intValue(v, 'a duration in microseconds');
  let b = BigInt(n);
  const neg = b < 0n;
  if (neg) b = -b;
  const secs = b / 1_000_000n;
  const frac = Number(b % 1_000_000n);
  const h = secs / 3600n;
  const m = Number((secs / 60n) % 60n);
  const s = Number(secs % 60n);
  let text = `${neg ? '-' : ''}${h}:${pad(m, 2)}:${pad(s, 2)}`;
  if (frac !== 0) text += '.' + pad(frac, 6).replace(/0+$/, '');
  return text;
}
