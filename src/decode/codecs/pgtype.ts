/**
 * column.propagate.source.type: when the schema carries the source column's type, create the
 * column with it — but only for PostgreSQL types whose text form matches what our codecs emit
 * (a MySQL 'DATETIME' or a PostGIS type must not leak into DDL).
 */
const PLAIN = new Set([
  'int2', 'int4', 'int8', 'smallint', 'integer', 'bigint', 'float4', 'float8', 'real', 'double precision',
  'money', 'text', 'name', 'uuid', 'json', 'jsonb', 'xml', 'bytea', 'bool', 'boolean', 'date',
  'inet', 'cidr', 'macaddr', 'macaddr8', 'tsvector', 'tsquery', 'oid',
  'int4range', 'int8range', 'numrange', 'tsrange', 'tstzrange', 'daterange',
]);
const SERIAL: Record<string, string> = { serial: 'int4', bigserial: 'int8', smallserial: 'int2', serial4: 'int4', serial8: 'int8', serial2: 'int2' };
/** Types whose length parameter is a type modifier. */
const WITH_LENGTH = new Set(['varchar', 'bpchar', 'char', 'bit', 'varbit']);
/** Types whose scale parameter is a fractional-seconds precision. */
const WITH_PRECISION = new Set(['timestamp', 'timestamptz', 'time', 'timetz', 'interval']);
/** numeric(p,s): PostgreSQL reports unconstrained numeric with this length. */
const VARIABLE_NUMERIC_LENGTH = 131089;

function baseType(name: string, length?: string, scale?: string): string | undefined {
  const t = SERIAL[name] ?? name;
  if (PLAIN.has(t)) return t;
  const len = length === undefined ? NaN : Number(length);
  const sc = scale === undefined ? NaN : Number(scale);
  if (WITH_LENGTH.has(t)) {
    return Number.isInteger(len) && len > 0 && len < 10_485_760 ? `${t}(${len})` : t;
  }
  if (t === 'numeric' || t === 'decimal') {
    if (!Number.isInteger(len) || len <= 0 || len === VARIABLE_NUMERIC_LENGTH || len > 1000) return 'numeric';
    return `numeric(${len},${Number.isInteger(sc) ? sc : 0})`;
  }
  if (WITH_PRECISION.has(t)) return Number.isInteger(sc) && sc >= 0 && sc <= 6 ? `${t}(${sc})` : t;
  return undefined;
}

/** The source column type as a PostgreSQL type, or undefined when absent or not usable. */
export function sourcePgType(params: Readonly<Record<string, string>> | undefined): string | undefined {
  const raw = params?.['__debezium.source.column.type'];
  if (raw === undefined) return undefined;
  const name = raw.toLowerCase();
  const length = params!['__debezium.source.column.length'];
  const scale = params!['__debezium.source.column.scale'];
  // PostgreSQL array types are reported by their internal name: _int4, _text, …
  if (name.startsWith('_')) {
    const el = baseType(name.slice(1), length, scale);
    return el === undefined ? undefined : el + '[]';
  }
  return baseType(name, length, scale);
}
