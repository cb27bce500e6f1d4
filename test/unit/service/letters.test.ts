import { lettersOf, settle, targetOfTopic } from '../../../src/service/letters';
import type { StoredLetter } from '../../../src/deadletter/store';

const letter = (id: string, topic: string, offset: string, partition = 0): StoredLetter => ({
  id, topic, partition, offset, reason: 'r', errorClass: 'data', createdAt: '2026-12-07T14:00:00.000000Z', valueBytes: 10,
});

describe('dead letters: which a --table names, and how a replay settles each', () => {
  it('the target of a topic follows dest_table and its placeholders; a topic off the prefix has none', () => {
    expect(targetOfTopic('cdc.retail.orders', 'cdc', 'analytics.orders')).toEqual({ schema: 'analytics', table: 'orders' });
    expect(targetOfTopic('cdc.retail.orders', 'cdc', 'analytics.{schema}_{table}')).toEqual({ schema: 'analytics', table: 'retail_orders' });
    expect(targetOfTopic('cdc.orders', 'cdc', 'raw.{table}')).toEqual({ schema: 'raw', table: 'orders' });
    expect(targetOfTopic('other.retail.orders', 'cdc', 'raw.{table}')).toBeUndefined();
  });

  it('--table keeps the letters whose topic lands in that table; without it every letter', () => {
    const ls = [letter('1', 'cdc.retail.orders', '5'), letter('2', 'cdc.retail.items', '7'), letter('3', 'elsewhere.x.y', '1')];
    expect(lettersOf(ls, undefined, 'cdc', 'raw.{table}').map((l) => l.id)).toEqual(['1', '2', '3']);
    expect(lettersOf(ls, { schema: 'raw', table: 'items' }, 'cdc', 'raw.{table}').map((l) => l.id)).toEqual(['2']);
    expect(lettersOf(ls, { schema: 'raw', table: 'Items' }, 'cdc', 'raw.{table}')).toEqual([]);
  });

  it('each letter is replayed, failed again with its new reason, or gone, by its position; several letters of one position share its fate', () => {
    const ls = [letter('1', 't', '5'), letter('2', 't', '6'), letter('3', 't', '6'), letter('4', 't', '9'), letter('5', 't', '9', 1)];
    const rejected = new Map([[`t\u00000\u00006`, 'new reason']]);
    const s = settle(ls, [{ topic: 't', partition: 0, offset: '9' }], rejected);
    expect(s.replayed.map((l) => l.id)).toEqual(['1', '5']);
    expect(s.failed.map((f) => [f.letter.id, f.reason])).toEqual([['2', 'new reason'], ['3', 'new reason']]);
    expect(s.gone.map((l) => l.id)).toEqual(['4']);
  });
});
