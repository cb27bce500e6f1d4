/**
 * Raw Kafka record → CopyReadyEvent (the COPY-ready decode path of ./copy-ready.ts): parsed as the
 * Decoder parses it, with one compiled encoder per (value schema, key schema, key columns).
 * Intake tries it first for merge (src/core/intake.ts).
 */
import type { RawRecord, SourceTable } from '../core/types';
import { tableFromTopic } from './source';
import type { CodecContext } from './codecs';
import { codecContext } from './codecs';
import { InexactNumber } from './codecs/types';
import type { CompiledRow, CompiledValue } from './schema';
import { compileKey, compileValue } from './schema';
import { MessageParser } from './message';
import { compileCopyReady, type CopyReadyEncoder, type CopyReadyEvent } from './copy-ready';

export interface CopyReadyOptions {
  /** As DecoderOptions.topicPrefix: the table a topic's name gives. */
  topicPrefix: string;
  /** As DecoderOptions.unavailablePlaceholder; default '__debezium_unavailable_value'. */
  unavailablePlaceholder?: string;
  /** As DecoderOptions.binaryStringMode; default 'base64'. */
  binaryStringMode?: 'base64' | 'hex';
}

/** Debezium's headers on the delete + create pair of a primary-key change (read by the general path only). */
const KEY_CHANGE_HEADERS = ['__debezium.oldkey', '__debezium.newkey'];

interface Cached {
  readonly key: CompiledRow | null;
  readonly keyColumns: readonly string[] | undefined;
  readonly encoder: CopyReadyEncoder | null;
}

/**
 * Raw Kafka record → CopyReadyEvent, or null: "decode this record with the general Decoder"
 * (tombstones included: the general path returns null for them too). Parses like the Decoder
 * (compact JsonConverter split, schema compiled once per distinct bytes, exact re-parse when an
 * integer beyond 2^53 was rounded) and keeps one encoder per (value schema, key schema, key columns).
 */
export class CopyReadyDecoder {
  private readonly ctx: CodecContext;
  private readonly values: MessageParser<CompiledValue>;
  private readonly keys: MessageParser<CompiledRow>;
  private readonly encoders = new WeakMap<CompiledValue, Cached[]>();
  private readonly prefix: string;
  /** The table of each topic's name (tableFromTopic), computed once per topic; null: the name gives none. */
  private readonly topicTables = new Map<string, SourceTable | null>();

  constructor(opts: CopyReadyOptions) {
    if (typeof opts.topicPrefix !== 'string' || opts.topicPrefix.length === 0) {
      throw new TypeError('CopyReadyOptions.topicPrefix must be the non-empty Debezium topic.prefix');
    }
    this.prefix = opts.topicPrefix;
    this.ctx = codecContext(opts, 'CopyReadyOptions');
    this.values = new MessageParser((schema) => compileValue(schema, this.ctx));
    this.keys = new MessageParser((schema) => compileKey(schema, this.ctx));
  }

  /**
   * `keyColumns`: the columns the buffer merges on (the table's primary key); default the key
   * schema's fields, as `ev.keyColumns`. Pass the same array each time: encoders are kept per array.
   */
  decode(rec: RawRecord, keyColumns?: readonly string[]): CopyReadyEvent | null {
    if (rec.value === null) return null;
    const h = rec.headers;
    if (h !== undefined && (h[KEY_CHANGE_HEADERS[0]!] !== undefined || h[KEY_CHANGE_HEADERS[1]!] !== undefined)) return null;
    try {
      try {
        return this.attempt(rec, rec.value, keyColumns, false);
      } catch (e) {
        if (!(e instanceof InexactNumber)) throw e;
        return this.attempt(rec, rec.value, keyColumns, true);
      }
    } catch {
      // Anything unusual (a value that does not convert, not JSON, nested too deep): the general
      // path decodes it again and raises the error with the record's position.
      return null;
    }
  }

  /** The encoder records of this value schema, key schema and key columns use (null: the general path). */
  encoderFor(value: CompiledValue, key: CompiledRow | null, keyColumns?: readonly string[]): CopyReadyEncoder | null {
    let list = this.encoders.get(value);
    if (list === undefined) this.encoders.set(value, (list = []));
    for (const c of list) if (c.key === key && c.keyColumns === keyColumns) return c.encoder;
    const encoder = compileCopyReady(value, key, keyColumns ?? key?.names ?? [], this.ctx.placeholder);
    list.push({ key, keyColumns, encoder });
    return encoder;
  }

  private attempt(rec: RawRecord, value: Buffer, keyColumns: readonly string[] | undefined, exact: boolean): CopyReadyEvent | null {
    const v = this.values.parse(value, exact);
    if (v.compiled === null || v.payload === null) return null; // schemaless, or a tombstone with a schema
    const p = v.payload;
    if (typeof p !== 'object' || Array.isArray(p)) return null;
    let key: CompiledRow | null = null;
    let kp: unknown = null;
    if (rec.key !== null && rec.key.length > 0) {
      const k = this.keys.parse(rec.key, exact);
      key = k.compiled;
      kp = k.payload;
    }
    const enc = this.encoderFor(v.compiled, key, keyColumns);
    if (enc === null) return null;
    const bytes = (key === null && (rec.key === null || rec.key.length === 0) ? 0 : this.keys.lastBytes) + this.values.lastBytes;
    return enc.encode(p as Record<string, unknown>, kp, { pos: { topic: rec.topic, partition: rec.partition, offset: rec.offset }, bytes, topicTable: this.topicTable(rec.topic) });
  }

  private topicTable(topic: string): SourceTable | undefined {
    let t = this.topicTables.get(topic);
    if (t === undefined) {
      try {
        t = tableFromTopic(topic, this.prefix);
      } catch {
        t = null;
      }
      if (this.topicTables.size >= 4096) this.topicTables.clear();
      this.topicTables.set(topic, t);
    }
    return t ?? undefined;
  }
}
