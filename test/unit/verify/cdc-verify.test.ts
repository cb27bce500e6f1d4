import { capturedTables, describeLag, lagBehind, mergeRecheck } from '../../../src/verify/cdc';
import { compileList } from '../../../src/config/names';
import { cdcCanonical } from '../../../src/verify/pg-digest';
import type { Verdict } from '../../../src/verify/compare';

const t = (schema: string, table: string) => ({ schema, table });
const all = [t('retail', 'orders'), t('retail', 'order_lines'), t('retail', 'audit'), t('hr', 'people'), t('public', 'orders')];
const anyConsumer = { include: [], exclude: [] };

describe('capturedTables', () => {
  it('selects by the connector\'s table.include.list, anchored as Debezium reads it', () => {
    expect(capturedTables(all, { 'table.include.list': 'retail.orders' }, anyConsumer)).toEqual([t('retail', 'orders')]);
    expect(capturedTables(all, { 'table.include.list': 'retail\\.order.*,hr\\..*' }, anyConsumer)).toEqual([t('retail', 'orders'), t('retail', 'order_lines'), t('hr', 'people')]);
  });

  it('applies exclude lists, schema lists (database lists for MySQL) and the consumer\'s lists', () => {
    expect(capturedTables(all, { 'table.exclude.list': 'retail\\.audit' }, anyConsumer).map((x) => `${x.schema}.${x.table}`)).toEqual(['retail.orders', 'retail.order_lines', 'hr.people', 'public.orders']);
    expect(capturedTables(all, { 'schema.include.list': 'retail', 'table.exclude.list': '.*audit' }, anyConsumer)).toEqual([t('retail', 'orders'), t('retail', 'order_lines')]);
    expect(capturedTables(all, { 'database.include.list': 'hr' }, anyConsumer)).toEqual([t('hr', 'people')]);
    expect(capturedTables(all, { 'schema.exclude.list': 'retail|hr' }, anyConsumer)).toEqual([t('public', 'orders')]);
    const consumer = { include: compileList('retail\\..*').regexes, exclude: compileList('retail.order_lines').regexes };
    expect(capturedTables(all, {}, consumer)).toEqual([t('retail', 'orders'), t('retail', 'audit')]);
  });

  it('selects nothing when the list names no existing table', () => {
    expect(capturedTables(all, { 'table.include.list': 'retail.order' }, anyConsumer)).toEqual([]);
  });
});

describe('lagBehind', () => {
  const end = (topic: string, partition: number, high: string, low = '0') => ({ topic, partition, high, low });

  it('is empty once every stored offset has reached the end offset noted', () => {
    expect(lagBehind([end('p.s.a', 0, '10'), end('p.s.a', 1, '4')], [{ topic: 'p.s.a', partition: 0, next: '10' }, { topic: 'p.s.a', partition: 1, next: '6' }])).toEqual([]);
  });

  it('counts the messages still to apply per partition, beyond 2^53 too', () => {
    const lag = lagBehind(
      [end('p.s.a', 0, '10'), end('p.s.b', 0, '9007199254740995'), end('p.s.c', 0, '5')],
      [{ topic: 'p.s.a', partition: 0, next: '7' }, { topic: 'p.s.b', partition: 0, next: '9007199254740990' }, { topic: 'p.s.c', partition: 0, next: '5' }],
    );
    expect(lag).toEqual([{ topic: 'p.s.a', partition: 0, behind: 3n }, { topic: 'p.s.b', partition: 0, behind: 5n }]);
    expect(describeLag(lag)).toBe('8 message(s) behind (p.s.b[0] 5, p.s.a[0] 3)');
  });

  it('counts a partition without a stored offset from its log start; an empty partition needs nothing', () => {
    expect(lagBehind([end('p.s.a', 0, '12', '2'), end('p.s.a', 1, '3', '3')], [])).toEqual([{ topic: 'p.s.a', partition: 0, behind: 10n }]);
    // a stored offset below the log start (retention deleted messages) counts from the log start
    expect(lagBehind([end('p.s.a', 0, '12', '10')], [{ topic: 'p.s.a', partition: 0, next: '4' }])).toEqual([{ topic: 'p.s.a', partition: 0, behind: 2n }]);
  });

  it('ignores stored offsets of other partitions and topics', () => {
    expect(lagBehind([end('p.s.a', 1, '5')], [{ topic: 'p.s.a', partition: 0, next: '5' }, { topic: 'p.s.b', partition: 1, next: '5' }])).toEqual([{ topic: 'p.s.a', partition: 1, behind: 5n }]);
  });
});

