import { CopyTextParser, unescapeField } from '../../../src/copy-text/parse';

describe('COPY text parsing', () => {
  it('undoes every escape PostgreSQL writes, and reads \\N as NULL', () => {
    expect(unescapeField('\\N')).toBeNull();
    expect(unescapeField('a\\tb\\nc\\rd\\\\e')).toBe('a\tb\nc\rd\\e');
    expect(unescapeField('\\b\\f\\v')).toBe('\b\f\v');
    expect(unescapeField('\\101\\x42')).toBe('AB');
    expect(unescapeField('plain')).toBe('plain');
    expect(unescapeField('')).toBe('');
  });

  it('keeps rows whole across chunk boundaries anywhere, including inside an escape', () => {
    const text = '1\tx\\ty\t\\N\n2\t\\\\\tz\n';
    for (let cut = 0; cut <= text.length; cut++) {
      const p = new CopyTextParser(['id', 'a', 'b']);
      const rows = [...p.push(text.slice(0, cut)), ...p.push(text.slice(cut))];
      p.end();
      expect(rows).toEqual([
        { id: '1', a: 'x\ty', b: null },
        { id: '2', a: '\\', b: 'z' },
      ]);
    }
  });

  it('refuses a row with the wrong field count and output that ends mid-row', () => {
    expect(() => new CopyTextParser(['a', 'b']).push('1\n')).toThrow(/1 fields, expected 2/);
    const p = new CopyTextParser(['a']);
    p.push('partial');
    expect(() => p.end()).toThrow(/ended inside a row/);
  });
});
