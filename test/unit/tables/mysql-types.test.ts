import { cursorBound, mapColumn, needsDoubleWidening, valueDecoder, type MysqlColumnMeta } from '../../../src/tables/mysql-types';
import type { SourceColumn } from '../../../src/tables/table-source';

const T = 'shop.items';
const meta = (dataType: string, columnType = dataType, extra: Partial<MysqlColumnMeta> = {}): MysqlColumnMeta => ({ name: 'c', dataType, columnType, nullable: true, ...extra });
const col = (dataType: string, columnType = dataType, opts = { tinyint1AsBoolean: true }, extra: Partial<MysqlColumnMeta> = {}): SourceColumn =>
  mapColumn(T, meta(dataType, columnType, extra), opts);
const pg = (dataType: string, columnType = dataType, tinyint1AsBoolean = true): string => col(dataType, columnType, { tinyint1AsBoolean }).pgType;

/** Decode one text-protocol value of a column of this type. */
function decode(c: SourceColumn, raw: string | Buffer | null, onZeroDate?: (t: string, c: string) => void): string | null {
  const d = valueDecoder(c, { table: T, column: c.name, ...(onZeroDate ? { onZeroDate } : {}) });
  return d(raw === null ? null : typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw);
}

describe('MySQL column types → PostgreSQL types', () => {
  it('integers: signed to the same size, unsigned one size up, bigint unsigned to numeric(20,0)', () => {
    expect([pg('tinyint', 'tinyint(4)'), pg('smallint', 'smallint(6)'), pg('mediumint', 'mediumint(9)'), pg('int', 'int(11)'), pg('bigint', 'bigint(20)')]).toEqual([
      'smallint', 'smallint', 'integer', 'integer', 'bigint',
    ]);
    expect([pg('tinyint', 'tinyint(3) unsigned'), pg('smallint', 'smallint unsigned'), pg('mediumint', 'mediumint(8) unsigned'), pg('int', 'int(10) unsigned'), pg('bigint', 'bigint(20) unsigned')]).toEqual([
      'smallint', 'integer', 'integer', 'bigint', 'numeric(20,0)',
    ]);
    expect(pg('int', 'int unsigned zerofill')).toBe('bigint');
    expect(pg('year', 'year(4)')).toBe('smallint');
  });

  it('tinyint(1) is boolean only when asked, and then not a cursor', () => {
    expect(col('tinyint', 'tinyint(1)')).toMatchObject({ pgType: 'boolean', cursorable: false });
    expect(col('tinyint', 'tinyint(1)', { tinyint1AsBoolean: false })).toMatchObject({ pgType: 'smallint', cursorable: true });
    expect(pg('tinyint', 'tinyint(1) unsigned')).toBe('boolean');
    expect(pg('tinyint', 'tinyint(2)')).toBe('smallint');
  });

  it('decimal keeps precision and scale; float and double; bit(1) boolean, bit(n) bit(n)', () => {
    expect(pg('decimal', 'decimal(65,30)')).toBe('numeric(65,30)');
    expect(pg('decimal', 'decimal(10,0) unsigned')).toBe('numeric(10,0)');
    expect([pg('float'), pg('float', 'float(7,4)'), pg('double'), pg('double', 'double(10,2)')]).toEqual(['real', 'real', 'double precision', 'double precision']);
    expect(pg('bit', 'bit(1)')).toBe('boolean');
    expect(pg('bit', 'bit(10)')).toBe('bit(10)');
    expect(pg('bit', 'bit(64)')).toBe('bit(64)');
  });

  it('character, enum and set types land as text; binary types as bytea; json as jsonb (MariaDB longtext with its check too)', () => {
    for (const t of ['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext']) expect(pg(t, `${t}(5)`)).toBe('text');
    expect(pg('enum', "enum('a','b')")).toBe('text');
    expect(pg('set', "set('x','y')")).toBe('text');
    for (const t of ['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob']) expect(pg(t)).toBe('bytea');
    expect(pg('json')).toBe('jsonb');
    expect(col('longtext', 'longtext', { tinyint1AsBoolean: true }, { jsonCheck: true }).pgType).toBe('jsonb');
    expect(col('text', 'text', { tinyint1AsBoolean: true }, { jsonCheck: true }).pgType).toBe('text');
  });

  it('dates and times keep their fractional precision; time is an interval; MariaDB uuid/inet', () => {
    expect([pg('date'), pg('datetime'), pg('datetime', 'datetime(6)'), pg('timestamp', 'timestamp'), pg('timestamp', 'timestamp(3)'), pg('time', 'time(1)')]).toEqual([
      'date', 'timestamp(0)', 'timestamp(6)', 'timestamptz(0)', 'timestamptz(3)', 'interval',
    ]);
    expect([pg('uuid'), pg('inet4'), pg('inet6')]).toEqual(['uuid', 'inet', 'inet']);
  });

  it('marks integer, year, date, datetime and timestamp columns as cursors, nothing else', () => {
    const yes = [col('int', 'int(11)'), col('bigint', 'bigint unsigned'), col('year'), col('date'), col('datetime', 'datetime(3)'), col('timestamp')];
    const no = [col('decimal', 'decimal(5,0)'), col('varchar', 'varchar(5)'), col('time'), col('double'), col('bit', 'bit(8)')];
    expect(yes.map((c) => c.cursorable)).toEqual(yes.map(() => true));
    expect(no.map((c) => c.cursorable)).toEqual(no.map(() => false));
  });

  it('keeps name, source type and nullability', () => {
    expect(mapColumn(T, { name: 'Id', dataType: 'int', columnType: 'int(11)', nullable: false }, { tinyint1AsBoolean: true })).toEqual({
      name: 'Id', sourceType: 'int(11)', pgType: 'integer', notNull: true, cursorable: true,
    });
  });

  it('refuses spatial columns naming the table, column and type, and saying what to do', () => {
    for (const t of ['geometry', 'point', 'linestring', 'polygon', 'multipoint', 'multilinestring', 'multipolygon', 'geometrycollection']) {
      expect(() => mapColumn(T, { name: 'geo', dataType: t, columnType: t, nullable: true }, { tinyint1AsBoolean: true })).toThrow(
        new RegExp(`shop\\.items: column \`geo\` has type ${t}: a spatial type.*view.*ST_AsText\\(\`geo\`\\).*source_table`),
      );
    }
    expect(() => col('vector', 'vector(3)')).toThrow(/column `c` has type vector\(3\): not a type nilus can read exactly.*view/);
  });
});

