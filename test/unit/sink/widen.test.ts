import { classifyChange, variantColumn, variantsOf } from '../../../src/sink/schema/widen';
import { routeVariants } from '../../../src/sink/schema/variant';
import { typeFits } from '../../../src/sink/schema/type-compat';
import type { TargetInfo } from '../../../src/sink/catalog';
import type { ColumnSpec, TableBatch } from '../../../src/kernel/types';

describe('classifyChange: which type changes nilus widens itself', () => {
  // [target type as format_type prints it, type the events now carry]
  it.each([
    ['smallint', 'integer'],
    ['integer', 'bigint'],
    ['smallint', 'bigint'],
    ['integer', 'numeric'],
    ['bigint', 'numeric'],
    ['integer', 'numeric(12,2)'],
    ['bigint', 'numeric(19,0)'],
    ['real', 'double precision'],
    ['character varying(10)', 'character varying(20)'],
    ['character varying(10)', 'text'],
    ['character varying(10)', 'character varying'],
    ['numeric(10,2)', 'numeric(12,2)'],
    ['numeric(10,2)', 'numeric(12,4)'],
    ['numeric(10,2)', 'numeric'],
    ['timestamp(3) without time zone', 'timestamp'],
    ['timestamp(0) without time zone', 'timestamp(3)'],
    ['timestamp(3) with time zone', 'timestamptz'],
    ['time(0) without time zone', 'time'],
    ['integer[]', 'bigint[]'],
  ])('%s → %s is widened', (from, to) => {
    expect(typeFits(to, from)).toBe(false);
    expect(classifyChange(from, to)).toEqual({ kind: 'widen', from, to });
  });

  it.each([
    ['integer', 'text', /not a widening/],
    ['bigint', 'double precision', /not a widening/],
    ['integer', 'double precision', /not a widening/],
    ['bigint', 'numeric(12,2)', /cannot hold every value/],
    ['integer', 'numeric(9,0)', /cannot hold every value/],
    ['numeric(10,2)', 'numeric(10,4)', /cannot hold every value/],
    ['numeric', 'numeric(12,2)', /cannot hold every value/],
    ['numeric(10,2)', 'bigint', /not a widening/],
    ['double precision', 'real', /not a widening/],
    ['text', 'character varying(20)', /not a widening/],
    ['character(5)', 'text', /not a widening/],
    ['timestamp without time zone', 'timestamptz', /not a widening/],
    ['date', 'timestamp', /not a widening/],
    ['boolean', 'integer', /not a widening/],
    ['integer', 'integer[]', /array and a scalar/],
  ])('%s → %s is refused', (from, to, why) => {
    const c = classifyChange(from, to);
    expect(c.kind).toBe('refused');
    expect(c.kind === 'refused' && c.reason).toMatch(why);
  });
});

describe('classifyChange without the source column type (column.propagate.source.type off)', () => {
  it.each([
    ['character varying(10)', 'text'],
    ['character varying(10)', 'character varying'],
    ['timestamp(3) without time zone', 'timestamp'],
    ['time(0) without time zone', 'time'],
  ])('%s → %s is refused: the events carry no length or precision', (from, to) => {
    const c = classifyChange(from, to, false);
    expect(c.kind === 'refused' && c.reason).toMatch(/carry no length or precision.*column\.propagate\.source\.type/);
  });
  it.each([
    ['integer', 'bigint'],
    ['real', 'double precision'],
    ['numeric(10,2)', 'numeric(12,2)'],
    ['numeric(10,2)', 'numeric'],
    ['character varying(10)', 'character varying(20)'],
    ['timestamp(0) without time zone', 'timestamp(3)'],
  ])('%s → %s is still widened: the event type states it', (from, to) => {
    expect(classifyChange(from, to, false).kind).toBe('widen');
  });
});

describe('variant columns', () => {
  it('are named <col>__v_<type> with Nilus type names, one column per type family', () => {
    expect(variantColumn('price', 'text')).toEqual({ name: 'price__v_text', type: 'text' });
    expect(variantColumn('price', 'character varying(20)')).toEqual({ name: 'price__v_text', type: 'text' });
    expect(variantColumn('qty', 'integer')).toEqual({ name: 'qty__v_bigint', type: 'bigint' });
    expect(variantColumn('qty', 'double precision')).toEqual({ name: 'qty__v_double', type: 'double precision' });
    expect(variantColumn('qty', 'numeric(12,2)')).toEqual({ name: 'qty__v_decimal', type: 'numeric' });
    expect(variantColumn('flag', 'boolean')).toEqual({ name: 'flag__v_bool', type: 'boolean' });
    expect(variantColumn('doc', 'jsonb')).toEqual({ name: 'doc__v_json', type: 'jsonb' });
    expect(variantColumn('tags', 'text[]')).toEqual({ name: 'tags__v_text_array', type: 'text[]' });
    expect(variantColumn('ip', 'inet')).toEqual({ name: 'ip__v_inet', type: 'inet' });
  });
  it('refuses a name PostgreSQL would truncate, naming the column', () => {
    expect(() => variantColumn('c'.repeat(60), 'text')).toThrow(/"c{60}".*63-byte/);
  });
  it('finds the variants of a column', () => {
    expect(variantsOf('price', ['id', 'price', 'price__v_text', 'price__v_bigint', 'prices'])).toEqual(['price__v_text', 'price__v_bigint']);
  });
});

