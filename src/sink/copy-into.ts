/** Streams generated COPY text into a running `COPY … FROM STDIN` with backpressure. */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/** Runs `copySql` on `client` and feeds it `chunks`. Resolves with the row count PostgreSQL reports. */
export async function copyInto(client: PoolClient, copySql: string, chunks: Iterable<string>): Promise<number> {
  const sink = client.query(copyFrom(copySql));
  // pipeline() destroys both sides on error, which makes pg-copy-streams send CopyFail, so the
  // server aborts the COPY and the transaction is left in a clean failed state for ROLLBACK.
  await pipeline(Readable.from(chunks, { objectMode: false }), sink);
  return sink.rowCount;
}
