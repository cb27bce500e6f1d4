/**
 * Can a target column of type T hold every value of the incoming type I without loss?
 * Used to refuse incompatible schema changes before any row is written. Which of those nilus
 * widens itself (ALTER COLUMN … TYPE) is decided in ./widen.ts; the rest follow schema_change.
 */

export interface ParsedType {
  readonly base: string;
  readonly mods: readonly number[];
  readonly array: boolean;
}

const ALIASES: Record<string, string> = {
  int2: 'smallint', int: 'integer', int4: 'integer', int8: 'bigint', decimal: 'numeric',
  float4: 'real', float8: 'double precision', float: 'double precision', bool: 'boolean',
  varchar: 'character varying', char: 'character', bpchar: 'character',
  'timestamp without time zone': 'timestamp', 'timestamp with time zone': 'timestamptz',
  'time without time zone': 'time', 'time with time zone': 'timetz',
  'bit varying': 'varbit', serial: 'integer', bigserial: 'bigint', smallserial: 'smallint',
};

const KNOWN = new Set([
  'smallint', 'integer', 'bigint', 'numeric', 'real', 'double precision', 'boolean', 'text',
  'character varying', 'character', 'timestamp', 'timestamptz', 'time', 'timetz', 'date',
  'interval', 'bytea', 'uuid', 'json', 'jsonb', 'bit', 'varbit', 'inet', 'cidr', 'macaddr',
  'money', 'xml', 'point', 'oid', 'pg_lsn', 'tsvector',
]);

export function parseType(text: string): ParsedType {
  let s = text.trim().toLowerCase();
  let array = false;
  if (/\[\d*\]$/.test(s)) {
    array = true;
    s = s.replace(/(\[\d*\])+$/, '');
  }
  if (s.startsWith('_')) {
    array = true; // internal array names like _int4
    s = s.slice(1);
  }
  const mods: number[] = [];
  s = s.replace(/\(([^)]*)\)/g, (_m, inner: string) => {
    for (const p of inner.split(',')) mods.push(Number(p.trim()));
    return '';
  });
  s = s.replace(/\s+/g, ' ').trim();
  return { base: ALIASES[s] ?? s, mods, array };
}

const INT_RANK: Record<string, number> = { smallint: 1, integer: 2, bigint: 3 };
/** Decimal digits each integer type needs in a numeric(p,s) target. */
const INT_DIGITS: Record<string, number> = { smallint: 5, integer: 10, bigint: 19 };
const TIME_LIKE = new Set(['timestamp', 'timestamptz', 'time', 'timetz', 'interval']);
const LENGTH_LIKE = new Set(['character varying', 'character', 'bit', 'varbit']);

function numericFits(inc: ParsedType, tgt: ParsedType): boolean {
  if (tgt.mods.length === 0) return true;
  const [tp = 0, ts = 0] = tgt.mods;
  if (INT_DIGITS[inc.base] !== undefined) return tp - ts >= INT_DIGITS[inc.base]!;
  if (inc.base !== 'numeric' || inc.mods.length === 0) return false;
  const [ip = 0, is = 0] = inc.mods;
  return is <= ts && ip - is <= tp - ts;
}

function sameBaseFits(inc: ParsedType, tgt: ParsedType): boolean {
  if (inc.base === 'numeric') return numericFits(inc, tgt);
  if (LENGTH_LIKE.has(inc.base)) {
    if (tgt.mods.length === 0) return true;
    return inc.mods.length > 0 && inc.mods[0]! <= tgt.mods[0]!;
  }
  if (TIME_LIKE.has(inc.base)) {
    // Fractional-second precision: unspecified means 6 (the maximum).
    const ip = inc.mods[inc.mods.length - 1] ?? 6;
    const tp = tgt.mods[tgt.mods.length - 1] ?? 6;
    return ip <= tp;
  }
  return true;
}

/** True when a column typed `target` can store every value of type `incoming`. */
export function typeFits(incoming: string, target: string): boolean {
  const inc = parseType(incoming);
  const tgt = parseType(target);
  if (inc.array !== tgt.array) return false;
  if (inc.base === tgt.base) return sameBaseFits(inc, tgt);
  // Every value arrives as text, so an unbounded text column holds anything.
  if (tgt.base === 'text' || (tgt.base === 'character varying' && tgt.mods.length === 0)) return true;
  // A user-defined target type (enum, domain, extension type): PostgreSQL checks each value on COPY.
  if (!KNOWN.has(tgt.base)) return true;
  const ir = INT_RANK[inc.base];
  const tr = INT_RANK[tgt.base];
  if (ir !== undefined && tr !== undefined) return ir <= tr;
  if (ir !== undefined && tgt.base === 'numeric') return numericFits(inc, tgt);
  if (tgt.base === 'double precision') return inc.base === 'real' || inc.base === 'smallint' || inc.base === 'integer';
  if (tgt.base === 'real') return inc.base === 'smallint';
  if (tgt.base === 'jsonb' || tgt.base === 'json') return inc.base === 'json' || inc.base === 'jsonb';
  if (tgt.base === 'character varying' && inc.base === 'character') return inc.mods.length > 0 && inc.mods[0]! <= tgt.mods[0]!;
  return false;
}

/**
 * Type names are spliced into DDL unquoted (they may be `numeric(12,2)` or `timestamp(3) with
 * time zone`), so anything that is not plainly a type name is refused rather than trusted.
 */
const SAFE_TYPE =
  /^([A-Za-z_]\w*\.)?[A-Za-z_]\w*( precision| varying)?(\(\s*\d+\s*(,\s*\d+\s*)?\))?( with(out)? time zone)?(\[\d*\])*$/i;

export function assertSafeType(type: string, column: string): void {
  if (!SAFE_TYPE.test(type)) {
    throw new TypeError(`column "${column}": "${type}" is not a PostgreSQL type name nilus can use in DDL`);
  }
}
