import { CoreEmitter } from '../../../src/kernel/events';
import { attachLogging } from '../../../src/observe/log-events';
import { childLogger, createLogger, flushLogSampler, scrubSecrets, type LogLevel } from '../../../src/observe/logger';

const SECRET = 'S3cr3t-p@ss:w0rd/x';

function capture(level: LogLevel = 'debug', secrets: string[] = [SECRET]) {
  const lines: string[] = [];
  const logger = createLogger({ level, name: 'nilus-pg', secrets, destination: { write: (l: string) => lines.push(l) } });
  const records = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { logger, lines, records, text: () => lines.join('') };
}

describe('scrubSecrets', () => {
  test.each([
    ['postgresql://u:SECRET@h:5432/db', 'postgresql://u:***@h:5432/db'],
    ['connecting to postgres://app:pa55word@db.internal/app?sslmode=require', 'connecting to postgres://app:***@db.internal/app?sslmode=require'],
    ['kafka brokers sasl://svc:hunter22@b1:9092', 'kafka brokers sasl://svc:***@b1:9092'],
    ['host=db user=app password=hunter22 dbname=x', 'host=db user=app password=*** dbname=x'],
    ['postgresql://h/db?user=app&password=hunter22&sslmode=require', 'postgresql://h/db?user=app&password=***&sslmode=require'],
    ['{"sink":{"pg":{"dbPassword":"a\\"b"}}}', '{"sink":{"pg":{"dbPassword":"***"}}}'],
    ['postgresql://u@h:5432/db', 'postgresql://u@h:5432/db'],
    ['http://nilus-pg:9464/metrics', 'http://nilus-pg:9464/metrics'],
  ])('%s', (input, expected) => {
    expect(scrubSecrets(input)).toBe(expected);
  });

  test('registered secret values are masked anywhere, also in JSON-escaped form', () => {
    expect(scrubSecrets('auth failed for pw=abc"def here', ['abc"def'])).toBe('auth failed for pw=*** here');
    expect(scrubSecrets(JSON.stringify({ m: 'x abc"def y' }), ['abc"def'])).toBe('{"m":"x *** y"}');
  });
});

