/**
 * A page of rows as COPY text (FORMAT text: tab-separated, `\N` for NULL, every line ending in a
 * newline): what a table source hands a batch run, streamed into `COPY … FROM STDIN` as it is.
 * A page always holds whole lines, so it can also be read back into rows (`pageRows`).
 */
import type { Row } from '../kernel/types';
import { CopyTextParser } from './parse';

export interface CopyTextPage {
  /** UTF-8 bytes of `rows` whole lines. */
  readonly text: Buffer;
  readonly rows: number;
}

/** The rows of a page, keyed by `columns` (the page's columns, in order). */
export function pageRows(page: CopyTextPage, columns: readonly string[]): Row[] {
  const parser = new CopyTextParser(columns);
  const rows = parser.push(page.text.toString('utf8'));
  parser.end();
  return rows;
}

/** Rows of each page, for consumers that need values (masks, variant routing). */
export async function* rowPages(pages: AsyncIterable<CopyTextPage>, columns: readonly string[]): AsyncGenerator<Row[]> {
  for await (const p of pages) yield pageRows(p, columns);
}