describe('MySQL values → PostgreSQL text input', () => {
  it('integers exactly, including the unsigned bigint maximum; NULL stays null', () => {
    expect(decode(col('bigint', 'bigint(20) unsigned'), '18446744073709551615')).toBe('18446744073709551615');
    expect(decode(col('bigint', 'bigint(20)'), '-9223372036854775808')).toBe('-9223372036854775808');
    expect(decode(col('tinyint', 'tinyint(3) unsigned'), '255')).toBe('255');
    expect(decode(col('year'), '0000')).toBe('0000');
    expect(decode(col('int', 'int(11)'), null)).toBeNull();
  });

  it('tinyint(1) as boolean: zero is false, any other value true', () => {
    const c = col('tinyint', 'tinyint(1)');
    expect(['0', '1', '2', '-1', '127', '-128'].map((v) => decode(c, v))).toEqual(['f', 't', 't', 't', 't', 't']);
    expect(decode(col('tinyint', 'tinyint(1)', { tinyint1AsBoolean: false }), '2')).toBe('2');
  });

  it('decimals and floats as MySQL sends them (decimal(65,30) at its limits)', () => {
    const max = '99999999999999999999999999999999999.999999999999999999999999999999';
    expect(decode(col('decimal', 'decimal(65,30)'), max)).toBe(max);
    expect(decode(col('decimal', 'decimal(65,30)'), '-' + max)).toBe('-' + max);
    expect(decode(col('decimal', 'decimal(10,2)'), '-12.50')).toBe('-12.50');
    expect(decode(col('double'), '1.7976931348623157e308')).toBe('1.7976931348623157e308');
    expect(decode(col('float'), '3.1415927410125732')).toBe('3.1415927410125732');
  });

  it('reads float columns widened to double (MySQL prints floats with 6 digits), nothing else', () => {
    expect(needsDoubleWidening(col('float'))).toBe(true);
    expect(needsDoubleWidening(col('float', 'float(7,4) unsigned'))).toBe(true);
    expect(needsDoubleWidening(col('double'))).toBe(false);
  });

  it('bit(1) as t/f, bit(n) as an n-digit bit string from the big-endian bytes', () => {
    expect(decode(col('bit', 'bit(1)'), Buffer.from([1]))).toBe('t');
    expect(decode(col('bit', 'bit(1)'), Buffer.from([0]))).toBe('f');
    expect(decode(col('bit', 'bit(10)'), Buffer.from([0b01, 0b01010101]))).toBe('0101010101');
    expect(decode(col('bit', 'bit(10)'), Buffer.from([0, 0]))).toBe('0000000000');
    expect(decode(col('bit', 'bit(64)'), Buffer.alloc(8, 0xff))).toBe('1'.repeat(64));
    expect(decode(col('bit', 'bit(3)'), Buffer.from([5]))).toBe('101');
  });

  it('text as UTF-8, 4-byte characters and control characters exact', () => {
    const s = 'a😀𝄞 ü\t\n\\"q\'\r';
    expect(decode(col('varchar', 'varchar(20)'), Buffer.from(s, 'utf8'))).toBe(s);
    expect(decode(col('enum', "enum('x,y','z')"), 'x,y')).toBe('x,y');
    expect(decode(col('set', "set('a','b')"), 'a,b')).toBe('a,b');
    expect(decode(col('longtext'), '')).toBe('');
  });

  it('refuses a NUL character in text, naming the table and column', () => {
    expect(() => decode(col('varchar', 'varchar(5)'), 'a\u0000b')).toThrow(/shop\.items: column `c` holds a NUL character \(0x00\)/);
  });

  it('json text unchanged; a \\u0000 escape (which jsonb refuses) is an error, an escaped backslash before u0000 is not', () => {
    const j = '{"a": [1, 2.50, "😀"], "b": null}';
    expect(decode(col('json'), j)).toBe(j);
    expect(decode(col('json'), '"\\\\u0000"')).toBe('"\\\\u0000"');
    expect(() => decode(col('json'), '{"a": "x\\u0000"}')).toThrow(/shop\.items: column `c` holds JSON with a \\u0000 escape/);
    expect(() => decode(col('json'), '"\\\\\\u0000"')).toThrow(/u0000/);
  });

  it('binary values as bytea hex, trailing zero bytes kept', () => {
    expect(decode(col('varbinary', 'varbinary(4)'), Buffer.from([0, 1, 0xff]))).toBe('\\x0001ff');
    expect(decode(col('binary', 'binary(4)'), Buffer.from([0, 0xff, 0, 0]))).toBe('\\x00ff0000');
    expect(decode(col('blob'), Buffer.alloc(0))).toBe('\\x');
  });

  it('dates and datetimes as sent; timestamps with +00; year 0 as 1 BC', () => {
    expect(decode(col('date'), '1000-01-01')).toBe('1000-01-01');
    expect(decode(col('date'), '9999-12-31')).toBe('9999-12-31');
    expect(decode(col('datetime', 'datetime(6)'), '2024-02-29 23:59:59.999999')).toBe('2024-02-29 23:59:59.999999');
    expect(decode(col('timestamp', 'timestamp(3)'), '2038-01-19 03:14:07.999')).toBe('2038-01-19 03:14:07.999+00');
    expect(decode(col('date'), '0000-02-29')).toBe('0001-02-29 BC');
    expect(decode(col('datetime'), '0000-03-01 10:00:00')).toBe('0001-03-01 10:00:00 BC');
  });

  it('zero dates are NULL, each reported once with the table and column', () => {
    const seen: string[] = [];
    const report = (t: string, c: string): void => void seen.push(`${t}/${c}`);
    expect(decode(col('date'), '0000-00-00', report)).toBeNull();
    expect(decode(col('date'), '2024-00-15', report)).toBeNull();
    expect(decode(col('date'), '2024-03-00', report)).toBeNull();
    expect(decode(col('datetime', 'datetime(6)'), '0000-00-00 00:00:00.000000', report)).toBeNull();
    expect(decode(col('timestamp'), '0000-00-00 00:00:00', report)).toBeNull();
    expect(decode(col('date'), null, report)).toBeNull();
    expect(seen).toEqual(Array(5).fill('shop.items/c'));
  });

  it('refuses a date that is no calendar day (ALLOW_INVALID_DATES), naming the column', () => {
    expect(() => decode(col('date'), '2023-02-29')).toThrow(/shop\.items: column `c` holds 2023-02-29, which is not a calendar date/);
    expect(() => decode(col('datetime'), '2024-04-31 00:00:00')).toThrow(/not a calendar date/);
  });

  it('time as interval text, negative and beyond 24 hours', () => {
    for (const v of ['-838:59:59', '838:59:59.000000', '100:00:00.5', '00:00:00', '-00:00:01.5']) expect(decode(col('time', 'time(1)'), v)).toBe(v);
  });
});

