/**
 * Source table → destination table. `dest_table` names one table, or a pattern with `{schema}`
 * and/or `{table}` placeholders filled from the event's source table. Without a placeholder the
 * pipeline must only ever see one source table: a second one is an error, never a silent merge of
 * two tables into one.
 */
import { FatalError } from '../core/errors';
import type { SourceTable, TableRef } from '../core/types';

const PLACEHOLDER = /\{(schema|table)\}/;

export class Router {
  private readonly cache = new Map<string, TableRef>();
  private onlySource: string | undefined;
  private readonly templated: boolean;

  constructor(private readonly dest: TableRef) {
    this.templated = PLACEHOLDER.test(dest.schema) || PLACEHOLDER.test(dest.table);
  }

  route(src: SourceTable): TableRef {
    const id = `${src.schema}.${src.table}`;
    const hit = this.cache.get(id);
    if (hit) return hit;
    if (!this.templated) {
      if (this.onlySource !== undefined && this.onlySource !== id) {
        throw new FatalError(
          `events from two source tables (${this.onlySource} and ${id}) would land in ` +
            `${this.dest.schema}.${this.dest.table}: add a {table} placeholder to spec.sink.options.dest_table ` +
            `(e.g. ${this.dest.schema}.{table}) or narrow collection.include.list to one table`,
        );
      }
      this.onlySource = id;
      this.cache.set(id, this.dest);
      return this.dest;
    }
    const fill = (s: string) => s.replace(/\{schema\}/g, src.schema).replace(/\{table\}/g, src.table);
    const ref = { schema: fill(this.dest.schema), table: fill(this.dest.table) };
    this.cache.set(id, ref);
    return ref;
  }
}
