import { LineChunks } from '../../../src/copy-text/lines';
import { pageRows, type CopyTextPage } from '../../../src/copy-text/page';

function pagesOf(text: string, cuts: readonly number[], pageRows: number): CopyTextPage[] {
  const bytes = Buffer.from(text, 'utf8');
  const lines = new LineChunks(pageRows);
  const out: CopyTextPage[] = [];
  let at = 0;
  for (const end of [...cuts, bytes.length]) {
    for (let p = lines.push(bytes.subarray(at, end)); p !== undefined; p = lines.next()) out.push(p);
    at = end;
  }
  const last = lines.end();
  if (last) out.push(last);
  return out;
}

describe('COPY text chunks → pages of whole lines', () => {
  const text = Array.from({ length: 23 }, (_, i) => `${i}\tv\\t${i}\\n😀\t\\N\n`).join('');

  it('cuts pages of at most pageRows whole lines wherever the chunks were cut', () => {
    const bytes = Buffer.byteLength(text);
    for (const cuts of [[], [1], [5, 6, 7, 40], Array.from({ length: bytes - 1 }, (_, i) => i + 1)]) {
      for (const n of [1, 4, 23, 100]) {
        const pages = pagesOf(text, cuts, n);
        expect(pages.map((p) => p.rows)).toEqual(Array.from({ length: Math.ceil(23 / n) }, (_, i) => Math.min(n, 23 - i * n)));
        expect(Buffer.concat(pages.map((p) => p.text)).toString('utf8')).toBe(text);
        for (const p of pages) expect(p.text.toString('utf8').split('\n').length - 1).toBe(p.rows);
      }
    }
  });

  it('reads back as rows, and refuses text that ends inside a row', () => {
    const [page] = pagesOf('1\ta\\tb\n2\t\\N\n', [3], 10);
    expect(pageRows(page!, ['id', 'v'])).toEqual([{ id: '1', v: 'a\tb' }, { id: '2', v: null }]);
    expect(pagesOf('', [], 5)).toEqual([]);
    expect(() => pagesOf('1\ta\n2\tb', [], 5)).toThrow(/ended inside a row: "2\\tb"/);
  });
});
