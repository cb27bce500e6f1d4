/**
 * decode: one raw Kafka record → one typed ChangeEvent (or null for a tombstone).
 * Hot path: each distinct schema text is parsed and compiled once (cached), only the payload is
 * parsed per message, and converters are plain functions chosen at compile time.
 */
import type { ChangeEvent, ColumnSpec, RawRecord, Row, SourceTable } from '../kernel/types';
import { DataError } from '../kernel/errors';
import { safeText } from '../kernel/text';
import type { CodecContext } from './codecs/registry';
import { codecContext, ConvertError } from './codecs/registry';
import { InexactNumber } from './codecs/types';
import type { CompiledRow, CompiledValue } from './schema';
import { compileKey, compileValue, decodeRow, ROUTER_KEY_FIELD } from './schema';
import { MessageParser, type Parsed } from './message';
import { compileCopyReady, type CopyReadyEncoder } from './copy-ready';
import { holdsAsLine } from '../copy-text/line';
import { type CopyReadyEvent } from '../kernel/types';
import { protectBigInts } from './json';
import { inferRow, ShapeCache } from './infer';
import { isMongoStyleKey, mongoKey } from './mongo';
import { isKeyChange, NEW_KEY_HEADER, OLD_KEY_HEADER, wireHint } from './record';
import { tableFromTopic } from './source';
import { Bodies, type Body, type Payload } from './body';
import { ColumnPolicy, type ColumnRules } from '../kernel/column-policy';
import { ColumnFilter } from './column-filter';

export interface DecoderOptions {
  /** Debezium topic.prefix; topics are <prefix>.<schema>.<table> (prefix may contain dots). */
  topicPrefix: string;
  /** MongoDB documents: top-level columns, or one jsonb column "doc"; default 'flatten'. */
  mongoMode?: 'flatten' | 'jsonb';
  /** default '__debezium_unavailable_value' */
  unavailablePlaceholder?: string;
  /** How bytea values sent as Connect strings are encoded (binary.handling.mode); default 'base64'. */
  binaryStringMode?: 'base64' | 'hex';
  /** spec.sink.options.columns: what lands of each row (./column-filter.ts); unset: every column as sent. */
  columns?: ColumnRules;
}

const NO_KEY: readonly string[] = Object.freeze([]);

interface KeyPart {
  readonly key: Row | null;
  readonly keyColumns: readonly string[];
  /** Key columns when the key came from a MongoDB key (for deletes without a document). */
  readonly mongoColumns?: readonly ColumnSpec[];
  /** The key's compiled schema, to read a key-change header with. */
  readonly compiled?: CompiledRow;
  /** The key carried ByLogicalTableRouter's field: the topic, not the source block, names the (logical) table. */
  readonly routed?: boolean;
}

/** A record's value and key as parsed once by decodeForMerge, with their accounted bytes. */
interface PreParsed {
  readonly value: Parsed<CompiledValue>;
  readonly valueBytes: number;
  /** null: the record has no key. */
  readonly key: Parsed<CompiledRow> | null;
  readonly keyBytes: number;
}

export class Decoder {
  private readonly ctx: CodecContext;
  private readonly prefix: string;
  private readonly values: MessageParser<CompiledValue>;
  private readonly keys: MessageParser<CompiledRow>;
  private readonly shapes = new ShapeCache();
  private readonly bodies: Bodies;
  /** COPY-ready encoders per (value schema, key schema, key columns); null: that schema takes the general path. */
  private readonly encoders = new WeakMap<CompiledValue, { key: CompiledRow | null; keyColumns: readonly string[] | undefined; encoder: CopyReadyEncoder | null }[]>();
  /** The table of each topic's name, once per topic; null: the name gives none. */
  private readonly topicTables = new Map<string, SourceTable | null>();
  private readonly filter: ColumnFilter | undefined;

