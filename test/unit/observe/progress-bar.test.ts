import { CoreEmitter } from '../../../src/kernel/events';
import { attachProgressBar, formatProgress } from '../../../src/observe/progress-bar';

describe('batch progress bar', () => {
  it('draws a bar, percent, counts, rate and ETA when the total is known', () => {
    expect(formatProgress({ rows: 250_000, rowsPerSecond: 50_000, totalRows: 1_000_000, etaSeconds: 15 })).toBe(
      '[########......................]  25%  250,000/~1,000,000 rows  50,000 rows/s  ETA 0:15',
    );
    expect(formatProgress({ rows: 5_000_000, rowsPerSecond: 1000, totalRows: 4_000_000, etaSeconds: 3723 })).toMatch(/^\[#{30}\] 100% .* ETA 1:02:03$/);
  });

  it('shows rows and rate alone when the total is unknown (incremental runs)', () => {
    expect(formatProgress({ rows: 1234, rowsPerSecond: 99.6 })).toBe('1,234 rows  100 rows/s');
  });

  it('redraws one line in place and ends it when the run finishes', () => {
    const emitter = new CoreEmitter();
    let out = '';
    const detach = attachProgressBar(emitter, { write: (s: string) => ((out += s), true) } as unknown as NodeJS.WriteStream);
    emitter.emit('batchProgress', { rows: 10, elapsedSeconds: 1, rowsPerSecond: 10 });
    emitter.emit('batchProgress', { rows: 20, elapsedSeconds: 2, rowsPerSecond: 10 });
    emitter.emit('batchFinished', { outcome: 'success', rows: 25, durationSeconds: 2.5 });
    expect(out).toBe('\r10 rows  10 rows/s\u001b[K\r20 rows  10 rows/s\u001b[K\n25 rows in 2.5 s\n');
    detach();
    emitter.emit('batchProgress', { rows: 30, elapsedSeconds: 3, rowsPerSecond: 10 });
    expect(out).not.toContain('30 rows');
  });
});
