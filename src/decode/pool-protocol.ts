/**
 * What crosses the thread boundary between DecodePool (pool.ts) and its threads (pool-worker.ts).
 * Per batch one request and one reply; flat arrays, no object per record but the source info.
 */
import type { ColumnSpec, SourceInfo, SourceTable } from '../kernel/types';

/** Per record four Int32s in `meta`: key start, key length, value start, value length (-1: none / not sent). */
export const META_FIELDS = 4;

/** The batches fetched in one go, sent in one message. */
export interface DecodeRequest {
  readonly parts: readonly RequestPart[];
  /** Every sent key and value of every part, back to back (transferred, not copied). */
  readonly data: ArrayBuffer;
  /** META_FIELDS Int32s per record of every part, parts in order. */
  readonly meta: Int32Array;
}

/** A thread's answer to one request: a reply per part, and the request's buffer handed back for reuse. */
export interface DecodeResponse {
  readonly replies: readonly DecodeReply[];
  readonly data: ArrayBuffer;
}

export interface RequestPart {
  readonly id: number;
  readonly topic: string;
  readonly partition: number;
  readonly count: number;
}

/** What a record became in the thread: Main — the main thread decodes it (not sent, general path, or an error it reports); Upsert — a row held as its COPY line; Delete — a delete held as its key line. */
export const Kind = { Main: 0, Upsert: 1, Delete: 2 } as const;

export interface DecodeReply {
  readonly id: number;
  readonly kinds: Uint8Array;
  /** One op character per record (' ' where kind is Main). */
  readonly ops: string;
  readonly keys: (string | undefined)[];
  readonly lines: (string | undefined)[];
  readonly bytes: Uint32Array;
  readonly descs: Int32Array;
  readonly tables: Int32Array;
  readonly sources: (SourceInfo | undefined)[];
  /** Descriptors and tables first used in this batch (ids are per thread). */
  readonly newDescs: readonly WireDesc[];
  readonly newTables: readonly (readonly [number, SourceTable])[];
}

/** One encoder's column set: what the buffer compares by identity, so the main thread keeps one array per content. */
export interface WireDesc {
  readonly id: number;
  readonly columns: readonly ColumnSpec[];
  readonly names: readonly string[];
  readonly keyColumns: readonly string[];
}

export interface WorkerInit {
  readonly decoder: {
    readonly topicPrefix: string;
    readonly mongoMode?: 'flatten' | 'jsonb';
    readonly unavailablePlaceholder?: string;
    readonly binaryStringMode?: 'base64' | 'hex';
  };
  readonly keyColumns?: readonly string[];
}
