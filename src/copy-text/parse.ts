/**
 * Parses PostgreSQL COPY text format (what `COPY … TO STDOUT` writes) back into rows of text
 * values — the same PgValue form the decoder produces, so batch rows flow through apply exactly
 * like change events. Pure and incremental: chunks may split lines and escapes anywhere.
 */
import type { Row } from '../kernel/types';

const ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' };

/** One field of COPY text: `\N` is NULL; backslash escapes (including octal and \x hex) undone. */
export function unescapeField(f: string): string | null {
  if (f === '\\N') return null;
  if (!f.includes('\\')) return f;
  let out = '';
  for (let i = 0; i < f.length; i++) {
    const c = f[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = f[++i] ?? '';
    if (n in ESCAPES) out += ESCAPES[n];
    else if (n >= '0' && n <= '7') {
      const m = /^[0-7]{1,3}/.exec(f.slice(i))![0];
      out += String.fromCharCode(parseInt(m, 8));
      i += m.length - 1;
    } else if (n === 'x' && /^[0-9a-fA-F]/.test(f[i + 1] ?? '')) {
      const m = /^[0-9a-fA-F]{1,2}/.exec(f.slice(i + 1))![0];
      out += String.fromCharCode(parseInt(m, 16));
      i += m.length;
    } else out += n; // any other escaped character stands for itself
  }
  return out;
}

export class CopyTextParser {
  private rest = '';

  constructor(private readonly columns: readonly string[]) {}

  /** Rows completed by this chunk; a trailing partial line waits for the next chunk. */
  push(chunk: string): Row[] {
    const text = this.rest + chunk;
    const lines = text.split('\n');
    this.rest = lines.pop()!;
    return lines.map((l) => this.row(l));
  }

  /** After the last chunk: COPY ends every row with a newline, so anything left is an error. */
  end(): void {
    if (this.rest.length > 0) throw new Error(`COPY output ended inside a row: ${JSON.stringify(this.rest.slice(0, 80))}`);
  }

  private row(line: string): Row {
    const fields = line.split('\t');
    if (fields.length !== this.columns.length) {
      throw new Error(`COPY row has ${fields.length} fields, expected ${this.columns.length}`);
    }
    const r: Row = {};
    for (let i = 0; i < fields.length; i++) r[this.columns[i]!] = unescapeField(fields[i]!);
    return r;
  }
}
