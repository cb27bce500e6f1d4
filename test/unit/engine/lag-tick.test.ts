/** The committer's lag timer: every LAG_INTERVAL_MS the tracked partitions' lag from Kafka's end offsets, flushed or not. */
import { Committer, LAG_INTERVAL_MS } from '../../../src/engine/committer';
import { CoreEmitter, type CoreEvents } from '../../../src/kernel/events';
import { FakeSource, P0, P1, tick, up } from './fakes';

function setup(): { source: FakeSource; c: Committer; lags: CoreEvents['lag'][0][]; warnings: string[] } {
  const source = new FakeSource();
  const emitter = new CoreEmitter();
  const lags: CoreEvents['lag'][0][] = [];
  const warnings: string[] = [];
  emitter.on('lag', (e) => lags.push(e));
  const c = new Committer({
    source,
    readStored: async () => [],
    readBounds: (tps) => source.bounds(tps),
    onOffsetGap: 'stop',
    gapSkipped: () => undefined,
    emitter,
    warn: (msg) => warnings.push(msg),
  });
  return { source, c, lags, warnings };
}

describe('lag on a timer', () => {
  it('starts its clock at the first tick, then reads end offsets every interval: end minus what PostgreSQL holds, or minus where tracking began', async () => {
    const { source, c, lags } = setup();
    source.produce(P0, Array.from({ length: 10 }, (_, i) => up(i, 1)));
    source.produce(P1, Array.from({ length: 3 }, (_, i) => up(i, 1)));
    c.positions.start(P0.topic, 0, 4n, 4n); // 4 stored
    c.positions.start(P1.topic, 1, 1n, null); // nothing stored yet: tracked from 1
    c.lagTick(1_000);
    c.lagTick(1_000 + LAG_INTERVAL_MS - 1);
    expect(source.boundsCalls).toEqual([]);
    c.lagTick(1_000 + LAG_INTERVAL_MS);
    await tick(5);
    expect(source.boundsCalls).toEqual([[P0, P1]]);
    expect(lags).toEqual([{ topic: P0.topic, partition: 0, lag: 6 }, { topic: P1.topic, partition: 1, lag: 2 }]);
    // more records arrive, nothing is flushed: the next interval shows them
    source.produce(P0, [up(10, 1), up(11, 1)]);
    c.lagTick(1_000 + 2 * LAG_INTERVAL_MS);
    await tick(5);
    expect(lags.slice(2)).toEqual([{ topic: P0.topic, partition: 0, lag: 8 }, { topic: P1.topic, partition: 1, lag: 2 }]);
  });

  it('a failed read is logged once until one succeeds, and tried again at the next interval', async () => {
    const { source, c, lags, warnings } = setup();
    source.produce(P0, [up(0, 1)]);
    c.positions.start(P0.topic, 0, 0n, 0n);
    const real = source.bounds.bind(source);
    let fail = 2;
    source.bounds = async (tps) => {
      if (fail-- > 0) throw new Error('broker down');
      return real(tps);
    };
    c.lagTick(0);
    for (let i = 1; i <= 3; i++) {
      c.lagTick(i * LAG_INTERVAL_MS);
      await tick(5);
    }
    expect(warnings).toEqual(['reading the end offsets for the lag metrics failed; trying again']);
    expect(lags).toEqual([{ topic: P0.topic, partition: 0, lag: 1 }]);
  });
});
