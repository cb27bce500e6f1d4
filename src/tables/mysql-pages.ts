/**
 * One running SELECT of a MySQL reader, its rows turned into COPY text pages as the packets
 * arrive (./mysql-copy.ts). The connection is paused whenever a page is full and resumed when the
 * next page is asked for, so the server blocks writing (TCP backpressure) while a page is written
 * to PostgreSQL and memory stays at about one page.
 *
 * mysql2 has no public hook for a row's raw packet: its Query command hands each row packet to
 * `this._rowParser.next(packet)`. The query's `_rowParser` is replaced (an accessor, so mysql2's own
 * assignment after the column definitions is ignored) by one that encodes the packet and returns a
 * marker. Every row mysql2 emits is checked to be that marker: should a mysql2 release stop going
 * through `_rowParser`, the read fails loudly instead of losing rows.
 */
import type { Connection, Query } from 'mysql2';
import type { CopyTextPage } from '../copy-text/page';
import { CopyPageWriter } from './mysql-copy';

/** What the replaced parser returns for each row (mysql2 emits it as the row). */
const ROW = Object.freeze({ encoded: true });

interface RowPacket {
  readonly buffer: Buffer;
  readonly offset: number;
}

export class CopyPump {
  destroyed = false;
  private ended = false;
  private error: Error | undefined;
  private waiter: (() => void) | undefined;
  private readonly page: CopyPageWriter;

  constructor(
    private readonly c: Connection,
    query: Query,
    encode: (src: Buffer, offset: number, w: CopyPageWriter) => void,
    private readonly pageRows: number,
    pageBytes: number,
  ) {
    this.page = new CopyPageWriter(pageBytes);
    const parser = {
      next: (packet: RowPacket): object => {
        if (this.error !== undefined || this.destroyed) return ROW;
        try {
          encode(packet.buffer, packet.offset, this.page);
        } catch (e) {
          this.fail(e as Error);
          return ROW;
        }
        if (this.page.rows >= this.pageRows) {
          this.c.pause();
          this.wake();
        }
        return ROW;
      },
    };
    Object.defineProperty(query, '_rowParser', { configurable: true, get: () => parser, set: () => undefined });
    query.on('result', (row: unknown) => {
      if (row !== ROW) this.fail(new Error('mysql2 handed a row past the COPY text encoder (its Query internals changed): refusing to lose rows'));
    });
    query.on('error', (e: Error) => this.fail(e));
    query.on('end', () => {
      this.ended = true;
      this.wake();
    });
  }

  /** The next page (whole lines, at most pageRows), or undefined after the last. */
  async next(): Promise<CopyTextPage | undefined> {
    for (;;) {
      if (this.error !== undefined) throw this.error;
      if (this.page.rows >= this.pageRows || (this.ended && this.page.rows > 0)) return this.page.take();
      if (this.ended) return undefined;
      const woken = new Promise<void>((resolve) => {
        this.waiter = resolve;
      });
      // resume() may hand over queued packets (rows, the end) at once: the waiter is set before.
      this.c.resume();
      await woken;
    }
  }

  /** Ends the read with `reason` (the caller cuts the connection). */
  destroy(reason?: Error): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.fail(reason ?? new Error('the read was stopped'));
  }

  private fail(e: Error): void {
    this.error ??= e;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}
