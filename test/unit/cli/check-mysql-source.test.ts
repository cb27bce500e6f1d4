import { globalPrivileges, mysqlConnectorRefuses } from '../../../src/cli/check-mysql-source';

describe('managed MySQL/MariaDB check helpers', () => {
  it('reads global privileges from SHOW GRANTS lines of MariaDB and MySQL', () => {
    expect([...globalPrivileges([
      "GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `nilus`@`%` IDENTIFIED BY PASSWORD '*AB45'",
      'GRANT SELECT, INSERT ON `shop`.* TO `nilus`@`%`',
      'GRANT SELECT (id, v) ON `shop`.`t` TO `nilus`@`%`',
    ])].sort()).toEqual(['BINLOG MONITOR', 'RELOAD', 'REPLICATION SLAVE', 'SELECT', 'SHOW DATABASES']);
    expect([...globalPrivileges(['GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION'])]).toEqual(['ALL']);
    // MySQL 8: static privileges, then dynamic ones on another line
    expect([...globalPrivileges([
      'GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO `cdc`@`%`',
      'GRANT BACKUP_ADMIN,REPLICATION_SLAVE_ADMIN ON *.* TO `cdc`@`%`',
      'GRANT `reader`@`%` TO `cdc`@`%`',
    ])].sort()).toEqual(['BACKUP_ADMIN', 'REPLICATION CLIENT', 'REPLICATION SLAVE', 'REPLICATION_SLAVE_ADMIN']);
  });

  it('knows which servers Debezium 3.x\'s MySQL connector refuses: MariaDB reporting a version it reads as MySQL 8.4+', () => {
    expect(mysqlConnectorRefuses('10.11.19-MariaDB-0+deb12u1-log')).toBe(true);
    expect(mysqlConnectorRefuses('11.4.2-MariaDB')).toBe(true);
    expect(mysqlConnectorRefuses('8.4.0-MariaDB-test')).toBe(true);
    expect(mysqlConnectorRefuses('8.0.36')).toBe(false);
    expect(mysqlConnectorRefuses('8.4.3')).toBe(false);
    expect(mysqlConnectorRefuses('5.7.19-log')).toBe(false);
  });
});
