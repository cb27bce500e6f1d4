/**
 * Which columns identify a row. The manifest's `primary_key` wins; otherwise the Debezium event
 * key. `merge` with neither would silently duplicate rows (the seed's troubleshooting row), so it
 * is refused before any row of that table is written.
 */
import { FatalError } from '../core/errors';
import type { ChangeEvent, TableRef } from '../core/types';
import type { SinkOptions } from '../config/types';

export function keyColumnsFor(ev: ChangeEvent, target: TableRef, sink: SinkOptions): readonly string[] {
  if (sink.primaryKey && sink.primaryKey.length > 0) return sink.primaryKey;
  if (ev.keyColumns.length > 0 || sink.strategy !== 'merge') return ev.keyColumns;
  throw new FatalError(
    `merge into ${target.schema}.${target.table} needs a primary key, but events from ` +
      `${ev.table.schema}.${ev.table.table} carry no key and the manifest declares none: merge would ` +
      'write duplicate rows over time. Add `primary_key` to the manifest\'s dataset spec ' +
      '(spec.sink.options.primary_key), or use incremental_strategy: append.',
  );
}
