/** Regressions found by the end-to-end fidelity tests (test/it/fidelity). */
import { codecFor } from '../../../src/decode/codecs/registry';
import type { CodecContext, FieldSchema } from '../../../src/decode/codecs/registry';

const ctx: CodecContext = {
  placeholder: '__debezium_unavailable_value',
  placeholderBase64: Buffer.from('__debezium_unavailable_value').toString('base64'),
  binaryStrings: 'base64',
};
const codec = (s: FieldSchema) => codecFor(s, ctx);
const b64 = (...bytes: number[]) => Buffer.from(bytes).toString('base64');

describe('io.debezium.data.Bits of an unconstrained varbit (length 2147483647)', () => {
  const varbit = codec({ type: 'bytes', name: 'io.debezium.data.Bits', parameters: { length: '2147483647' } });

  it('creates a plain bit varying column, not one beyond PostgreSQL\'s length limit', () => {
    expect(varbit.pgType).toBe('bit varying');
  });

  it('writes the value without padding it to 2^31 bits (which exhausted memory)', () => {
    expect(varbit.convert(b64(0x05))).toBe('101');
    // 19 bits 1010101010101010101 = 0x055555, little-endian bytes.
    expect(varbit.convert(b64(0x55, 0x55, 0x05))).toBe('1010101010101010101');
    expect(varbit.convert(b64(0x00))).toBe('0');
    expect(varbit.convert(b64())).toBe('');
  });

  it('still pads a bit(n) value to its declared length', () => {
    const bit8 = codec({ type: 'bytes', name: 'io.debezium.data.Bits', parameters: { length: '8' } });
    expect(bit8.pgType).toBe('bit varying(8)');
    expect(bit8.convert(b64(0x05))).toBe('00000101');
  });

  it('with the source type propagated, varbit(n) is not padded to its maximum', () => {
    const c = codec({
      type: 'bytes', name: 'io.debezium.data.Bits',
      parameters: { length: '20', '__debezium.source.column.type': 'VARBIT', '__debezium.source.column.length': '20' },
    });
    expect(c.pgType).toBe('varbit(20)');
    expect(c.convert(b64(0x05))).toBe('101');
  });
});

describe('io.debezium.time.Date infinity as Debezium 3.6 sends it', () => {
  const date = codec({ type: 'int32', name: 'io.debezium.time.Date' });

  it('maps the day counts seen for infinity / -infinity (outside PostgreSQL\'s date range)', () => {
    expect(date.convert(-622191234)).toBe('infinity');
    expect(date.convert(-625821272)).toBe('-infinity');
  });

  it('leaves real dates alone, including the range ends PostgreSQL accepts', () => {
    expect(date.convert(2932896)).toBe('9999-12-31');
    expect(date.convert(-165)).toBe('1969-07-20');
    expect(date.convert(-2440588)).toBe('4714-11-24 BC');
  });
});
