import { topicLetter } from '../../../src/deadletter/topic-store';
import { DEAD_LETTER_HEADERS } from '../../../src/deadletter/topic-sink';

describe('a dead-letter topic message as a letter', () => {
  it("takes origin, reason and class from Kafka Connect's headers, its id from its own position, its time from its timestamp", () => {
    const l = topicLetter({
      partition: 2, offset: '17', key: null, value: Buffer.from('{"id":"6"}'), timestampMs: Date.UTC(2026, 11, 7, 14, 0, 0),
      headers: {
        [DEAD_LETTER_HEADERS.topic]: 'cdc.public.items', [DEAD_LETTER_HEADERS.partition]: '0', [DEAD_LETTER_HEADERS.offset]: '9007199254740993',
        [DEAD_LETTER_HEADERS.reason]: 'why', [DEAD_LETTER_HEADERS.errorClass]: 'data',
      },
    });
    expect(l).toEqual({ id: '2:17', topic: 'cdc.public.items', partition: 0, offset: '9007199254740993', reason: 'why', errorClass: 'data', createdAt: '2026-12-07T14:00:00.000Z', valueBytes: 10 });
  });

  it('a message without the headers is still listed, with an origin no record can be read back from', () => {
    const l = topicLetter({ partition: 0, offset: '1', key: null, value: null, headers: { [DEAD_LETTER_HEADERS.offset]: 'x' }, timestampMs: 0 });
    expect(l).toMatchObject({ id: '0:1', topic: '', partition: -1, offset: '-1', reason: '(no reason header)', valueBytes: null });
  });
});
