import { mysqlSignalTable } from '../../../src/managed/resync-mysql';
import { mysqlConnectorConfig } from '../../../src/managed/other-configs';
import type { MysqlConnection } from '../../../src/config/types';

const db: MysqlConnection = { host: 'm', port: 3306, database: 'sales', username: 'u', password: 'p', sslMode: 'disabled', connectTimeoutMs: 1000 };
const config = (cdc: Record<string, string> = {}): Record<string, string> =>
  mysqlConnectorConfig({ pipeline: 'orders-cdc', flavor: 'mariadb', db, brokers: ['k:9092'], cdc: { 'topic.prefix': 'x', ...cdc } }).config;

describe('resync of a managed MySQL/MariaDB source: the signal table', () => {
  it('is the connector config\'s signal.data.collection, <database>.<table>', () => {
    expect(mysqlSignalTable(config())).toEqual({ schema: 'sales', table: 'nilus_orders_cdc_signal' });
    expect(mysqlSignalTable(config({ 'signal.data.collection': 'ops.signals' }))).toEqual({ schema: 'ops', table: 'signals' });
  });

  it('a config without one, or with a name that is not <database>.<table>, is refused naming the key', () => {
    const { 'signal.data.collection': _dropped, ...without } = config();
    expect(() => mysqlSignalTable(without)).toThrow(/no signal\.data\.collection/);
    expect(() => mysqlSignalTable(config({ 'signal.data.collection': 'signals' }))).toThrow(/signal\.data\.collection "signals" must be <database>\.<table>/);
  });
});
