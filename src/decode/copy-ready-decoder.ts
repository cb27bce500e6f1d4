/**
 * The COPY-ready path alone (./copy-ready.ts), for the tests that prove it byte-identical to the
 * general path and for the benches: a Decoder's encoder output for every record it can encode,
 * null for the rest (tombstones included). The pipeline uses `Decoder.decodeForMerge`, which
 * parses once and falls back to the general path itself.
 */
import type { RawRecord } from '../core/types';
import type { CopyReadyEvent } from '../core/copy-line';
import type { CompiledRow, CompiledValue } from './schema';
import type { CopyReadyEncoder } from './copy-ready';
import { Decoder } from './index';

export interface CopyReadyOptions {
  /** As DecoderOptions.topicPrefix: the table a topic's name gives. */
  topicPrefix: string;
  /** As DecoderOptions.unavailablePlaceholder; default '__debezium_unavailable_value'. */
  unavailablePlaceholder?: string;
  /** As DecoderOptions.binaryStringMode; default 'base64'. */
  binaryStringMode?: 'base64' | 'hex';
}

export class CopyReadyDecoder {
  private readonly decoder: Decoder;

  constructor(opts: CopyReadyOptions) {
    this.decoder = new Decoder(opts);
  }

  /**
   * `keyColumns`: the columns the buffer merges on (the table's primary key); default the key
   * schema's fields, as `ev.keyColumns`. Pass the same array each time: encoders are kept per array.
   */
  decode(rec: RawRecord, keyColumns?: readonly string[]): CopyReadyEvent | null {
    return this.decoder.encodeOnly(rec, keyColumns);
  }

  /** The encoder records of this value schema, key schema and key columns use (null: the general path). */
  encoderFor(value: CompiledValue, key: CompiledRow | null, keyColumns?: readonly string[]): CopyReadyEncoder | null {
    return this.decoder.encoderFor(value, key, keyColumns);
  }
}
