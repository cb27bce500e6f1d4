/**
 * Keeps a CDC worker's V8 heap near what it holds. The core bounds what it holds by
 * `memory_budget_bytes`, but rows held for a flush live long enough to be promoted to V8's old
 * generation and become garbage there once committed, and V8 lets the old generation grow to up
 * to 4× its live size (its growth factor on a heap limit of several GiB) before collecting it:
 * with 8–16 KiB rows the heap reached 190–230 MiB for ~60 MiB live and the process 330–365 MiB
 * (docs/benchmark.md "Memory"). A heap limit (`--max-old-space-size`) or a fixed growth factor
 * makes V8 collect sooner on every workload and cost merge runs up to twice the CPU; this guard
 * asks for one full collection only when the heap is above the ceiling — checked after each
 * committed flush (its rows just became garbage) and every 100 ms — never on workloads whose heap
 * stays below it.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * When to collect: above the ceiling, and above 1.5× what the last collection left, so a heap
 * whose live part is near the ceiling is not collected over and over for little.
 */
export class HeapCeiling {
  private live = 0;

  constructor(readonly ceilingBytes: number) {}

  /** The heap size above which the next check collects. */
  threshold(): number {
    return Math.max(this.ceilingBytes, 1.5 * this.live);
  }

  due(usedBytes: number): boolean {
    return usedBytes > this.threshold();
  }

  /** What a collection left: while that is near the ceiling, the next one waits for 1.5× it. */
  collected(usedAfterBytes: number): void {
    this.live = usedAfterBytes;
  }
}

/**
 * V8's full collection, without `--expose-gc` on the command line: the flag is set, a fresh
 * context reads its `gc` (a context gets it when made with the flag on), and the flag is reset.
 * Undefined where V8 refuses (then the guard does nothing).
 */
export function fullCollector(): (() => void) | undefined {
  const existing = (globalThis as { gc?: unknown }).gc;
  if (typeof existing === 'function') return () => (existing as () => void)();
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc: unknown = vm.runInNewContext('typeof gc === "function" ? gc : undefined');
    return typeof gc === 'function' ? () => (gc as () => void)() : undefined;
  } catch {
    return undefined;
  } finally {
    v8.setFlagsFromString('--no-expose-gc');
  }
}

export interface HeapGuard {
  /** Collects when the heap is above the threshold (after each committed flush, and on the timer). */
  check(): void;
  /** Stops the timer. */
  stop(): void;
  readonly enabled: boolean;
}

export interface HeapGuardOptions {
  ceilingBytes: number;
  /** The heap's used bytes (tests pass their own). */
  used?: () => number;
  collect?: () => void;
  /** Also check on a timer (unref'd), ms; none when 0. */
  intervalMs?: number;
  onCollect?: (e: { usedBefore: number; usedAfter: number; ms: number }) => void;
}

/**
 * The ceiling for a budget: what the core may hold plus room for the rest of the worker's heap —
 * none with decode threads: their heaps take that room, and the main heap holds rows as COPY lines
 * without the parse's garbage (bench, merge-threads: 20–27 MiB left by a full collection).
 */
export function heapCeilingFor(memoryBudgetBytes: number, decodeThreads = 0): number {
  return memoryBudgetBytes + (decodeThreads > 0 ? 0 : 32 * 1024 * 1024);
}

export function createHeapGuard(opts: HeapGuardOptions): HeapGuard {
  const ceiling = new HeapCeiling(opts.ceilingBytes);
  const used = opts.used ?? (() => v8.getHeapStatistics().used_heap_size);
  const collect = opts.collect ?? fullCollector();
  const guard: HeapGuard = {
    enabled: collect !== undefined,
    stop: () => clearInterval(timer),
    check() {
      if (!collect) return;
      const usedBefore = used();
      if (!ceiling.due(usedBefore)) return;
      const t = performance.now();
      collect();
      const ms = performance.now() - t;
      const usedAfter = used();
      ceiling.collected(usedAfter);
      opts.onCollect?.({ usedBefore, usedAfter, ms });
    },
  };
  const timer = collect && opts.intervalMs ? setInterval(() => guard.check(), opts.intervalMs).unref() : undefined;
  return guard;
}
