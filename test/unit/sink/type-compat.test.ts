import { assertSafeType, parseType, typeFits } from '../../../src/sink/schema/type-compat';

describe('type compatibility', () => {
  it('parses aliases, modifiers and arrays', () => {
    expect(parseType('int4')).toEqual({ base: 'integer', mods: [], array: false });
    expect(parseType('numeric(12, 2)')).toEqual({ base: 'numeric', mods: [12, 2], array: false });
    expect(parseType('timestamp(3) without time zone')).toEqual({ base: 'timestamp', mods: [3], array: false });
    expect(parseType('character varying(20)[]')).toEqual({ base: 'character varying', mods: [20], array: true });
  });

  it.each([
    ['integer', 'integer'], ['int4', 'integer'], ['smallint', 'bigint'], ['integer', 'numeric'], ['integer', 'numeric(12,0)'],
    ['numeric(10,2)', 'numeric(12,2)'], ['character varying(10)', 'character varying(20)'], ['uuid', 'text'],
    ['timestamp(3)', 'timestamp without time zone'], ['real', 'double precision'], ['json', 'jsonb'],
    ['text', 'mood_enum'], ['integer[]', 'integer[]'],
  ])('%s fits a %s column', (inc, tgt) => {
    expect(typeFits(inc, tgt)).toBe(true);
  });

  it.each([
    ['bigint', 'integer'], ['text', 'integer'], ['numeric', 'numeric(12,2)'], ['numeric(14,2)', 'numeric(12,2)'],
    ['numeric(12,3)', 'numeric(12,2)'], ['character varying(30)', 'character varying(20)'], ['text', 'character varying(20)'],
    ['timestamptz', 'timestamp'], ['timestamp(6)', 'timestamp(3) without time zone'], ['double precision', 'real'],
    ['bigint', 'double precision'], ['integer[]', 'integer'], ['integer', 'numeric(5,0)'],
  ])('%s does not fit a %s column', (inc, tgt) => {
    expect(typeFits(inc, tgt)).toBe(false);
  });

  it('accepts type names for DDL and refuses anything that could smuggle SQL', () => {
    for (const ok of ['integer', 'numeric(12,2)', 'timestamp(3) with time zone', 'text[]', 'public.geometry', 'double precision']) {
      expect(() => assertSafeType(ok, 'c')).not.toThrow();
    }
    expect(() => assertSafeType('int); DROP TABLE x; --', 'c')).toThrow('column "c": "int); DROP TABLE x; --" is not a PostgreSQL type name');
    expect(() => assertSafeType("text DEFAULT 'x'", 'c')).toThrow();
    expect(() => assertSafeType('text PRIMARY KEY', 'c')).toThrow();
    expect(() => assertSafeType('character varying(20)', 'c')).not.toThrow();
  });
});
