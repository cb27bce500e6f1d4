/**
 * What a raw record says before its payload is read: whether Debezium's key-change headers mark
 * it, and what bytes that are not JSON most likely are. Shared by the decoder and the decode pool
 * (which leaves key-change records to the main thread).
 */
import type { RawRecord } from '../kernel/types';

/** Debezium's headers on the delete + create pair a primary-key change becomes. */
export const OLD_KEY_HEADER = '__debezium.oldkey';
export const NEW_KEY_HEADER = '__debezium.newkey';

/** A record of a primary-key change: Debezium's old-key or new-key header. */
export function isKeyChange(rec: RawRecord): boolean {
  const h = rec.headers;
  return h !== undefined && (h[OLD_KEY_HEADER] !== undefined || h[NEW_KEY_HEADER] !== undefined);
}

/**
 * What a record that is not JSON most likely is, so the reason says what to change: Confluent's
 * Schema Registry wire format starts with the magic byte 0 and a 4-byte schema id.
 */
export function wireHint(b: Buffer): string {
  if (b.length >= 5 && b[0] === 0) {
    return ` (the bytes start with 0x00 and schema id ${b.readUInt32BE(1)}: Confluent Schema Registry wire format, e.g. Avro; nilus reads JSON, so configure the connector with org.apache.kafka.connect.json.JsonConverter)`;
  }
  return '';
}
