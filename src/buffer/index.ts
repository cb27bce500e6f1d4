/** The buffer stage: per-table, pure, synchronous collection of events between flushes. */
export { TableBuffer, type BufferStrategy } from './table-buffer';
export { BufferSet, type BufferLimits, type FlushReason } from './buffer-set';