describe('routeVariants', () => {
  const spec = (name: string, pgType: string): ColumnSpec => ({ name, pgType, optional: true, connectType: 'string' });
  const info = (cols: [string, string][]): TargetInfo => {
    const columns = cols.map(([name, type]) => ({ name, type, notNull: false, hasDefault: false }));
    return { table: { schema: 's', table: 't' }, columns, byName: new Map(columns.map((c) => [c.name, c])), primaryKey: ['id'], uniqueKeys: [['id']], partitioned: false, partitionKey: [], partitionExpressions: 0 };
  };
  const oldCols = [spec('id', 'integer'), spec('price', 'numeric(10,2)')];
  const newCols = [spec('id', 'integer'), spec('price', 'text')];
  const batch = (rows: Record<string, unknown>[], per: ColumnSpec[][]): TableBatch =>
    ({
      target: { schema: 's', table: 't' }, strategy: 'merge', keyColumns: ['id'], columns: newCols, truncate: false,
      upserts: rows, upsertSource: [], deletes: [], deleteSource: [], events: [], upsertColumns: per,
    }) as unknown as TableBatch;

  it('lands a value of the new type in the variant column and one of the old type in the column, per row', () => {
    const b = routeVariants(batch([{ id: '1', price: '1.50' }, { id: '2', price: 'n/a' }], [oldCols, newCols]), info([['id', 'integer'], ['price', 'numeric(10,2)']]), ['id']);
    expect(b.columns.map((c) => [c.name, c.pgType])).toEqual([['id', 'integer'], ['price', 'numeric(10,2)'], ['price__v_text', 'text']]);
    expect(b.upserts).toEqual([{ id: '1', price: '1.50', price__v_text: null }, { id: '2', price: null, price__v_text: 'n/a' }]);
    // Routing a routed piece again (isolating a rejected row) changes nothing.
    const again = routeVariants(b, info([['id', 'integer'], ['price', 'numeric(10,2)'], ['price__v_text', 'text']]), ['id']);
    expect(again.upserts).toEqual(b.upserts);
  });

  it('never routes a key column, and leaves a batch alone when every type fits and no variant exists', () => {
    const keyChanged = { ...batch([{ id: 'x', price: '1' }], [[spec('id', 'text'), spec('price', 'numeric(10,2)')]]), columns: [spec('id', 'text'), spec('price', 'numeric(10,2)')] };
    const t = info([['id', 'integer'], ['price', 'numeric(10,2)']]);
    expect(routeVariants(keyChanged, t, ['id'])).toBe(keyChanged);
  });

  it('routes append events by each event\'s own columns, after and before alike', () => {
    const ev = (op: string, row: Record<string, unknown>, columns: ColumnSpec[]) => ({ op, after: op === 'd' ? null : row, before: op === 'd' ? row : null, columns });
    const b = {
      target: { schema: 's', table: 't' }, strategy: 'append', keyColumns: ['id'], columns: newCols, truncate: false,
      upserts: [], upsertSource: [], deletes: [], deleteSource: [],
      events: [ev('c', { id: '1', price: '1.50' }, oldCols), ev('c', { id: '2', price: 'n/a' }, newCols), ev('d', { id: '2', price: 'n/a' }, newCols)],
    } as unknown as TableBatch;
    const r = routeVariants(b, info([['id', 'integer'], ['price', 'numeric(10,2)']]), []);
    expect(r.columns.map((c) => c.name)).toEqual(['id', 'price', 'price__v_text']);
    expect(r.events.map((e) => e.after ?? e.before)).toEqual([
      { id: '1', price: '1.50', price__v_text: null }, { id: '2', price: null, price__v_text: 'n/a' }, { id: '2', price: null, price__v_text: 'n/a' },
    ]);
    expect(r.events[1]!.columns.map((c) => `${c.name} ${c.pgType}`)).toEqual(['id integer', 'price numeric(10,2)', 'price__v_text text']);
  });

  it('routes the kept rows of delete_mode soft by the batch\'s columns', () => {
    const b = { ...batch([], []), deletes: [{ id: '5' }], deleteRows: [{ id: '5', price: 'gone' }] } as unknown as TableBatch;
    const r = routeVariants(b, info([['id', 'integer'], ['price', 'numeric(10,2)']]), ['id']);
    expect(r.deleteRows).toEqual([{ id: '5', price: null, price__v_text: 'gone' }]);
    expect(r.deletes).toEqual([{ id: '5' }]);
  });

  it('clears existing variant columns for rows whose value fits again', () => {
    const b = { ...batch([{ id: '3', price: '2.00' }], [oldCols]), columns: oldCols };
    const r = routeVariants(b, info([['id', 'integer'], ['price', 'numeric(10,2)'], ['price__v_text', 'text']]), ['id']);
    expect(r.upserts).toEqual([{ id: '3', price: '2.00', price__v_text: null }]);
  });
});
