/**
 * The batch source: one PostgreSQL table read with COPY TO STDOUT, yielded in chunks of rows so
 * memory stays bounded whatever the table's size.
 */
import type { PoolClient } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { Row, TableRef } from '../core/types';
import { copyTableOutSql } from '../apply/sql/copyTableOut';
import { CopyTextParser } from './copy-text';

export async function* readTable(client: PoolClient, t: TableRef, columns: readonly string[], chunkRows: number): AsyncGenerator<Row[]> {
  const parser = new CopyTextParser(columns);
  const stream = client.query(copyTo(copyTableOutSql(t, columns)));
  stream.setEncoding('utf8');
  let pending: Row[] = [];
  for await (const chunk of stream as AsyncIterable<string>) {
    for (const r of parser.push(chunk)) pending.push(r);
    if (pending.length >= chunkRows) {
      yield pending;
      pending = [];
    }
  }
  parser.end();
  if (pending.length > 0) yield pending;
}
