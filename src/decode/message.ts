/**
 * One Kafka key or value → (compiled schema, parsed payload). The compact JsonConverter layout is
 * split on the raw bytes and its schema looked up by bytes (compiled once); only the payload is
 * decoded and parsed per message. Any other layout is parsed whole.
 */
import { parseWhole, protectBigInts, SchemaCache, splitBytes } from './json';

const MAX_CACHED_SCHEMAS = 2048;

export interface Parsed<T> {
  /** Compiled schema; null when the message has no (or a null) schema. */
  readonly compiled: T | null;
  readonly payload: unknown;
}

export class MessageParser<T> {
  private readonly bytes = new SchemaCache<T | null>(MAX_CACHED_SCHEMAS);
  private readonly texts = new Map<string, T | null>();

  /** `compile` sees each distinct schema once; it may throw for a schema it cannot use. */
  constructor(private readonly compile: (schema: unknown) => T | null) {}

  private lastSchemaLength = -1;
  /**
   * Bytes of what the last `parse` kept: the payload without a compact schema envelope (the schema
   * is held once, compiled, per distinct schema), else the whole message. Memory accounting.
   */
  lastBytes = 0;

  parse(buf: Buffer, exact: boolean): Parsed<T> {
    const split = splitBytes(buf, this.lastSchemaLength);
    if (split !== null) {
      this.lastSchemaLength = split.schemaEnd - split.schemaStart;
      let compiled = this.bytes.get(buf, split.schemaStart, split.schemaEnd);
      if (compiled === undefined) compiled = this.firstSight(buf, split.schemaStart, split.schemaEnd);
      if (compiled !== undefined) {
        this.lastBytes = split.payloadEnd - split.payloadStart;
        const text = buf.toString('utf8', split.payloadStart, split.payloadEnd);
        return { compiled, payload: JSON.parse(exact ? protectBigInts(text) : text) };
      }
    }
    this.lastBytes = buf.length;
    const whole = parseWhole(buf.toString('utf8'), exact);
    if (whole.kind !== 'parsed' || !whole.hasSchema || whole.schema === null || whole.schema === undefined) {
      return { compiled: null, payload: whole.kind === 'parsed' ? whole.payload : undefined };
    }
    const key = JSON.stringify(whole.schema);
    let compiled = this.texts.get(key);
    if (compiled === undefined) {
      compiled = this.compile(whole.schema);
      if (this.texts.size >= MAX_CACHED_SCHEMAS) this.texts.clear();
      this.texts.set(key, compiled);
    }
    return { compiled, payload: whole.payload };
  }

  /** undefined: the split was not a real boundary (schema text is not one JSON value). */
  private firstSight(buf: Buffer, start: number, end: number): T | null | undefined {
    let schema: unknown;
    try {
      schema = JSON.parse(buf.toString('utf8', start, end));
    } catch {
      return undefined;
    }
    const compiled = schema === null ? null : this.compile(schema);
    this.bytes.set(buf, start, end, compiled);
    return compiled;
  }
}
