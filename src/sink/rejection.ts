/**
 * Rows PostgreSQL rejected (found by bisecting a flush, src/sink/isolate.ts): as a dead letter
 * (errors.tolerance all), and as the message that stops the pipeline (errors.tolerance none).
 * Both name where the row came from (topic, partition, offset), the target table, the column when
 * it can be told, PostgreSQL's message and SQLSTATE, and, when the target column's type differs
 * from the type the event carries, the incompatible change with the old and new type.
 */
import type { RejectedRow } from './isolate';
import { IncompatibleTypeError, incompatibleMessage } from './schema/checks';
import { typeFits } from './schema/type-compat';
import { safeText } from '../kernel/text';
import { UNAVAILABLE, type Row } from '../kernel/types';
import type { DeadLetter, Rejection } from '../engine/ports';

const json = (row: Row): string => JSON.stringify(row, (_k, v: unknown) => (v === UNAVAILABLE ? '__debezium_unavailable_value' : v));
const qi = (s: string): string => `"${s.replace(/"/g, '""')}"`;

/** A rejected row as a dead letter: its decoded values as JSON (the raw record stays in Kafka at its offset). */
export function rejectedLetter(r: RejectedRow): DeadLetter {
  return {
    topic: r.pos?.topic ?? '',
    partition: r.pos?.partition ?? -1,
    offset: r.pos?.offset ?? '-1',
    key: null,
    // JSON escapes NUL and lone surrogates, so these bytes are always valid UTF-8 text.
    value: Buffer.from(json(r.row)),
    reason: rejectionReason(r),
    errorClass: 'data',
  };
}

/**
 * Why PostgreSQL rejected the row, for a dead letter: the table, the column when known, the
 * message and SQLSTATE, and the type change when there is one.
 */
export function rejectionReason(r: RejectedRow): string {
  const code = sqlState(r.error);
  const column = rejectedColumn(r);
  const change = typeChange(r, column);
  let out = `${r.table} rejected the ${r.op}${column ? ` (column ${qi(column)})` : ''}: ${safeText(r.error.message)}${code ? ` (SQLSTATE ${code})` : ''}`;
  const raisedIn = code === 'P0001' ? trigger(r.error) : undefined;
  if (raisedIn) out += ` (raised by ${raisedIn})`;
  if (change && !(r.error instanceof IncompatibleTypeError)) out += `; ${change}`;
  return out;
}

/**
 * The message that stops a pipeline (errors.tolerance none) at a row PostgreSQL rejected: the
 * record's topic, partition and offset, the target table and column, PostgreSQL's message and
 * SQLSTATE, the old and new type when the column's type changed, and what to do.
 */
const TO_DEAD_LETTER =
  'To skip such records into a dead-letter topic or table instead, set errors.tolerance: all ' +
  'and errors.deadletter.topic or errors.deadletter.table.';

/** The tail of the stop message under schema_change: stop, which holds under errors.tolerance all too. */
export const SCHEMA_CHANGE_STOP =
  'schema_change: stop stops at such a record whatever errors.tolerance is; set schema_change: deadletter ' +
  '(with errors.tolerance: all) to dead-letter such records, or variant to land their values in a column of their own.';

export function describeRejection(r: RejectedRow, tail = TO_DEAD_LETTER): string {
  const where = r.pos ? `topic ${r.pos.topic}, partition ${r.pos.partition}, offset ${r.pos.offset}` : 'an unknown position';
  const column = rejectedColumn(r);
  const change = typeChange(r, column);
  const fix = change
    ? 'Migrate the target column (or fix the source), then restart: the pipeline resumes at this record'
    : 'Fix the row at the source or the target\'s constraint or trigger, then restart: the pipeline resumes at this record';
  return (
    `the record at ${where} cannot apply: ${rejectionReason(r)}. ` +
    `The pipeline stopped before this record; nothing after it was applied. ${fix}. ${tail}`
  );
}

/** The function a RAISE came from, as PostgreSQL's context names it ("PL/pgSQL function s.f() line 3 at RAISE"). */
function trigger(e: Error): string | undefined {
  const where = (e as { where?: unknown }).where;
  if (typeof where !== 'string') return undefined;
  const m = /PL\/pgSQL function ([^\n]+?) line \d+ at RAISE/.exec(where);
  return m ? `trigger function ${safeText(m[1]!)}` : undefined;
}

function sqlState(e: Error): string | undefined {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * The column the rejection is about: the error's own (IncompatibleTypeError, or pg's `column`
 * field on not-null and some constraint errors), else parsed from PostgreSQL's message or its COPY
 * context (`COPY nilus_stage_…, line 1, column qty: "abc"`), else the one column of the row that
 * holds the value the message quotes.
 */
export function rejectedColumn(r: RejectedRow): string | undefined {
  const e = r.error as Error & { column?: unknown; where?: unknown };
  if (e instanceof IncompatibleTypeError) return e.column;
  if (typeof e.column === 'string' && e.column !== '') return e.column;
  const msg = e.message;
  const inMsg = /\bcolumn "((?:[^"]|"")+)"/.exec(msg);
  if (inMsg && (r.row[inMsg[1]!.replace(/""/g, '"')] !== undefined || !r.eventColumns)) return inMsg[1]!.replace(/""/g, '"');
  if (typeof e.where === 'string') {
    const copy = /\bCOPY [^,]+, line \d+, column ([^:]+):/.exec(e.where);
    if (copy) return copy[1]!;
  }
  const quoted = /: "((?:[^"\\]|\\.)*)"\s*$/.exec(msg);
  if (quoted) {
    const hits = Object.keys(r.row).filter((k) => r.row[k] === quoted[1]);
    if (hits.length === 1) return hits[0];
  }
  return undefined;
}

/** "incompatible change … (old type …, new type …)" when the event's type for the column does not fit the target's. */
function typeChange(r: RejectedRow, column: string | undefined): string | undefined {
  const e = r.error;
  if (e instanceof IncompatibleTypeError) return e.message;
  if (column === undefined || !r.targetTypes || !r.eventColumns) return undefined;
  const target = r.targetTypes.get(column);
  const spec = r.eventColumns.find((c) => c.name === column);
  if (target === undefined || spec === undefined) return undefined;
  if (typeFits(spec.pgType, target)) return undefined;
  return incompatibleMessage(r.table, column, target, spec.pgType, spec.sourceType === true);
}

/** A rejected row as the engine takes it: its dead letter, and the message that stops the pipeline. */
export function rejection(r: RejectedRow): Rejection {
  return { letter: rejectedLetter(r), description: describeRejection(r), error: r.error };
}
