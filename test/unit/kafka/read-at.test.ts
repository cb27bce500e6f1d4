import { positionKey, spans, throwawayGroupId } from '../../../src/kafka/read-at';

describe('reading dead-lettered records back from Kafka', () => {
  it('reads each partition from its lowest wanted offset to its highest (offsets compared as numbers, not text)', () => {
    const s = spans([
      { topic: 'a', partition: 0, offset: '10' },
      { topic: 'a', partition: 0, offset: '9' },
      { topic: 'a', partition: 0, offset: '100' },
      { topic: 'a', partition: 1, offset: '9007199254740993' },
      { topic: 'b', partition: 0, offset: '3' },
    ]);
    expect([...s.values()].map((x) => [x.topic, x.partition, x.from.toString(), x.to.toString()])).toEqual([
      ['a', 0, '9', '100'],
      ['a', 1, '9007199254740993', '9007199254740993'],
      ['b', 0, '3', '3'],
    ]);
  });

  it('a position key tells topics, partitions and offsets apart', () => {
    expect(positionKey({ topic: 'a.1', partition: 2, offset: '3' })).not.toBe(positionKey({ topic: 'a', partition: 12, offset: '3' }));
    expect(positionKey({ topic: 'a', partition: 1, offset: '23' })).not.toBe(positionKey({ topic: 'a', partition: 12, offset: '3' }));
  });

  it('names each throwaway group apart, even two made by one process in the same millisecond', () => {
    const a = throwawayGroupId('nilus-orders', 'replay');
    const b = throwawayGroupId('nilus-orders', 'replay');
    expect(a).not.toBe(b);
    expect(a.startsWith(`nilus-orders.replay.${process.pid}.`)).toBe(true);
  });
});