describe('cursor bounds → MySQL literals', () => {
  it('integers pass when they are integers only', () => {
    expect(cursorBound(col('bigint', 'bigint unsigned'), '18446744073709551615')).toBe('18446744073709551615');
    expect(cursorBound(col('int'), ' -5 ')).toBe('-5');
    expect(() => cursorBound(col('int'), '1; DROP TABLE x')).toThrow(/cursor bound "1; DROP TABLE x" for MySQL column `c` \(int\) is not a valid integer value/);
    expect(() => cursorBound(col('int'), '1.5')).toThrow(/not a valid/);
    expect(() => cursorBound(col('decimal', 'decimal(5,0)'), '1')).toThrow(/not a valid/);
  });

  it('dates and datetimes in the forms rows carry and users write', () => {
    expect(cursorBound(col('date'), '2024-02-29')).toBe('2024-02-29');
    expect(cursorBound(col('datetime', 'datetime(6)'), '2024-02-29 10:00:00.123456')).toBe('2024-02-29 10:00:00.123456');
    expect(cursorBound(col('datetime'), '2024-02-29T10:00')).toBe('2024-02-29 10:00:00');
    expect(cursorBound(col('datetime'), '2024-02-29')).toBe('2024-02-29 00:00:00');
    expect(cursorBound(col('datetime'), '2024-02-29 10:00:00+05')).toBe('2024-02-29 10:00:00'); // as PostgreSQL's timestamp: offset ignored
    expect(cursorBound(col('datetime'), '0001-03-01 10:00:00 BC')).toBe('0000-03-01 10:00:00');
    expect(() => cursorBound(col('date'), '2023-02-29')).toThrow(/not a valid date/);
    expect(() => cursorBound(col('datetime'), "2024-01-01' OR 1=1")).toThrow(/not a valid/);
  });

  it('timestamps: the offset applied (the session is UTC), none meaning UTC', () => {
    const ts = col('timestamp', 'timestamp(3)');
    expect(cursorBound(ts, '2024-01-01 10:00:00.500+00')).toBe('2024-01-01 10:00:00.500');
    expect(cursorBound(ts, '2024-01-01 01:30:00+02:00')).toBe('2023-12-31 23:30:00');
    expect(cursorBound(ts, '2024-01-01T01:30:00.25-0130')).toBe('2024-01-01 03:00:00.25');
    expect(cursorBound(ts, '2024-01-01T10:00:00Z')).toBe('2024-01-01 10:00:00');
    expect(cursorBound(ts, '2024-01-01 10:00:00')).toBe('2024-01-01 10:00:00');
    expect(cursorBound(ts, '0099-01-01 10:00:00+01')).toBe('0099-01-01 09:00:00');
  });
});
