/**
 * Kafka compression codecs beyond kafkajs's built-in gzip. Producers (Debezium's Kafka Connect
 * worker among them) commonly use snappy, lz4 or zstd; a consumer that cannot read them stops
 * with "compression not implemented". The consumer only ever decompresses; compress is provided
 * where a maintained library offers it (the dead-letter producer uses gzip or none).
 */
import { CompressionCodecs, CompressionTypes } from 'kafkajs';
import { compressFrameSync, decompressFrameSync } from 'lz4-napi';
import { decompress as zstdDecompress } from 'fzstd';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const SnappyCodec: () => unknown = require('kafkajs-snappy');

interface Encoder { buffer: Buffer }

const lz4Codec = () => ({
  async compress(encoder: Encoder): Promise<Buffer> {
    return compressFrameSync(encoder.buffer);
  },
  // Kafka's LZ4 record batches are standard LZ4 frames (magic v2), which lz4-napi reads.
  async decompress(buffer: Buffer): Promise<Buffer> {
    return decompressFrameSync(buffer);
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