  constructor(opts: DecoderOptions) {
    if (typeof opts.topicPrefix !== 'string' || opts.topicPrefix.length === 0) {
      throw new TypeError('DecoderOptions.topicPrefix must be the non-empty Debezium topic.prefix');
    }
    const mode = opts.mongoMode ?? 'flatten';
    if (mode !== 'flatten' && mode !== 'jsonb') throw new TypeError(`DecoderOptions.mongoMode must be 'flatten' or 'jsonb', got '${String(mode)}'`);
    this.prefix = opts.topicPrefix;
    this.ctx = codecContext(opts, 'DecoderOptions');
    this.bodies = new Bodies(this.ctx.placeholder, this.shapes, mode);
    const filter = (this.filter = ColumnPolicy.active(opts.columns) ? new ColumnFilter(opts.columns) : undefined);
    this.values = new MessageParser(filter ? (schema) => filter.value(compileValue(schema, this.ctx)) : (schema) => compileValue(schema, this.ctx));
    this.keys = new MessageParser((schema) => compileKey(schema, this.ctx));
  }

  /** null for a tombstone (null value). Throws DataError naming topic/partition/offset and what is wrong. */
  decode(rec: RawRecord): ChangeEvent | null {
    if (rec.value === null) return null;
    try {
      return this.attempt(rec, rec.value, false);
    } catch (e) {
      if (!(e instanceof InexactNumber)) throw e;
      // Rare: an integer beyond 2^53 was rounded by JSON.parse; decode again keeping it as text.
      return this.attempt(rec, rec.value, true);
    }
  }

  /**
   * merge: the record parsed once, then, when the merge buffer can hold it as its COPY line
   * (copy-text/line.ts `holdsAsLine`), the COPY-ready encoder's event (src/decode/copy-ready.ts);
   * otherwise the general path's ChangeEvent from the same parsed payloads, errors as `decode`.
   * `keyColumns`: the declared primary key (default: the Kafka key's columns, as `ev.keyColumns`);
   * pass the same array each time, encoders are kept per array.
   */
  decodeForMerge(rec: RawRecord, keyColumns?: readonly string[]): ChangeEvent | CopyReadyEvent | null {
    if (rec.value === null) return null;
    try {
      return this.mergeAttempt(rec, rec.value, keyColumns, false);
    } catch (e) {
      if (!(e instanceof InexactNumber)) throw e;
      return this.mergeAttempt(rec, rec.value, keyColumns, true);
    }
  }

