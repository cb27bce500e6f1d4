import { DatabaseError } from 'pg';
import {
  KafkaJSConnectionError,
  KafkaJSError,
  KafkaJSGroupCoordinatorNotFound,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
  KafkaJSSASLAuthenticationError,
} from 'kafkajs';
import { classifyError, classifySqlState } from '../../../src/kernel/classify';
import { ConfigError, DataError, FatalError, RetriableError } from '../../../src/kernel/errors';

function pgError(code: string, message = 'server said no'): Error {
  const e = new DatabaseError(message, 0, 'error');
  e.code = code;
  e.severity = 'ERROR';
  return e;
}

// kafkajs's typings declare this constructor without arguments; the runtime takes a message.
const SaslError = KafkaJSSASLAuthenticationError as unknown as new (message: string) => Error;

function sysError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code, errno: -1, syscall: 'connect' });
}

describe('classifyError: PostgreSQL SQLSTATE table', () => {
  test.each([
    ['08000', 'retriable'],
    ['08006', 'retriable'],
    ['08001', 'retriable'],
    ['40001', 'retriable'],
    ['40P01', 'retriable'],
    ['57P01', 'retriable'],
    ['57P02', 'retriable'],
    ['57P03', 'retriable'],
    ['53100', 'retriable'],
    ['53300', 'retriable'],
    ['55P03', 'retriable'],
    ['22001', 'data'],
    ['22P02', 'data'],
    ['22003', 'data'],
    ['23505', 'data'],
    ['23502', 'data'],
    ['23503', 'data'],
    ['40002', 'data'],
    ['P0001', 'data'],
    ['42P01', 'fatal'],
    ['42703', 'fatal'],
    ['42501', 'fatal'],
    ['28P01', 'fatal'],
    ['3D000', 'fatal'],
    ['57014', 'fatal'],
    ['XX000', 'fatal'],
  ])('%s → %s', (code, expected) => {
    expect(classifyError(pgError(code))).toBe(expected);
    expect(classifySqlState(code)).toBe(expected);
  });
});

describe('classifyError: network errors', () => {
  test.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'EAI_AGAIN'])('%s is retriable', (code) => {
    expect(classifyError(sysError(code))).toBe('retriable');
  });

  test.each([
    'Connection terminated unexpectedly',
    'Connection terminated due to connection timeout',
    'connection to server at "db", port 5432 failed: timeout expired',
    'SSL connection has been closed unexpectedly',
    'timeout exceeded when trying to connect',
    'Query read timeout',
  ])('message "%s" is retriable', (msg) => {
    expect(classifyError(new Error(msg))).toBe('retriable');
  });

  test('an AggregateError from a dual-stack connect is retriable when one attempt was', () => {
    const agg = new AggregateError([sysError('ECONNREFUSED'), sysError('ECONNREFUSED')], 'connect failed');
    expect(classifyError(agg)).toBe('retriable');
  });

  test('a 5-character Node code without severity is not read as a SQLSTATE', () => {
    expect(classifyError(Object.assign(new Error('x'), { code: '22001' }))).toBe('fatal');
  });
});

describe('classifyError: kafkajs errors', () => {
  test('the retriable flag decides for plain kafkajs errors', () => {
    expect(classifyError(new KafkaJSError('leader moved'))).toBe('retriable');
    expect(classifyError(new KafkaJSNonRetriableError('bad request'))).toBe('fatal');
  });

  test('connection errors are retriable', () => {
    expect(classifyError(new KafkaJSConnectionError('Connection error: ECONNREFUSED', { broker: 'b:9092' }))).toBe(
      'retriable',
    );
  });

  test('REBALANCE_IN_PROGRESS is retriable although kafkajs marks it non-retriable', () => {
    const e = new KafkaJSProtocolError({ type: 'REBALANCE_IN_PROGRESS', code: 27, retriable: false, message: 'rebalancing' } as never);
    expect((e as unknown as { retriable: boolean }).retriable).toBe(false);
    expect(classifyError(e)).toBe('retriable');
  });

  test('retries exceeded follows its cause', () => {
    const transient = new KafkaJSNumberOfRetriesExceeded(new KafkaJSConnectionError('gone') as never, {
      retryCount: 5,
      retryTime: 1000,
    } as never);
    const permanent = new KafkaJSNumberOfRetriesExceeded(new SaslError('bad password') as never, {
      retryCount: 5,
      retryTime: 1000,
    } as never);
    expect(classifyError(transient)).toBe('retriable');
    expect(classifyError(permanent)).toBe('fatal');
  });

  test('group coordinator not found is retriable (brokers starting)', () => {
    expect(classifyError(new (KafkaJSGroupCoordinatorNotFound as unknown as new (m: string) => Error)('coordinator not found'))).toBe('retriable');
  });

  test('SASL authentication failure is fatal', () => {
    expect(classifyError(new SaslError('SASL PLAIN authentication failed'))).toBe('fatal');
  });
});

describe('classifyError: own classes and programmer errors', () => {
  test('NilusError subclasses by class', () => {
    expect(classifyError(new RetriableError('pg restarting'))).toBe('retriable');
    expect(classifyError(new DataError('bad json', { topic: 't', partition: 0, offset: '5' }))).toBe('data');
    expect(classifyError(new ConfigError([{ path: 'spec.sink.address', message: 'missing' }]))).toBe('fatal');
    expect(classifyError(new FatalError('cannot continue'))).toBe('fatal');
  });

  test('our class wins over a retriable-looking cause', () => {
    expect(classifyError(new DataError('row rejected', undefined, { cause: sysError('ECONNRESET') }))).toBe('data');
  });

  test.each([new TypeError('x is undefined'), new RangeError('bad length'), new ReferenceError('y')])(
    'programmer error %p is fatal even with a network-looking message or cause',
    (e) => {
      const tricky = Object.assign(e, { message: 'Connection terminated unexpectedly', cause: sysError('ECONNRESET') });
      expect(classifyError(tricky)).toBe('fatal');
    },
  );

  test('a wrapper Error is classified by its cause', () => {
    expect(classifyError(new Error('flush failed', { cause: pgError('40P01') }))).toBe('retriable');
    expect(classifyError(new Error('flush failed', { cause: pgError('23505') }))).toBe('data');
  });

  test('non-errors and unknown errors are fatal', () => {
    expect(classifyError('boom')).toBe('fatal');
    expect(classifyError(undefined)).toBe('fatal');
    expect(classifyError(new Error('something odd'))).toBe('fatal');
  });

  test('a cause cycle terminates', () => {
    const a = new Error('a') as Error & { cause?: unknown };
    const b = new Error('b', { cause: a });
    a.cause = b;
    expect(classifyError(a)).toBe('fatal');
  });
});
