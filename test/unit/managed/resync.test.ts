import { chunksFor, signalTarget, snapshotSignalData } from '../../../src/managed/resync';
import { pgConnectorConfig, signalTableFor } from '../../../src/managed/pg-config';

const db = { host: 'h', port: 5432, database: 'd', username: 'u', password: 'p' } as Parameters<typeof pgConnectorConfig>[0]['db'];

describe('resync of a managed PostgreSQL source', () => {
  it("the signal is Debezium's incremental execute-snapshot of the one table", () => {
    expect(JSON.parse(snapshotSignalData({ schema: 'retail', table: 'orders' }))).toEqual({ 'data-collections': ['retail.orders'], type: 'incremental' });
  });

  it('the signal table is named like the slot, in public, and a cdc key overrides it', () => {
    expect(signalTableFor('orders-cdc')).toBe('public.nilus_orders_cdc_signal');
    const long = signalTableFor('x'.repeat(80));
    expect(long.length - 'public.'.length).toBeLessThanOrEqual(63);
    expect(signalTarget(pgConnectorConfig({ pipeline: 'orders-cdc', db, cdc: {} }).config)).toEqual({ signalTable: { schema: 'public', table: 'nilus_orders_cdc_signal' }, publication: 'nilus_orders_cdc' });
    expect(signalTarget(pgConnectorConfig({ pipeline: 'p', db, cdc: { 'signal.data.collection': 'ops.signals' } }).config).signalTable).toEqual({ schema: 'ops', table: 'signals' });
  });

  it('a config without signalling or with a malformed signal table is named', () => {
    expect(() => signalTarget({ 'publication.name': 'p' })).toThrow(/no signal\.data\.collection/);
    expect(() => signalTarget({ 'signal.data.collection': 'nodot', 'publication.name': 'p' })).toThrow(/signal\.data\.collection "nodot" must be <schema>\.<table>/);
    expect(() => signalTarget({ 'signal.data.collection': 'a.b' })).toThrow(/no publication\.name/);
  });

  it('chunks follow incremental.snapshot.chunk.size (Debezium default 1024), at least one', () => {
    expect(chunksFor(2500, {})).toBe(3);
    expect(chunksFor(0, {})).toBe(1);
    expect(chunksFor(2048, {})).toBe(2);
    expect(chunksFor(2500, { 'incremental.snapshot.chunk.size': '500' })).toBe(5);
    expect(chunksFor(10, { 'incremental.snapshot.chunk.size': 'zero' })).toBe(1);
  });
});