  /**
   * The COPY-ready encoder's event for any record it can encode, whether or not the buffer holds
   * it as a line; null when it cannot (tests and benches compare it with the general path). Never
   * throws for a record: the general path raises the errors.
   */
  encodeOnly(rec: RawRecord, keyColumns?: readonly string[]): CopyReadyEvent | null {
    if (rec.value === null) return null;
    try {
      try {
        return this.encodeAttempt(rec, rec.value, keyColumns, false);
      } catch (e) {
        if (!(e instanceof InexactNumber)) throw e;
        return this.encodeAttempt(rec, rec.value, keyColumns, true);
      }
    } catch {
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

  private mergeAttempt(rec: RawRecord, value: Buffer, keyColumns: readonly string[] | undefined, exact: boolean): ChangeEvent | CopyReadyEvent | null {
    // A primary-key change (Debezium's key headers) needs the general path's old-key handling.
    const pre = isKeyChange(rec) ? null : this.parseOnce(rec, value, exact);
    // null: a key change, or not JSON, nested too deep…: the general path parses and says what is wrong.
    if (pre === null) return this.attempt(rec, value, exact);
    const fe = this.encodeParsed(rec, pre, keyColumns, exact);
    return fe !== null && holdsAsLine(fe) ? fe : this.attempt(rec, value, exact, pre);
  }

  private encodeAttempt(rec: RawRecord, value: Buffer, keyColumns: readonly string[] | undefined, exact: boolean): CopyReadyEvent | null {
    const pre = isKeyChange(rec) ? null : this.parseOnce(rec, value, exact);
    return pre === null ? null : this.encodeParsed(rec, pre, keyColumns, exact);
  }

  /** Value and key parsed, with their accounted bytes; null when either does not parse. */
  private parseOnce(rec: RawRecord, value: Buffer, exact: boolean): PreParsed | null {
    try {
      const v = this.values.parse(value, exact);
      const valueBytes = this.values.lastBytes;
      const hasKey = rec.key !== null && rec.key.length > 0;
      const k = hasKey ? this.keys.parse(rec.key!, exact) : null;
      return { value: v, valueBytes, key: k, keyBytes: hasKey ? this.keys.lastBytes : 0 };
    } catch {
      return null;
    }
  }

  /** The encoder's event from parsed payloads; null: none for this schema, or it cannot (the general path decides). */
  private encodeParsed(rec: RawRecord, pre: PreParsed, keyColumns: readonly string[] | undefined, exact: boolean): CopyReadyEvent | null {
    const { compiled, payload } = pre.value;
    if (compiled === null || payload === null || typeof payload !== 'object' || Array.isArray(payload)) return null;
    this.filter?.checkKey(keyColumns ?? pre.key?.compiled?.names ?? NO_KEY, `topic ${rec.topic}`);
    const enc = this.encoderFor(compiled, pre.key?.compiled ?? null, keyColumns);
    const topicTable = this.topicTable(rec.topic);
    const routed = pre.key?.compiled?.routed === true; // the logical table is the topic's (see KeyPart.routed)
    if (enc === null || (routed && topicTable === undefined)) return null;
    try {
      const ev = enc.encode(payload as Payload, pre.key?.payload ?? null, { pos: { topic: rec.topic, partition: rec.partition, offset: rec.offset }, bytes: pre.keyBytes + pre.valueBytes, topicTable });
      return routed && ev !== null ? { ...ev, table: topicTable! } : ev;
    } catch (e) {
      if (e instanceof InexactNumber && !exact) throw e; // decoded again keeping big integers exact
      return null; // a value that does not convert: the general path raises it with its position
    }
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

  /** `pre`: the value and key parsed already (decodeForMerge); else they are parsed here. */
  private attempt(rec: RawRecord, value: Buffer, exact: boolean, pre?: PreParsed): ChangeEvent | null {
    const where = { topic: rec.topic, partition: rec.partition, offset: rec.offset };
    let stage = 'value';
    try {
      const body = this.decodeValue(value, exact, pre?.value);
      if (body === null) return null;
      const valueBytes = pre ? pre.valueBytes : this.values.lastBytes;
      stage = 'key';
      const k = this.decodeKey(rec.key, body, exact, pre ? pre.key : undefined);
      const keyBytes = pre ? pre.keyBytes : rec.key === null || rec.key.length === 0 ? 0 : this.keys.lastBytes;
      stage = 'event';
      const table = (k.routed ? undefined : body.table) ?? tableFromTopic(rec.topic, this.prefix);
      const columns = body.columns.length === 0 && k.mongoColumns ? k.mongoColumns : body.columns;
      const before = body.before === null && body.op === 'd' && k.mongoColumns ? k.key : body.before;
      if (this.filter) this.filter.checkKey(k.keyColumns, `topic ${rec.topic}`);
      const ev: ChangeEvent = {
        pos: where,
        table,
        op: body.op,
        key: k.key,
        keyColumns: k.keyColumns,
        before,
        after: body.after,
        columns,
        source: body.source,
        bytes: keyBytes + valueBytes,
      };
      const landed = this.filter ? this.filter.event(ev) : ev;
      return rec.headers === undefined ? landed : this.keyChange(landed, rec.headers, k, exact);
    } catch (e) {
      if (e instanceof ConvertError) throw new DataError(`cannot decode ${stage}: ${safeText(e.message)}`, where, { cause: e });
      if (e instanceof SyntaxError) {
        const bytes = stage === 'key' ? rec.key : value;
        throw new DataError(`${stage} is not valid JSON: ${safeText(e.message)}${bytes ? wireHint(bytes) : ''}`, where, { cause: e });
      }
      if (e instanceof RangeError && /call stack/i.test(e.message)) {
        // A value nested deeper than the stack allows (JSON.parse copes, turning it into jsonb does
        // not): a record that can never apply, not a fault of the worker.
        throw new DataError(`cannot decode ${stage}: it is nested too deeply to convert (e.g. jsonb nested thousands of levels)`, where, { cause: e });
      }
      if (e instanceof InexactNumber && exact) {
        throw new DataError(`cannot decode ${stage}: an integer beyond 2^53 written as a float (exponent or fraction)`, where, { cause: e });
      }
      throw e;
    }
  }

  /**
   * A primary-key change arrives as a delete of the old key (header `__debezium.newkey`) and a
   * create of the new one (header `__debezium.oldkey`, the old key's payload as JSON). The create
   * learns its old key so unchanged-TOAST values can be carried over; a header that cannot be read
   * as this key is ignored (apply then counts the row's unknown values instead of guessing).
   */
  private keyChange(ev: ChangeEvent, headers: Readonly<Record<string, unknown>>, k: KeyPart, exact: boolean): ChangeEvent {
    if (ev.op === 'd') return headers[NEW_KEY_HEADER] === undefined ? ev : { ...ev, moving: true };
    if (ev.op !== 'c' && ev.op !== 'u' && ev.op !== 'r') return ev;
    const h = headers[OLD_KEY_HEADER];
    if (h === undefined || h === null) return ev;
    const text = Array.isArray(h) ? String(h[0]) : String(h);
    try {
      const payload: unknown = JSON.parse(exact ? protectBigInts(text) : text);
      const movedFrom = k.compiled
        ? decodeRow(k.compiled, payload, this.ctx.placeholder, 'old key')
        : inferRow(payload as Payload, this.shapes, this.ctx.placeholder, false).row;
      return { ...ev, movedFrom };
    } catch {
      return ev;
    }
  }

  private decodeValue(buf: Buffer, exact: boolean, parsed?: Parsed<CompiledValue>): Body | null {
    const { compiled, payload } = parsed ?? this.values.parse(buf, exact);
    if (payload === null) return null; // tombstone written with a schema envelope
    if (typeof payload !== 'object' || Array.isArray(payload)) {
      throw new ConvertError(`expected a JSON object (Debezium envelope or row), got ${Array.isArray(payload) ? 'an array' : typeof payload}`);
    }
    return this.bodies.dispatch(payload as Payload, compiled ?? undefined, exact);
  }

  /** `parsed`: the key parsed already (null: no key); undefined: parse it here. */
  private decodeKey(buf: Buffer | null, body: Body, exact: boolean, parsed?: Parsed<CompiledRow> | null): KeyPart {
    if (buf === null || buf.length === 0) return { key: null, keyColumns: NO_KEY };
    const { compiled, payload } = parsed ?? this.keys.parse(buf, exact);
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return { key: null, keyColumns: NO_KEY };
    if (body.mongo === true || isMongoStyleKey(payload as Payload, body.columns)) {
      const m = mongoKey(payload, this.shapes, exact);
      if (m !== null) return { key: m.row, keyColumns: ['_id'], mongoColumns: m.columns };
    }
    if (compiled) return { key: decodeRow(compiled, payload, this.ctx.placeholder, 'key'), keyColumns: compiled.names, compiled, routed: compiled.routed === true };
    const { [ROUTER_KEY_FIELD]: routedFrom, ...rest } = payload as Payload;
    const r = inferRow(rest, this.shapes, this.ctx.placeholder, false);
    return { key: r.row, keyColumns: r.columns.map((c) => c.name), routed: routedFrom !== undefined };
  }
}
