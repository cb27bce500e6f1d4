import { withPartitionRouting, type PartitionedTable } from '../../../src/managed/partitions';

const ORDERS: PartitionedTable = { schema: 'shop', table: 'orders', partitions: [{ schema: 'shop', table: 'orders_2024' }, { schema: 'shop', table: 'orders_2025' }] };
const EVENTS: PartitionedTable = { schema: 'shop', table: 'events', partitions: [{ schema: 'arch', table: 'events$old' }] };
const base = { 'topic.prefix': 'pg.main', 'table.include.list': 'shop.orders' };

describe('withPartitionRouting', () => {
  it('routes a captured partitioned table to its own topic and captures its partitions', () => {
    expect(withPartitionRouting(base, [ORDERS, EVENTS])).toEqual({
      ...base,
      'table.include.list': 'shop.orders,shop\\.orders_2024,shop\\.orders_2025',
      transforms: 'nilus_partitions_0',
      'transforms.nilus_partitions_0.type': 'io.debezium.transforms.ByLogicalTableRouter',
      'transforms.nilus_partitions_0.topic.regex': 'pg\\.main\\.(?:shop\\.orders_2024|shop\\.orders_2025)',
      'transforms.nilus_partitions_0.topic.replacement': 'pg.main.shop.orders',
      'transforms.nilus_partitions_0.key.enforce.uniqueness': 'true',
    });
  });

  it('keeps declared transforms first, escapes names, and adds no include entry the list already matches', () => {
    const out = withPartitionRouting({ ...base, 'table.include.list': 'shop\\..*', transforms: 'mine, nilus_partitions_7' }, [ORDERS, EVENTS]);
    expect(out.transforms).toBe('mine,nilus_partitions_0,nilus_partitions_1');
    expect(out['table.include.list']).toBe('shop\\..*,arch\\.events\\$old');
    expect(out['transforms.nilus_partitions_1.topic.regex']).toBe('pg\\.main\\.(?:arch\\.events\\$old)');
    expect(out['transforms.nilus_partitions_1.topic.replacement']).toBe('pg.main.shop.events');
  });

  it('leaves the config alone when no captured table is partitioned (excluded, not included, no partitions)', () => {
    const cfg = { ...base, 'table.exclude.list': 'shop\\.orders' };
    expect(withPartitionRouting(cfg, [ORDERS])).toEqual(cfg);
    expect(withPartitionRouting({ ...base, 'table.include.list': 'other.t' }, [ORDERS])).toEqual({ ...base, 'table.include.list': 'other.t' });
    expect(withPartitionRouting(base, [{ ...ORDERS, partitions: [] }])).toEqual(base);
  });

  it('without an include list every partitioned table is routed and nothing is added to the list', () => {
    const out = withPartitionRouting({ 'topic.prefix': 'p' }, [ORDERS]);
    expect(out['table.include.list']).toBeUndefined();
    expect(out.transforms).toBe('nilus_partitions_0');
  });
});
