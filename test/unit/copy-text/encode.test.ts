import { appendRow, COPY_CHUNK_CHARS, copyChunks, copyField, unavailableMask } from '../../../src/copy-text/encode';
import { UNAVAILABLE } from '../../../src/kernel/types';

describe('COPY text encoder', () => {
  it('escapes backslash, tab, newline and carriage return', () => {
    expect(copyField('a\\b\tc\nd\re')).toBe('a\\\\b\\tc\\nd\\re');
    expect(copyField('\\x00ff')).toBe('\\\\x00ff');
  });

  it('passes plain values through unchanged', () => {
    expect(copyField('plain value, with "quotes" and ünïcödé')).toBe('plain value, with "quotes" and ünïcödé');
    expect(copyField('')).toBe('');
  });

  it('writes NULL as \\N and keeps the text "\\N" distinct from it', () => {
    expect(copyField(null)).toBe('\\N');
    expect(copyField(UNAVAILABLE)).toBe('\\N');
    expect(copyField(undefined)).toBe('\\N');
    expect(copyField('\\N')).toBe('\\\\N');
  });

  it('joins a row in column order with tabs', () => {
    expect(appendRow('x', { b: '2', a: '1', c: null }, ['a', 'b', 'c'])).toBe('x1\t2\t\\N');
  });

  it('lists the indexes of unavailable or absent columns, null when none', () => {
    const cols = ['id', 'a', 'b', 'c'];
    expect(unavailableMask({ id: '1', a: 'x', b: null, c: 'y' }, cols)).toBeNull();
    expect(unavailableMask({ id: '1', a: UNAVAILABLE, b: null }, cols)).toBe('1,3');
  });

  it('chunks large outputs and keeps every line whole and in order', () => {
    const n = 50_000;
    const chunks = [...copyChunks(n, (i, out) => out + String(i) + '\tvalue-' + i)];
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) {
      expect(c.endsWith('\n')).toBe(true);
      expect(c.length).toBeLessThan(COPY_CHUNK_CHARS + 100);
    }
    const lines = chunks.join('').split('\n');
    expect(lines.length).toBe(n + 1);
    expect(lines[0]).toBe('0\tvalue-0');
    expect(lines[n - 1]).toBe(`${n - 1}\tvalue-${n - 1}`);
    expect([...copyChunks(0, (_i, out) => out)]).toEqual([]);
  });
});
