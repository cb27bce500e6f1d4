import { collectionOf, matchingTopics, topicMatches } from '../../../src/kafka/topics';

describe('topic selection', () => {
  const f = { prefix: 'orders_cdc', include: [/^retail\.orders$/, /^retail\.item.*$/], exclude: [/^retail\.items_old$/] };

  it('takes <prefix>.<schema>.<table> topics matching the include list', () => {
    expect(topicMatches('orders_cdc.retail.orders', f)).toBe(true);
    expect(topicMatches('orders_cdc.retail.items', f)).toBe(true);
    expect(topicMatches('orders_cdc.retail.customers', f)).toBe(false);
  });

  it('honours the exclude list', () => {
    expect(topicMatches('orders_cdc.retail.items_old', f)).toBe(false);
  });

  it('ignores other prefixes, prefix look-alikes, internal and Debezium heartbeat topics', () => {
    const all = { prefix: 'orders_cdc', include: [], exclude: [] };
    expect(topicMatches('orders_cdc2.retail.orders', all)).toBe(false);
    expect(topicMatches('other.retail.orders', all)).toBe(false);
    expect(topicMatches('__consumer_offsets', all)).toBe(false);
    expect(topicMatches('orders_cdc.__debezium-heartbeat', all)).toBe(false);
    expect(topicMatches('orders_cdc.transaction', all)).toBe(false);
    expect(topicMatches('orders_cdc.public.t', all)).toBe(true);
  });

  it('supports prefixes that contain dots', () => {
    expect(collectionOf('a.b.public.t', 'a.b')).toBe('public.t');
    expect(collectionOf('a.b', 'a.b')).toBeUndefined();
  });

  it('lists matches sorted', () => {
    const all = { prefix: 'p', include: [], exclude: [] };
    expect(matchingTopics(['p.s.b', 'x.s.a', 'p.s.a'], all)).toEqual(['p.s.a', 'p.s.b']);
  });
});
