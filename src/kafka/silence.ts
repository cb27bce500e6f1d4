/**
 * A broker that stops answering without closing the connection (a dropped-packet partition, a
 * hung host) is noticed only by the request deadline, KAFKA_REQUEST_TIMEOUT_MS of client.ts:
 * kafkajs then retries by itself (on a new connection once the old one errors) and says nothing
 * above debug. Here each timed-out request becomes a warning naming the request and the broker,
 * and the source counts as disconnected (readiness: `kafka` missing) until a fetch is answered
 * again or the consumer rejoins its group.
 */
import type { Consumer } from 'kafkajs';
import type { SourceHandler } from '../engine/ports';
import { KAFKA_REQUEST_TIMEOUT_MS } from './client';

type Log = (level: 'info' | 'warn' | 'debug', msg: string, fields?: object) => void;

export function watchBrokerSilence(consumer: Consumer, handler: Pick<SourceHandler, 'connected'>, log: Log): void {
  let silent = false;
  consumer.on(consumer.events.REQUEST_TIMEOUT, (e) => {
    const p = e.payload;
    log('warn', 'a Kafka broker did not answer a request in time; kafkajs retries it', {
      request: p.apiName, broker: p.broker, timeoutMs: KAFKA_REQUEST_TIMEOUT_MS,
    });
    silent = true;
    handler.connected(false);
  });
  consumer.on(consumer.events.FETCH, () => {
    if (!silent) return;
    silent = false;
    log('info', 'the Kafka broker answers again');
    handler.connected(true);
  });
}
