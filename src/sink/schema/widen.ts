/**
 * Which type changes of an existing target column nilus applies itself (ALTER COLUMN … TYPE in
 * the flush's transaction), and the name of the variant column an incompatible value lands in
 * under `schema_change: variant`. Pure: the caller has the target's type (as format_type prints
 * it) and the type the events now carry (the codec's pgType, docs/types.md).
 *
 * A change is a widening only when every value the column holds keeps its value under the new
 * type (typeFits(old, new)) and the pair is one of the listed families; everything else is refused
 * and follows schema_change.
 */
import { FatalError } from '../../kernel/errors';
import { parseType, typeFits, type ParsedType } from './type-compat';

export type TypeChange =
  | { readonly kind: 'widen'; readonly from: string; readonly to: string }
  | { readonly kind: 'refused'; readonly from: string; readonly to: string; readonly reason: string };

const INTS = new Set(['smallint', 'integer', 'bigint']);
const PRECISION = new Set(['timestamp', 'timestamptz', 'time', 'timetz']);
/** What a string without a propagated source type arrives as, whatever its length was. */
const LENGTHLESS = new Set(['text', 'character varying']);

/** The families nilus widens within, by base types (arrays: the same rule on the element type). */
function family(from: ParsedType, to: ParsedType): boolean {
  if (INTS.has(from.base)) return INTS.has(to.base) || to.base === 'numeric';
  if (from.base === 'real') return to.base === 'double precision';
  if (from.base === 'numeric') return to.base === 'numeric';
  if (from.base === 'character varying') return to.base === 'character varying' || to.base === 'text';
  if (PRECISION.has(from.base)) return to.base === from.base;
  return false;
}

export const WIDENINGS =
  'smallint/integer → integer/bigint, integer/bigint → numeric wide enough, real → double precision, ' +
  'varchar(n) → varchar(m > n) or text, numeric(p,s) → a numeric holding every value, timestamp/timestamptz/time/timetz precision up';

/**
 * What to do when events carry `incoming` for a column typed `target` that cannot hold it
 * (typeFits(incoming, target) is false): widen the column to `incoming`, or refuse, with why.
 */
export function classifyChange(target: string, incoming: string, sourceType = true): TypeChange {
  const from = parseType(target);
  const to = parseType(incoming);
  const refused = (reason: string): TypeChange => ({ kind: 'refused', from: target, to: incoming, reason });
  if (from.array !== to.array) return refused('an array and a scalar type cannot be converted into each other');
  if (!sourceType && to.mods.length === 0 && (LENGTHLESS.has(to.base) || PRECISION.has(to.base)) && from.mods.length > 0) {
    return refused(
      `the events carry no length or precision for this column (Debezium sends a varchar(n) as a plain string and a timestamp(p) ` +
        `as a timestamp unless column.propagate.source.type covers the column), so ${incoming} is not known to be a change of the source column`,
    );
  }
  if (!family(from, to)) {
    return refused(`${target} → ${incoming} is not a widening nilus applies (it applies: ${WIDENINGS})`);
  }
  if (!typeFits(target, incoming)) {
    return refused(`${incoming} cannot hold every value the ${target} column holds, so altering the column could change or lose stored values`);
  }
  return { kind: 'widen', from: target, to: incoming };
}

/**
 * Nilus' (dlt's) data type names, used in variant column names (`price__v_text`), each with the
 * one type its variant column is created with, so values of related types (integer and bigint,
 * varchar(n) and text) share one variant column.
 */
const VARIANTS: Record<string, readonly [suffix: string, type: string]> = {
  text: ['text', 'text'], 'character varying': ['text', 'text'], character: ['text', 'text'],
  smallint: ['bigint', 'bigint'], integer: ['bigint', 'bigint'], bigint: ['bigint', 'bigint'],
  real: ['double', 'double precision'], 'double precision': ['double', 'double precision'],
  numeric: ['decimal', 'numeric'], boolean: ['bool', 'boolean'],
  timestamp: ['timestamp', 'timestamp'], timestamptz: ['timestamptz', 'timestamptz'], date: ['date', 'date'],
  time: ['time', 'time'], timetz: ['timetz', 'timetz'], bytea: ['binary', 'bytea'], json: ['json', 'jsonb'], jsonb: ['json', 'jsonb'],
};

/** PostgreSQL truncates longer identifiers, so two variants could silently share one column. */
const MAX_IDENT_BYTES = 63;

export interface Variant {
  /** `<column>__v_<type>`. */
  readonly name: string;
  /** The type the variant column is created with. */
  readonly type: string;
}

/** The variant column for values of type `incoming` of `column`; throws naming the column when the name would exceed 63 bytes. */
export function variantColumn(column: string, incoming: string): Variant {
  const t = parseType(incoming);
  const known = VARIANTS[t.base];
  const suffix = (known ? known[0] : t.base.replace(/[^a-z0-9]+/g, '_')) + (t.array ? '_array' : '');
  const type = known ? known[1] + (t.array ? '[]' : '') : incoming;
  const name = `${column}__v_${suffix}`;
  if (Buffer.byteLength(name) > MAX_IDENT_BYTES) {
    throw new FatalError(
      `the variant column ${name} for column "${column}" exceeds PostgreSQL's ${MAX_IDENT_BYTES}-byte identifier limit; ` +
        'rename the source column or set spec.sink.options.schema_change to stop or deadletter',
    );
  }
  return { name, type };
}

/** The variant columns of `column` among a target's column names. */
export function variantsOf(column: string, names: Iterable<string>): string[] {
  const prefix = `${column}__v_`;
  return [...names].filter((n) => n.startsWith(prefix));
}
