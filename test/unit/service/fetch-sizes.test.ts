/** Kafka fetch sizes follow the memory budget as docs/operations.md states. */
import { decodeQueueBytes, decodeThreadHeapMb, decodeThreadsFor, fetchSizes } from '../../../src/service/cdc-service';
import { DEFAULTS } from '../../../src/config/defaults';

const KiB = 1024;
const MiB = 1024 * KiB;

describe('fetchSizes', () => {
  it('is budget/128 per response and an eighth of that per partition: 512 KiB / 64 KiB at the default budget', () => {
    expect(DEFAULTS.buffer.memoryBudgetBytes).toBe(64 * MiB);
    expect(fetchSizes(DEFAULTS.buffer.memoryBudgetBytes)).toEqual({ maxBytes: 512 * KiB, perPartition: 64 * KiB });
    expect(fetchSizes(256 * MiB)).toEqual({ maxBytes: 2 * MiB, perPartition: 256 * KiB });
  });

  it('stays within 256 KiB–8 MiB per response and 64 KiB–1 MiB per partition', () => {
    expect(fetchSizes(1 * MiB)).toEqual({ maxBytes: 256 * KiB, perPartition: 64 * KiB });
    expect(fetchSizes(64 * 1024 * MiB)).toEqual({ maxBytes: 8 * MiB, perPartition: 1 * MiB });
  });
});

describe('decodeThreadsFor (spec.sink.options.decode_threads)', () => {
  it('unset: one thread per two cores beyond the first two, at most 4', () => {
    expect([1, 2, 3, 4, 5, 6, 8, 10, 64].map((cores) => decodeThreadsFor(undefined, cores))).toEqual([0, 0, 0, 1, 1, 2, 3, 4, 4]);
  });
  it('set: as set, whatever the cores (0 decodes on the main thread)', () => {
    expect([decodeThreadsFor(0, 8), decodeThreadsFor(3, 1)]).toEqual([0, 3]);
  });
});

describe('decode threads\' memory follows the budget', () => {
  it('records waiting for a thread: budget/64, at least one fetch response (1 MiB at the default)', () => {
    const fetch = fetchSizes(DEFAULTS.buffer.memoryBudgetBytes).maxBytes;
    expect(decodeQueueBytes(DEFAULTS.buffer.memoryBudgetBytes, fetch)).toBe(1 * MiB);
    expect(decodeQueueBytes(16 * MiB, fetchSizes(16 * MiB).maxBytes)).toBe(256 * KiB);
    expect(decodeQueueBytes(1024 * MiB, fetchSizes(1024 * MiB).maxBytes)).toBe(16 * MiB);
  });
  it('a thread\'s old generation limit: 64 MiB or the budget, whichever is larger', () => {
    expect(decodeThreadHeapMb(DEFAULTS.buffer.memoryBudgetBytes)).toBe(64);
    expect(decodeThreadHeapMb(16 * MiB)).toBe(64);
    expect(decodeThreadHeapMb(512 * MiB)).toBe(512);
  });
});