describe('createLogger redaction: the password never appears in the output', () => {
  test('as a field at several depths', () => {
    const c = capture();
    c.logger.info({ password: SECRET }, 'top');
    c.logger.info({ pg: { host: 'db', password: SECRET } }, 'one level');
    c.logger.info({ config: { sink: { pg: { password: SECRET } } } }, 'three levels');
    c.logger.info({ config: { cdc: { kafka: { sasl: { mechanism: 'plain', username: 'u', password: SECRET } } } } }, 'sasl');
    c.logger.info({ a: { b: { c: { d: { e: { password: SECRET } } } } } }, 'deeper than any redact path');
    expect(c.lines).toHaveLength(5);
    expect(c.text()).not.toContain(SECRET);
    expect(c.text()).not.toContain('S3cr3t');
    expect((c.records()[1]!.pg as Record<string, unknown>).password).toBe('***');
    expect((c.records()[1]!.pg as Record<string, unknown>).host).toBe('db');
  });

  test('inside messages, connection strings and error stacks', () => {
    const c = capture();
    const uri = `postgresql://app:${encodeURIComponent(SECRET)}@db:5432/app`;
    c.logger.info(`connecting to ${uri}`);
    c.logger.info(`raw ${`postgresql://app:${SECRET}@db:5432/app`}`);
    const err = new Error(`connect failed for ${uri}`, { cause: new Error(`password=${SECRET} rejected`) });
    c.logger.error({ err }, 'pg connect failed');
    c.logger.warn({ note: `the password is ${SECRET}` }, 'literal secret in a free-text field');
    expect(c.lines).toHaveLength(4);
    expect(c.text()).not.toContain(SECRET);
    expect(c.text()).not.toContain(encodeURIComponent(SECRET));
    expect(c.records()[0]!.msg).toBe('connecting to postgresql://app:***@db:5432/app');
    const logged = c.records()[2]!.err as Record<string, unknown>;
    expect(logged.message).toBe('connect failed for postgresql://app:***@db:5432/app: password=*** rejected');
    expect(logged.stack).toContain('postgresql://app:***@db');
  });

  test('lines are JSON with level label, name and time', () => {
    const c = capture('info');
    c.logger.debug('hidden at info');
    c.logger.info({ rows: 3 }, 'hello');
    expect(c.lines).toHaveLength(1);
    expect(c.records()[0]).toMatchObject({ level: 'info', name: 'nilus-pg', rows: 3, msg: 'hello' });
    expect(typeof c.records()[0]!.time).toBe('string');
  });
});

describe('childLogger', () => {
  test('carries pipeline/topic/partition/table and skips unset fields', () => {
    const c = capture();
    const child = childLogger(c.logger, { pipeline: 'orders-cdc', topic: 'cdc.retail.orders', partition: 2, table: undefined });
    childLogger(child, { table: 'analytics.orders' }).info('applied');
    const rec = c.records()[0]!;
    expect(rec).toMatchObject({ pipeline: 'orders-cdc', topic: 'cdc.retail.orders', partition: 2, table: 'analytics.orders' });
    expect(Object.keys(rec)).not.toContain('stage');
  });
});

describe('flushLogSampler', () => {
  test('logs the first flush, aggregates the rest of the interval into the next line', () => {
    let t = 1000;
    const s = flushLogSampler(5000, () => t);
    expect(s.offer({ events: 10, rows: 8, durationSeconds: 0.1 })).toMatchObject({ flushes: 1, events: 10, rows: 8 });
    t = 2000;
    expect(s.offer({ events: 5, rows: 5, durationSeconds: 0.2 })).toBeUndefined();
    t = 4000;
    expect(s.offer({ events: 7, rows: 6, durationSeconds: 0.4 })).toBeUndefined();
    t = 6000;
    const line = s.offer({ events: 1, rows: 1, durationSeconds: 0.1 });
    expect(line).toEqual({ flushes: 3, events: 13, rows: 12, durationSeconds: 0.7000000000000001, maxDurationSeconds: 0.4, windowMs: 5000 });
    expect(s.drain()).toBeUndefined();
    t = 7000;
    s.offer({ events: 2, rows: 2, durationSeconds: 0.05 });
    expect(s.drain()).toMatchObject({ flushes: 1, events: 2, windowMs: 1000 });
  });

  test('rejects a negative interval', () => {
    expect(() => flushLogSampler(-1)).toThrow(/intervalMs/);
  });
});

describe('attachLogging', () => {
  const flushed = (events: number) => ({
    durationSeconds: 0.25,
    events,
    tables: [{ table: 'analytics.orders', upserts: events - 1, deletes: 1, appends: 0, truncates: 0 }],
    sourceTsMs: [],
    commitTsMs: 0,
  });

  test('one info line per interval for flushes, warnings for retries and dead letters, errors with class', () => {
    let t = 0;
    const c = capture('info');
    const emitter = new CoreEmitter();
    const sub = attachLogging(emitter, c.logger, { flushLogIntervalMs: 10_000, now: () => t });
    emitter.emit('flushed', flushed(10));
    for (let i = 0; i < 50; i++) emitter.emit('flushed', flushed(4));
    emitter.emit('retry', { operation: 'flush', attempt: 1, delayMs: 120, error: new Error('postgresql://a:pw123@h lost') });
    emitter.emit('deadLettered', { topic: 'cdc.s.t', partition: 1, offset: '42', reason: 'bad json' });
    emitter.emit('error', { errorClass: 'fatal', error: new Error('relation missing') });
    t = 10_000;
    emitter.emit('flushed', flushed(4));
    sub.close();
    emitter.emit('flushed', flushed(99));

    const recs = c.records();
    const infos = recs.filter((r) => r.level === 'info');
    expect(infos.map((r) => [r.flushes, r.events, r.rows])).toEqual([
      [1, 10, 10],
      [51, 204, 204],
    ]);
    expect(recs.find((r) => r.msg === 'retrying flush')).toMatchObject({ level: 'warn', attempt: 1, delayMs: 120 });
    expect(recs.find((r) => r.msg === 'event dead-lettered')).toMatchObject({ topic: 'cdc.s.t', partition: 1, offset: '42' });
    expect(recs.find((r) => r.level === 'error')).toMatchObject({ errorClass: 'fatal', msg: 'relation missing' });
    expect(c.text()).not.toContain('pw123');
    expect(emitter.listenerCount('flushed')).toBe(0);
  });

  test('batch runs: a line at start, one per progress event (percent and ETA when the total is known), one at the end', () => {
    const c = capture('info');
    const emitter = new CoreEmitter();
    const sub = attachLogging(emitter, c.logger, { flushLogIntervalMs: 10_000 });
    emitter.emit('batchStarted', { source: 'shop.orders', target: 'analytics.orders', strategy: 'merge', trigger: 'schedule' });
    emitter.emit('batchProgress', { rows: 20_000, elapsedSeconds: 4, rowsPerSecond: 5_000 });
    emitter.emit('batchProgress', { rows: 40_000, elapsedSeconds: 8, rowsPerSecond: 5_000, totalRows: 100_000, etaSeconds: 12 });
    emitter.emit('batchProgress', { rows: 50_000, elapsedSeconds: 10, rowsPerSecond: 5_000, totalRows: 100_000 });
    emitter.emit('batchProgress', { rows: 120_000, elapsedSeconds: 24, rowsPerSecond: 5_000, totalRows: 100_000 });
    emitter.emit('batchWarning', { kind: 'zero_date', table: 'shop.orders', column: 'shipped_at', count: 3 });
    emitter.emit('batchFinished', { outcome: 'success', rows: 120_000, durationSeconds: 25, cursor: '2030-01-01 00:00:00' });
    emitter.emit('batchFinished', { outcome: 'skipped', rows: 0, durationSeconds: 0 });
    emitter.emit('batchFinished', { outcome: 'aborted', rows: 10, durationSeconds: 0.5 });
    emitter.emit('batchFinished', { outcome: 'failed', rows: 0, durationSeconds: 0, error: new Error(`password=${SECRET} rejected`) });
    sub.close();
    emitter.emit('batchStarted', { source: 'a', target: 'b', strategy: 'replace', trigger: 'once' });

    const recs = c.records().map(({ level, msg, ...rest }) => {
      const { time: _t, pid: _p, hostname: _h, name: _n, err, ...fields } = rest;
      return { level, msg, ...fields, ...(err ? { err: (err as { message: string }).message } : {}) };
    });
    expect(recs).toEqual([
      { level: 'info', msg: 'batch run started: shop.orders → analytics.orders (merge)', source: 'shop.orders', target: 'analytics.orders', strategy: 'merge', trigger: 'schedule' },
      { level: 'info', msg: 'batch run: 20000 rows in 4 s (5000 rows/s)', rows: 20_000, seconds: 4, rowsPerSecond: 5_000 },
      { level: 'info', msg: 'batch run: 40000 rows in 8 s (5000 rows/s), 40% of ~100000, about 12 s left', rows: 40_000, seconds: 8, rowsPerSecond: 5_000, totalRows: 100_000, percent: 40, etaSeconds: 12 },
      { level: 'info', msg: 'batch run: 50000 rows in 10 s (5000 rows/s), 50% of ~100000, about 10 s left', rows: 50_000, seconds: 10, rowsPerSecond: 5_000, totalRows: 100_000, percent: 50, etaSeconds: 10 },
      { level: 'info', msg: 'batch run: 120000 rows in 24 s (5000 rows/s), 100% of ~100000, about 0 s left', rows: 120_000, seconds: 24, rowsPerSecond: 5_000, totalRows: 100_000, percent: 100, etaSeconds: 0 },
      { level: 'warn', msg: 'batch run: 3 MySQL zero date(s) written as NULL in shop.orders.shipped_at', kind: 'zero_date', table: 'shop.orders', column: 'shipped_at', count: 3 },
      { level: 'info', msg: 'batch run committed: 120000 rows in 25 s (4800 rows/s)', outcome: 'success', rows: 120_000, seconds: 25, rowsPerSecond: 4_800, cursor: '2030-01-01 00:00:00' },
      { level: 'info', msg: 'batch run aborted after 10 rows in 0.5 s (20 rows/s), nothing committed', outcome: 'aborted', rows: 10, seconds: 0.5, rowsPerSecond: 20 },
      { level: 'warn', msg: 'batch run failed after 0 rows in 0 s (0 rows/s), nothing committed: password=*** rejected', outcome: 'failed', rows: 0, seconds: 0, rowsPerSecond: 0, err: 'password=*** rejected' },
    ]);
    expect(c.text()).not.toContain(SECRET);
    expect(emitter.listenerCount('batchStarted') + emitter.listenerCount('batchProgress') + emitter.listenerCount('batchFinished') + emitter.listenerCount('batchWarning')).toBe(0);
  });
});
