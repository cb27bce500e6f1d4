import type { SourceInfo } from '../kernel/types';

/**
 * The number the stale-event guard compares: the source LSN when known, else the source commit
 * time in ms. Limits: an LSN and a ts_ms are not comparable, so a table must be fed by one kind
 * of source; and with delete_mode hard a stale create arriving after a delete finds no stored row
 * to compare with, so it re-inserts (resurrects) the deleted row (delete_mode soft keeps the row
 * and the delete's position: the stale create is skipped).
 * Returned as COPY text; \N when the event has neither.
 */
export function positionText(s: SourceInfo | undefined): string {
  if (s?.lsn !== undefined) return s.lsn.toString();
  if (s?.tsMs !== undefined) return String(Math.trunc(s.tsMs));
  return '\\N';
}
