/**
 * Kafka compression codecs beyond kafkajs's built-in gzip. Producers (Debezium's Kafka Connect
 * worker among them) commonly use snappy, lz4 or zstd; a consumer that cannot read them stops
 * with "compression not implemented". The consumer only ever decompresses; compress is provided
 * where a maintained library offers it (the dead-letter producer uses gzip or none).
 */
import { CompressionCodecs, CompressionTypes } from 'kafkajs';
import type * as Lz4 from 'lz4-napi';
import { decompress as zstdDecompress } from 'fzstd';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const SnappyCodec: () => unknown = require('kafkajs-snappy');

interface Encoder { buffer: Buffer }

/**
 * lz4-napi is a native module that keeps a handle for the life of the process once loaded; it is
 * loaded on the first lz4 batch only, so a worker that never meets lz4 never holds it.
 */
let lz4: typeof Lz4 | undefined;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const lz4Lib = (): typeof Lz4 => (lz4 ??= require('lz4-napi') as typeof Lz4);

const lz4Codec = () => ({
  async compress(encoder: Encoder): Promise<Buffer> {
    return lz4Lib().compressFrameSync(encoder.buffer);
  },
  // Kafka's LZ4 record batches are standard LZ4 frames (magic v2), which lz4-napi reads.
  async decompress(buffer: Buffer): Promise<Buffer> {
    return lz4Lib().decompressFrameSync(buffer);
  },
});

const zstdCodec = () => ({
  async compress(): Promise<Buffer> {
    throw new Error('zstd compression is not available for producing; use gzip or none');
  },
  async decompress(buffer: Buffer): Promise<Buffer> {
    const out = zstdDecompress(buffer);
    return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  },
});

let registered = false;

/** Registers snappy, lz4 and zstd with kafkajs. Idempotent. */
export function registerCompressionCodecs(): void {
  if (registered) return;
  const codecs = CompressionCodecs as Record<number, () => unknown>;
  codecs[CompressionTypes.Snappy] = SnappyCodec;
  codecs[CompressionTypes.LZ4] = lz4Codec;
  codecs[CompressionTypes.ZSTD] = zstdCodec;
  registered = true;
}
