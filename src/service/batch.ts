/**
 * The batch pipeline: a PostgreSQL source table into the destination, in ONE transaction.
 *  - replace: TRUNCATE, then every row: readers see the old content until COMMIT, then the new.
 *  - append:  every row added (no metadata columns: a batch row is not a change event).
 *  - merge:   upsert by primary key (manifest `primary_key`, else the source table's).
 * The destination is created from the source table's column types when missing (auto_create).
 */
import type { Pool } from 'pg';
import type { PipelineConfig } from '../config/types';
import type { CoreEmitter } from '../core/events';
import { ConfigError, FatalError } from '../core/errors';
import type { ColumnSpec, TableBatch, TableRef } from '../core/types';
import type { PgApplier } from '../apply';
import { describeTable } from '../apply/catalog';
import { tableName } from '../apply/sql/ident';
import { resolveDestTable, requirePrimaryKey } from '../config';
import { createPool } from '../connect/pg';
import { readTable } from '../source/pg-table';
import type { Logger } from '../observe/logger';

export interface BatchDeps {
  readonly pool: Pool;
  readonly applier: PgApplier;
  readonly emitter: CoreEmitter;
  readonly log: Logger;
}

export async function runBatch(cfg: PipelineConfig, deps: BatchDeps): Promise<void> {
  const src = cfg.batch;
  if (!src) throw new FatalError('a batch pipeline needs spec.source.options.source_table');
  const started = Date.now();
  const sourcePool = await createPool(src.connection, 1);
  try {
    const info = await describeTable(sourcePool, src.sourceTable);
    if (!info) {
      throw new ConfigError([{ path: 'spec.source.options.source_table', message: `source table ${tableName(src.sourceTable)} does not exist (or the user cannot see it): check the name and the user's SELECT privilege` }]);
    }
    const target = resolveDestTable(cfg.sink.options.destTable, src.sourceTable);
    const columns: ColumnSpec[] = info.columns.map((c) => ({ name: c.name, pgType: c.type, optional: !c.notNull, connectType: 'string' }));
    const strategy = cfg.sink.options.strategy;
    const keys = strategy === 'merge' ? requirePrimaryKey(cfg, info.primaryKey, src.sourceTable) : [];
    const names = columns.map((c) => c.name);
    const client = await sourcePool.connect();
    let rows: number;
    try {
      // One snapshot of the source for the whole read.
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const chunks = readTable(client, src.sourceTable, names, cfg.buffer.maxRows);
      rows = await deps.applier.applyAll(toBatches(chunks, target, strategy, keys, columns));
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    deps.log.info({ source: tableName(src.sourceTable), target: tableName(target), strategy, rows, seconds: (Date.now() - started) / 1000 }, 'batch load committed');
  } finally {
    await sourcePool.end();
  }
}

async function* toBatches(
  chunks: AsyncIterable<import('../core/types').Row[]>,
  target: TableRef,
  strategy: 'replace' | 'append' | 'merge',
  keys: readonly string[],
  columns: readonly ColumnSpec[],
): AsyncGenerator<TableBatch> {
  let first = true;
  const none: never[] = [];
  for await (const rows of chunks) {
    yield batchOf(rows, first);
    first = false;
  }
  // An empty source still replaces: the target ends empty.
  if (first && strategy === 'replace') yield batchOf([], true);

  function batchOf(rows: import('../core/types').Row[], isFirst: boolean): TableBatch {
    return {
      target,
      // append in batch mode copies rows as they are, which is what the replace path does without TRUNCATE
      strategy: strategy === 'merge' ? 'merge' : 'replace',
      keyColumns: keys,
      columns,
      truncate: strategy === 'replace' && isFirst,
      upserts: rows,
      upsertSource: rows.map(() => ({})),
      deletes: none,
      deleteSource: none,
      events: none,
    };
  }
}
