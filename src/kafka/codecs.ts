/**
 * Kafka compression codecs beyond kafkajs's built-in gzip, and gzip itself decompressed into one
 * buffer of its known size. Producers (Debezium's Kafka Connect worker among them) commonly use
 * snappy, lz4 or zstd; a consumer that cannot read them stops with "compression not implemented".
 * The consumer only ever decompresses; compress is provided where a maintained library offers it
 * (the dead-letter producer uses gzip or none).
 */
import { promisify } from 'node:util';
import { gzip, unzip, type ZlibOptions } from 'node:zlib';
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

const gzipAsync = promisify(gzip);
const unzipAsync = promisify<Buffer, ZlibOptions, Buffer>(unzip);

/** zlib's smallest output chunk; the largest one chunk is sized to (beyond it, zlib adds chunks). */
const MIN_CHUNK = 64;
const MAX_CHUNK = 64 * 1024 * 1024;

/**
 * The output chunk for a gzip member: its uncompressed size (the trailer's ISIZE, modulo 2^32)
 * plus one byte, so zlib fills one buffer of the right size and allocates no next one. kafkajs'
 * own codec decompresses in 16 KiB chunks and concatenates them: per record batch its output
 * twice over in short-lived buffers, and a round trip to zlib's thread per 16 KiB (a bench's
 * 800 KiB batch: 50 of each). A wrong ISIZE (a multi-member stream, a batch above 4 GiB) only
 * costs more chunks.
 */
export function gzipChunkSize(buffer: Buffer): number | undefined {
  if (buffer.length < 18 || buffer[0] !== 0x1f || buffer[1] !== 0x8b) return undefined;
  return Math.min(MAX_CHUNK, Math.max(MIN_CHUNK, buffer.readUInt32LE(buffer.length - 4) + 1));
}

const gzipCodec = () => ({
  async compress(encoder: Encoder): Promise<Buffer> {
    return gzipAsync(encoder.buffer);
  },
  async decompress(buffer: Buffer): Promise<Buffer> {
    const chunkSize = gzipChunkSize(buffer);
    return unzipAsync(buffer, chunkSize === undefined ? {} : { chunkSize });
  },
});

let registered = false;

/** Registers gzip, snappy, lz4 and zstd with kafkajs. Idempotent. */
export function registerCompressionCodecs(): void {
  if (registered) return;
  const codecs = CompressionCodecs as Record<number, () => unknown>;
  codecs[CompressionTypes.GZIP] = gzipCodec;
  codecs[CompressionTypes.Snappy] = SnappyCodec;
  codecs[CompressionTypes.LZ4] = lz4Codec;
  codecs[CompressionTypes.ZSTD] = zstdCodec;
  registered = true;
}
