import type { RejectedRow } from '../apply';
import { UNAVAILABLE, type Row } from '../core/types';
import type { DeadLetter } from '.';

/** A rejected row as a dead letter: its key and decoded values as JSON (the raw record stays in Kafka at its offset). */
export function rejectedLetter(r: RejectedRow): DeadLetter {
  const json = (row: Row) => JSON.stringify(row, (_k, v: unknown) => (v === UNAVAILABLE ? '__debezium_unavailable_value' : v));
  const code = (r.error as { code?: string }).code;
  return {
    topic: r.pos?.topic ?? '',
    partition: r.pos?.partition ?? -1,
    offset: r.pos?.offset ?? '-1',
    key: null,
    value: Buffer.from(json(r.row)),
    reason: `${r.table} rejected the ${r.op}: ${r.error.message}${code ? ` (SQLSTATE ${code})` : ''}`,
    errorClass: 'data',
  };
}

/** A rejected row for an operator: where it came from, the table, and PostgreSQL's reason. */
export function describeRejection(r: RejectedRow): string {
  const code = (r.error as { code?: string }).code;
  const where = r.pos ? ` (topic ${r.pos.topic}, partition ${r.pos.partition}, offset ${r.pos.offset})` : '';
  return `${r.table} rejected the ${r.op}${where}: ${r.error.message}${code ? ` (SQLSTATE ${code})` : ''}`;
}
