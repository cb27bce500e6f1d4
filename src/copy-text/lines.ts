/**
 * COPY text arriving in chunks cut anywhere (`COPY … TO STDOUT`) → pages of whole lines, at most
 * `pageRows` each. Pure; rows are counted by their line ends (a newline inside a value is always
 * written as `\n`, so every raw newline ends a row).
 */
import type { CopyTextPage } from './page';

const LF = 10;

export class LineChunks {
  /** Bytes of the page being filled (the last one may end inside a line). */
  private parts: Buffer[] = [];
  private rows = 0;
  /** Bytes of the last pushed chunk not yet looked at. */
  private pending: Buffer | undefined;

  constructor(private readonly pageRows: number) {}

  /** Takes a chunk; returns a full page when it completes one (then call next() until undefined). */
  push(chunk: Buffer): CopyTextPage | undefined {
    this.pending = chunk;
    return this.next();
  }

  /** The next full page from the chunk pushed last, or undefined when it holds no more. */
  next(): CopyTextPage | undefined {
    const c = this.pending;
    if (c === undefined) return undefined;
    for (let i = 0; ; ) {
      const nl = c.indexOf(LF, i);
      if (nl < 0) {
        if (c.length > 0) this.parts.push(c);
        this.pending = undefined;
        return undefined;
      }
      i = nl + 1;
      if (++this.rows === this.pageRows) {
        this.parts.push(c.subarray(0, i));
        this.pending = i < c.length ? c.subarray(i) : undefined;
        return this.take();
      }
    }
  }

  /** After the last chunk: the last page (undefined when empty); throws if the text ends inside a row. */
  end(): CopyTextPage | undefined {
    const last = this.parts[this.parts.length - 1];
    if (last !== undefined && last[last.length - 1] !== LF) {
      const tail = Buffer.concat(this.parts).toString('utf8');
      throw new Error(`COPY output ended inside a row: ${JSON.stringify(tail.slice(tail.lastIndexOf('\n') + 1).slice(0, 80))}`);
    }
    return this.rows > 0 ? this.take() : undefined;
  }

  private take(): CopyTextPage {
    const text = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    const page = { text, rows: this.rows };
    this.parts = [];
    this.rows = 0;
    return page;
  }
}
