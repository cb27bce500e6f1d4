import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RawRecord } from '../../../src/kernel/types';

let offset = 0;
export function rec(value: unknown, key?: unknown, topic = 'shop.public.orders'): RawRecord {
  const enc = (v: unknown): Buffer | null =>
    v === null || v === undefined ? null : Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
  return { topic, partition: 0, offset: String(offset++), key: enc(key), value: enc(value), timestampMs: 0 };
}

export function fixture(name: string): string {
  return readFileSync(join(__dirname, '../../fixtures/debezium', name), 'utf8');
}

/** A Connect struct schema from [name, type, logical?, parameters?] tuples. */
export function struct(fields: [string, string, string?, Record<string, string>?][], name?: string): Record<string, unknown> {
  return {
    type: 'struct',
    optional: true,
    ...(name ? { name } : {}),
    fields: fields.map(([field, type, logical, parameters]) => ({
      field,
      type,
      optional: field !== 'id',
      ...(logical ? { name: logical } : {}),
      ...(parameters ? { parameters } : {}),
    })),
  };
}

export const SOURCE_SCHEMA = struct([
  ['schema', 'string'], ['table', 'string'], ['ts_ms', 'int64'], ['lsn', 'int64'], ['snapshot', 'string'],
]);

/** `{"schema":…,"payload":…}` written compactly, as JsonConverter does. */
export function envelope(row: Record<string, unknown>, payload: Record<string, unknown>): string {
  const schema = {
    type: 'struct',
    name: 'shop.public.orders.Envelope',
    fields: [
      { ...row, field: 'before' },
      { ...row, field: 'after' },
      { ...SOURCE_SCHEMA, field: 'source' },
      { type: 'string', optional: false, field: 'op' },
      { type: 'int64', optional: true, field: 'ts_ms' },
    ],
  };
  return JSON.stringify({ schema, payload });
}
