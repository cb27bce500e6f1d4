import { EventEmitter } from 'node:events';
import type { Consumer } from 'kafkajs';
import { watchBrokerSilence } from '../../../src/kafka/silence';
import { KAFKA_REQUEST_TIMEOUT_MS } from '../../../src/kafka/client';

/** The two kafkajs consumer events the watch listens to, fired by hand. */
function fakeConsumer() {
  const e = new EventEmitter();
  const events = { REQUEST_TIMEOUT: 'consumer.network.request_timeout', FETCH: 'consumer.fetch' };
  const consumer = { events, on: (name: string, fn: (ev: unknown) => void) => e.on(name, fn) } as unknown as Consumer;
  return {
    consumer,
    timeout: (apiName: string, broker: string) => e.emit(events.REQUEST_TIMEOUT, { payload: { apiName, broker } }),
    fetched: () => e.emit(events.FETCH, { payload: {} }),
  };
}

describe('watchBrokerSilence', () => {
  it('a timed-out request is a warning naming request and broker, and Kafka counts as disconnected until a fetch is answered', () => {
    const f = fakeConsumer();
    const states: boolean[] = [];
    const logs: [string, string, object | undefined][] = [];
    watchBrokerSilence(f.consumer, { connected: (up) => states.push(up) }, (level, msg, fields) => logs.push([level, msg, fields]));

    f.fetched();
    expect(states).toEqual([]);
    f.timeout('Fetch', '10.0.0.1:9092');
    expect(states).toEqual([false]);
    expect(logs[0]).toEqual(['warn', expect.stringContaining('did not answer a request in time'), { request: 'Fetch', broker: '10.0.0.1:9092', timeoutMs: KAFKA_REQUEST_TIMEOUT_MS }]);
    f.timeout('Metadata', '10.0.0.1:9092');
    expect(states).toEqual([false, false]);
    f.fetched();
    f.fetched();
    expect(states).toEqual([false, false, true]);
    expect(logs.map((l) => l[0])).toEqual(['warn', 'warn', 'info']);
  });
});
