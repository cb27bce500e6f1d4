/**
 * Source table → destination table. `dest_table` names one table, or a pattern with `{schema}`
 * and/or `{table}` placeholders filled from the event's source table. Without a placeholder the
 * pipeline must only ever see one source table: a second one is an error, never a silent merge of
 * two tables into one.
 *
 * PostgreSQL keeps only the first 63 bytes of an identifier (NAMEDATALEN-1, UTF-8, cut on a
 * character boundary) and truncates longer names without an error. Two source tables whose
 * resolved names differ only after byte 63 would therefore land in one table; so would a source
 * table whose name resolves to the offsets table or the dead-letter table. The Router compares
 * names as PostgreSQL will see them and refuses such a collision with a FatalError before any row
 * of the second table is written (rule: no renaming, the operator chooses the fix).
 */
import { FatalError } from '../kernel/errors';
import { pgIdentifier, PG_MAX_IDENT_BYTES } from '../kernel/text';
import type { SourceTable, TableRef } from '../kernel/types';

const PLACEHOLDER = /\{(schema|table)\}/;

/** A table nilus writes itself (offsets, dead letters): no source table may resolve to it. */
export interface ReservedTable {
  readonly ref: TableRef;
  /** What it is and where it is configured, e.g. "the offsets table (spec.sink.options.state_schema)". */
  readonly role: string;
}

export interface RouterOptions {
  readonly reserved?: readonly ReservedTable[];
}

interface Claim {
  readonly source: string;
  readonly ref: TableRef;
}

const q = (s: string): string => `"${s.replace(/"/g, '""')}"`;
const show = (t: TableRef): string => `${q(t.schema)}.${q(t.table)}`;
/** The table as PostgreSQL stores it. Length-prefixed so no pair can spell another pair. */
const pgKey = (t: TableRef): string => {
  const s = pgIdentifier(t.schema);
  return `${s.length}:${s}.${pgIdentifier(t.table)}`;
};
const truncated = (t: TableRef): boolean => pgIdentifier(t.schema) !== t.schema || pgIdentifier(t.table) !== t.table;

export class Router {
  private readonly cache = new Map<string, TableRef>();
  private onlySource: string | undefined;
  private readonly templated: boolean;
  /** PostgreSQL's name of each target → which source table claimed it first. */
  private readonly claims = new Map<string, Claim>();
  private readonly reserved = new Map<string, ReservedTable>();

  constructor(private readonly dest: TableRef, opts: RouterOptions = {}) {
    this.templated = PLACEHOLDER.test(dest.schema) || PLACEHOLDER.test(dest.table);
    for (const r of opts.reserved ?? []) this.reserved.set(pgKey(r.ref), r);
  }

  /** The last source table routed and its destination: one topic is one table, so most events hit it. */
  private lastSource: SourceTable | undefined;
  private lastRef: TableRef | undefined;

  /** The destination of a source table. Throws FatalError when it collides (see the file comment). */
  route(src: SourceTable): TableRef {
    const last = this.lastSource;
    if (last !== undefined && last.table === src.table && last.schema === src.schema) return this.lastRef!;
    const ref = this.resolve(src);
    this.lastSource = src;
    this.lastRef = ref;
    return ref;
  }

  private resolve(src: SourceTable): TableRef {
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
      this.claim(id, this.dest);
      this.onlySource = id;
      this.cache.set(id, this.dest);
      return this.dest;
    }
    const fill = (s: string) => s.replace(/\{schema\}/g, src.schema).replace(/\{table\}/g, src.table);
    const ref = { schema: fill(this.dest.schema), table: fill(this.dest.table) };
    this.claim(id, ref);
    this.cache.set(id, ref);
    return ref;
  }

  /**
   * Routes every source table of a list (e.g. the topics found at start-up) so that a collision
   * among them stops the pipeline before any row is written. Returns the destinations in order.
   */
  check(sources: readonly SourceTable[]): TableRef[] {
    return sources.map((s) => this.route(s));
  }

  private claim(source: string, ref: TableRef): void {
    const key = pgKey(ref);
    const res = this.reserved.get(key);
    if (res) {
      throw new FatalError(
        `source table ${source} resolves to ${show(ref)}${truncated(ref) ? `, which PostgreSQL truncates to ${show({ schema: pgIdentifier(ref.schema), table: pgIdentifier(ref.table) })}` : ''}, ` +
          `the same table as ${res.role} ${show(res.ref)}: its rows would be written into nilus's own table. ` +
          `Change spec.sink.options.dest_table (e.g. a prefix: ${this.dest.schema}.src_{table}) or move ${res.role} elsewhere, then restart`,
      );
    }
    const prior = this.claims.get(key);
    if (prior === undefined) {
      this.claims.set(key, { source, ref });
      return;
    }
    if (prior.source === source) return;
    const pg = { schema: pgIdentifier(ref.schema), table: pgIdentifier(ref.table) };
    const cut = truncated(ref) || truncated(prior.ref);
    throw new FatalError(
      `source tables ${prior.source} and ${source} would land in the same PostgreSQL table: ` +
        (cut
          ? `${show(prior.ref)} and ${show(ref)} are both ${show(pg)} once PostgreSQL truncates each name part to ` +
            `${PG_MAX_IDENT_BYTES} bytes. Nothing of ${source} was written. Use a shorter dest_table pattern ` +
            `(spec.sink.options.dest_table, e.g. ${this.dest.schema}.{table} without a long prefix or suffix)`
          : `both resolve to ${show(ref)}. Nothing of ${source} was written. Make spec.sink.options.dest_table tell them apart ` +
            `(e.g. ${this.dest.schema.includes('{schema}') ? this.dest.schema : `${this.dest.schema}`}.{schema}_{table})`) +
        ` or exclude one of the tables (collection.exclude.list), then restart`,
    );
  }
}