describe('mergeRecheck', () => {
  const none = { count: 0, samples: [] };
  const first: Verdict = {
    equal: false, sourceRows: 1001, targetRows: 999, missing: { count: 2, samples: ['7', '8'] }, extra: none, differing: { count: 1, samples: ['9'] },
    chunks: 64, bisected: 1, fetched: 2, differingBuckets: [{ bits: 6, buckets: [3, 40] }], differingRows: { source: 30, target: 28 },
  };

  it('replaces the differences by the re-check\'s and corrects the row totals by those buckets\' rows', () => {
    const again: Verdict = { ...first, equal: true, sourceRows: 31, targetRows: 31, missing: none, differing: none, chunks: 2, bisected: 0, fetched: 0, differingBuckets: [], differingRows: { source: 0, target: 0 } };
    expect(mergeRecheck(first, again)).toEqual({ ...again, sourceRows: 1002, targetRows: 1002, chunks: 66, bisected: 1, fetched: 2 });
  });

  it('keeps what still differs', () => {
    const again: Verdict = { ...first, sourceRows: 30, targetRows: 29, missing: { count: 1, samples: ['8'] }, differing: none, chunks: 2, bisected: 0, fetched: 1, differingBuckets: [{ bits: 6, buckets: [40] }], differingRows: { source: 15, target: 14 } };
    expect(mergeRecheck(first, again)).toMatchObject({ equal: false, sourceRows: 1001, targetRows: 1000, missing: { count: 1, samples: ['8'] }, differingBuckets: [{ bits: 6, buckets: [40] }], differingRows: { source: 15, target: 14 } });
  });
});

describe('cdcCanonical (the debezium canonical form, pg-digest.ts)', () => {
  const modes = { intervalString: false, binaryMode: 'bytes' as const };
  const src = { ...modes, side: 'source' as const };
  const dst = { ...modes, side: 'target' as const };
  const type = (t: string, base: string, builtin = true) => ({ type: t, base, builtin });

  it('reads a target column of another type as the source type, through its text; the same type as is', () => {
    expect(cdcCanonical('"ch"', 'text', type('character(5)', 'bpchar'), dst)).toEqual({ expr: '(("ch")::text::character(5))::text' });
    expect(cdcCanonical('"ch"', 'bpchar', type('character(5)', 'bpchar'), src)).toEqual({ expr: '("ch")::text' });
    expect(cdcCanonical('"n"', 'numeric', type('numeric(12,2)', 'numeric'), dst).expr).toBe('("n")::text');
  });

  it('compares user types (enums) as text on both sides, with no cast to a type the target lacks', () => {
    expect(cdcCanonical('"e"', 'text', type('"s".mood', 'mood', false), dst)).toEqual({ expr: '("e")::text' });
    expect(cdcCanonical('"e"', 'mood', type('"s".mood', 'mood', false), src)).toEqual({ expr: '("e")::text' });
  });

  it('gives a loss predicate on the source side only, for the lossy types', () => {
    for (const [t, base] of [['interval', 'interval'], ['time with time zone', 'timetz'], ['numeric', 'numeric'], ['xml', 'xml'], ['bit varying', 'varbit'], ['date', 'date'], ['integer[]', '_int4']]) {
      expect(cdcCanonical('"c"', base!, type(t!, base!), src).loss).toBeDefined();
      expect(cdcCanonical('"c"', base!, type(t!, base!), dst).loss).toBeUndefined();
    }
    for (const [t, base] of [['text', 'text'], ['jsonb', 'jsonb'], ['json', 'json'], ['bigint', 'int8'], ['timestamp with time zone', 'timestamptz']]) {
      expect(cdcCanonical('"c"', base!, type(t!, base!), src).loss).toBeUndefined();
    }
  });

  it('follows the connector modes: interval as text in string mode (no loss), bytea encoded when it lands as text', () => {
    expect(cdcCanonical('"iv"', 'interval', type('interval', 'interval'), { ...src, intervalString: true })).toEqual({ expr: '("iv")::text' });
    expect(cdcCanonical('"iv"', 'interval', type('interval', 'interval'), src).expr).toMatch(/extract\(month FROM "iv"\) \* 37800/);
    expect(cdcCanonical('"b"', 'bytea', type('bytea', 'bytea'), { ...src, binaryMode: 'hex' })).toEqual({ expr: `encode("b", 'hex')` });
    expect(cdcCanonical('"b"', 'text', type('bytea', 'bytea'), { ...dst, binaryMode: 'hex' })).toEqual({ expr: '("b")::text' });
  });

  it('compares bit(1), which Debezium sends as a boolean, as true/false', () => {
    expect(cdcCanonical('"b1"', 'bit', type('bit(1)', 'bit'), src)).toEqual({ expr: `(("b1") = B'1')::text` });
    expect(cdcCanonical('"b1"', 'bool', type('bit(1)', 'bit'), dst)).toEqual({ expr: '("b1")::text' });
    expect(cdcCanonical('"b8"', 'varbit', type('bit(8)', 'bit'), dst)).toEqual({ expr: '(("b8")::text::bit(8))::text' });
  });
});
