/** The gzip codec registered with kafkajs: one output buffer of the batch's size, any gzip read. */
import { gzipSync } from 'node:zlib';
import { CompressionCodecs, CompressionTypes } from 'kafkajs';
import { gzipChunkSize, registerCompressionCodecs } from '../../../src/kafka/codecs';

interface Codec {
  compress(e: { buffer: Buffer }): Promise<Buffer>;
  decompress(b: Buffer): Promise<Buffer>;
}

function gzipCodec(): Codec {
  registerCompressionCodecs();
  return (CompressionCodecs as Record<number, () => Codec>)[CompressionTypes.GZIP]!();
}

const records = Buffer.from(JSON.stringify(Array.from({ length: 5000 }, (_, i) => ({ id: i, note: `row ${i}` }))));

describe('gzip codec', () => {
  it('sizes its one output chunk from the gzip trailer, one byte over', () => {
    expect(gzipChunkSize(gzipSync(records))).toBe(records.length + 1);
    expect(gzipChunkSize(gzipSync(Buffer.alloc(0)))).toBe(64); // zlib's smallest chunk
    expect(gzipChunkSize(Buffer.from('not gzip at all, long enough'))).toBeUndefined();
  });

  it('decompresses into one buffer holding exactly the records', async () => {
    const out = await gzipCodec().decompress(gzipSync(records));
    expect(out.equals(records)).toBe(true);
    expect(out.buffer.byteLength).toBe(records.length + 1);
  });

  it('reads what it compresses, and a stream of two gzip members (the trailer names the last only)', async () => {
    const codec = gzipCodec();
    expect((await codec.decompress(await codec.compress({ buffer: records }))).equals(records)).toBe(true);
    const two = Buffer.concat([gzipSync(records), gzipSync(Buffer.from('tail'))]);
    expect((await codec.decompress(two)).equals(Buffer.concat([records, Buffer.from('tail')]))).toBe(true);
  });
});
