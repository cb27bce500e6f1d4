import { Router } from '../../../src/engine/route';

describe('Router', () => {
  it('sends every event to a fixed dest_table while only one source table is seen', () => {
    const r = new Router({ schema: 'analytics', table: 'orders_cdc' });
    expect(r.route({ schema: 'retail', table: 'orders' })).toEqual({ schema: 'analytics', table: 'orders_cdc' });
    expect(r.route({ schema: 'retail', table: 'orders' })).toEqual({ schema: 'analytics', table: 'orders_cdc' });
  });

  it('refuses a second source table for a fixed dest_table, naming both and the fix', () => {
    const r = new Router({ schema: 'analytics', table: 'orders_cdc' });
    r.route({ schema: 'retail', table: 'orders' });
    expect(() => r.route({ schema: 'retail', table: 'items' })).toThrow(/retail\.orders and retail\.items.*\{table\}/);
  });

  it('fills {schema} and {table} placeholders', () => {
    const r = new Router({ schema: 'mirror_{schema}', table: 'cdc_{table}' });
    expect(r.route({ schema: 'retail', table: 'items' })).toEqual({ schema: 'mirror_retail', table: 'cdc_items' });
    expect(r.route({ schema: 'hr', table: 'People' })).toEqual({ schema: 'mirror_hr', table: 'cdc_People' });
  });
});
