/**
 * The binlog position `nilus-pg status` shows for a managed MySQL/MariaDB source, read from the
 * stack's MariaDB (SHOW BINARY LOG STATUS, or SHOW MASTER STATUS where the server lacks it): the
 * server's own answer, and moving forward with a write.
 */
import { connectMysql, run } from '../../../src/tables/mysql-connection';
import { readBinlogPosition } from '../../../src/managed/source-status';
import type { ManagedSource, MysqlConnection } from '../../../src/config/types';
import { uniqueName } from '../../helpers/pg';
import { mysqlUrl } from '../../helpers/stack';

describe('binlog position of a MySQL/MariaDB source', () => {
  const stack = new URL(mysqlUrl());
  const db: MysqlConnection = {
    host: stack.hostname, port: Number(stack.port), database: stack.pathname.slice(1), username: decodeURIComponent(stack.username),
    password: decodeURIComponent(stack.password), sslMode: 'disabled', connectTimeoutMs: 5000,
  };
  const m = { kind: 'mysql', flavor: 'mariadb', db } as unknown as Extract<ManagedSource, { kind: 'mysql' }>;

  it('is the server\'s current binlog file and position, and moves with a write', async () => {
    const c = await connectMysql(db);
    const table = uniqueName('binlog');
    try {
      const before = await readBinlogPosition(m);
      const direct = (await run<{ File: string; Position: string | number }>(c, 'SHOW MASTER STATUS'))[0]!;
      expect(before).toMatchObject({ file: direct.File, position: String(direct.Position) });
      await run(c, `CREATE TABLE \`${table}\` (id int PRIMARY KEY)`);
      await run(c, `INSERT INTO \`${table}\` VALUES (1), (2)`);
      const after = (await readBinlogPosition(m))!;
      expect(after.file > before!.file || (after.file === before!.file && Number(after.position) > Number(before!.position))).toBe(true);
    } finally {
      await run(c, `DROP TABLE IF EXISTS \`${table}\``).catch(() => undefined);
      c.destroy();
    }
  });
});
