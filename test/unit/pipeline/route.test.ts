import { Router } from '../../../src/pipeline/route';
import { Mutex } from '../../../src/core/lock';

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

describe('Mutex', () => {
  it('runs critical sections one at a time, in order', async () => {
    const m = new Mutex();
    const log: string[] = [];
    const slow = (name: string, ms: number) =>
      m.run(async () => {
        log.push(`${name}+`);
        await new Promise((r) => setTimeout(r, ms));
        log.push(`${name}-`);
      });
    await Promise.all([slow('a', 20), slow('b', 1), slow('c', 5)]);
    expect(log).toEqual(['a+', 'a-', 'b+', 'b-', 'c+', 'c-']);
  });

  it('releases the lock when a section throws', async () => {
    const m = new Mutex();
    await expect(m.run(async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    await expect(m.run(async () => 42)).resolves.toBe(42);
  });
});
