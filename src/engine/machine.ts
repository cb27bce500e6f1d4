/**
 * The CDC core's states and the only transitions between them, in one place (docs/operations.md
 * describes the same table). The core calls `to()`; a transition not listed here is a bug and
 * throws.
 *
 *   created ──► starting ──► running ◄──► paused        (memory budget reached / freed)
 *                  │           │  ▲          │
 *                  │           ▼  │          │
 *                  │          fenced ◄───────┘         (another member applied our partitions)
 *                  │           │
 *                  ▼           ▼
 *               stopping ◄── running|paused|fenced     (stop(): final flush, Kafka commit, leave)
 *                  │
 *                  ▼
 *               stopped
 *
 *   running|paused|fenced ──► halting ──► failed        (a record that can never apply, tolerance none:
 *                                                       what came before it is applied and committed first)
 *   any state but stopped ──► failed                    (an error a retry cannot fix)
 */
export type CoreState = 'created' | 'starting' | 'running' | 'paused' | 'fenced' | 'halting' | 'stopping' | 'stopped' | 'failed';

export const TRANSITIONS: Readonly<Record<CoreState, readonly CoreState[]>> = {
  created: ['starting', 'stopping', 'failed'],
  starting: ['running', 'stopping', 'failed'],
  running: ['paused', 'fenced', 'halting', 'stopping', 'failed'],
  paused: ['running', 'fenced', 'halting', 'stopping', 'failed'],
  fenced: ['running', 'halting', 'stopping', 'failed'],
  halting: ['failed'],
  stopping: ['stopped', 'failed'],
  stopped: [],
  failed: [],
};

/** States in which fetched records are taken into the buffers. */
export const TAKING: ReadonlySet<CoreState> = new Set(['running']);
/** States in which a flush may start. */
export const FLUSHING: ReadonlySet<CoreState> = new Set(['running', 'paused', 'halting', 'stopping']);

export class Machine {
  private current: CoreState = 'created';

  constructor(private readonly onChange: (from: CoreState, to: CoreState, why: string) => void = () => undefined) {}

  get state(): CoreState {
    return this.current;
  }

  is(...states: CoreState[]): boolean {
    return states.includes(this.current);
  }

  can(next: CoreState): boolean {
    return TRANSITIONS[this.current].includes(next);
  }

  to(next: CoreState, why: string): void {
    if (!this.can(next)) throw new Error(`core: no transition ${this.current} → ${next} (${why})`);
    const from = this.current;
    this.current = next;
    this.onChange(from, next, why);
  }
}
