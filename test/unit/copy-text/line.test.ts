import { appendRow } from '../../../src/copy-text/encode';
import { lineValues, rowOf } from '../../../src/copy-text/line';
import { CopyLine } from '../../../src/kernel/types';
import type { Row } from '../../../src/kernel/types';

describe('CopyLine: a held COPY line reads back as the row it was written from', () => {
  const names = ['id', 'a', 'b', 'c', 'd', 'e', 'f'];
  const rows: Row[] = [
    { id: '1', a: 'plain', b: null, c: '', d: '\\N', e: 'tab\there\nnew\rline\\back', f: '🎉 ünï' },
    { id: '2', a: '\\\\t', b: '\\', c: '\t', d: '\n\n', e: 'x\\Ny', f: null },
    { id: '3', a: null, b: null, c: null, d: null, e: null, f: null },
  ];

  it.each(rows.map((r) => [r.id, r]))('row %s', (_id, row) => {
    const line = appendRow('', row as Row, names);
    const back = rowOf(new CopyLine(line, names));
    expect({ ...back }).toEqual(row);
    expect(Object.keys(back)).toEqual(names);
    // and it writes the very same line again
    expect(appendRow('', back, names)).toBe(line);
  });

  it('a Row is returned as it is; a line with the wrong field count is refused', () => {
    const row: Row = { id: '1' };
    expect(rowOf(row)).toBe(row);
    expect(() => rowOf(new CopyLine('1\t2', ['id']))).toThrow(/2 fields for 1 columns/);
  });

  it('a column named __proto__ is an ordinary property', () => {
    const back = rowOf(new CopyLine('1\tx', ['id', '__proto__']));
    expect(Object.prototype.hasOwnProperty.call(back, '__proto__')).toBe(true);
    expect(back['__proto__']).toBe('x');
  });

  it('lineValues: a key line', () => {
    expect(lineValues('7\t\\N\ta\\tb')).toEqual(['7', null, 'a\tb']);
  });
});
