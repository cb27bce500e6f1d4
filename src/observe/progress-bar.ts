/**
 * A batch run's progress drawn on a terminal (the CLI's stderr when it is a TTY): one line,
 * redrawn in place from `batchProgress` events, finished by `batchFinished`. Logs stay JSON on stdout.
 */
import type { CoreEmitter } from '../kernel/events';

const WIDTH = 30;

export function formatProgress(p: { rows: number; rowsPerSecond: number; totalRows?: number; etaSeconds?: number }): string {
  const n = (x: number): string => Math.round(x).toLocaleString('en-US');
  const rate = `${n(p.rowsPerSecond)} rows/s`;
  if (p.totalRows === undefined || p.totalRows <= 0) return `${n(p.rows)} rows  ${rate}`;
  const frac = Math.min(1, p.rows / p.totalRows);
  const filled = Math.round(frac * WIDTH);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}]`;
  const eta = p.etaSeconds !== undefined ? `  ETA ${clock(p.etaSeconds)}` : '';
  return `${bar} ${(frac * 100).toFixed(0).padStart(3)}%  ${n(p.rows)}/~${n(p.totalRows)} rows  ${rate}${eta}`;
}

function clock(s: number): string {
  const t = Math.max(0, Math.round(s));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = String(t % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

export function attachProgressBar(emitter: CoreEmitter, out: NodeJS.WriteStream): () => void {
  let drawn = false;
  const onProgress = (p: { rows: number; rowsPerSecond: number; totalRows?: number; etaSeconds?: number }): void => {
    out.write(`\r${formatProgress(p)}\u001b[K`);
    drawn = true;
  };
  const onFinished = (f: { outcome: string; rows: number; durationSeconds: number }): void => {
    if (drawn) out.write('\n');
    drawn = false;
    if (f.outcome === 'success') out.write(`${f.rows.toLocaleString('en-US')} rows in ${f.durationSeconds.toFixed(1)} s\n`);
  };
  emitter.on('batchProgress', onProgress);
  emitter.on('batchFinished', onFinished);
  return () => {
    emitter.off('batchProgress', onProgress);
    emitter.off('batchFinished', onFinished);
  };
}
