/**
 * The scheduler of batch pipelines with `spec.schedule`: runs the batch at every fire time of its
 * cron expressions, read in the schedule's IANA time zone, with Kubernetes CronJob's
 * concurrencyPolicy when a run is due while another is still in progress:
 *  - Forbid:  the due run is skipped (logged, and reported as a 'skipped' batchFinished);
 *  - Allow:   it starts alongside the running one(s);
 *  - Replace: the running run(s) are aborted through their AbortSignal and, once settled, the
 *             new one starts.
 *
 * croner parses the expressions and computes fire times (`nextRun`), time zones and DST included.
 * Its own per-job timers are not used: ONE timer armed at the earliest fire time over all
 * expressions makes "several crons due at the same instant start one run" hold by construction
 * (croner's triggers carry the wake-up time, not the fire time, so two jobs could not be matched
 * reliably), and keeps the policy decisions in one place.
 */
import { Cron } from 'croner';
import type { BatchSchedule } from '../config/types';
import type { CoreEmitter } from '../kernel/events';
import type { Logger } from '../observe/logger';

/** One batch run. It must settle soon after `signal` aborts; a rejection is its caller's to log. */
export type BatchRun = (signal: AbortSignal, trigger: 'schedule' | 'once') => Promise<void>;

export interface SchedulerDeps {
  readonly emitter: CoreEmitter;
  readonly log: Logger;
  /** Injected for tests; must move with the timers (jest's fake timers move both). */
  readonly now?: () => Date;
}

/** setTimeout's largest delay (2^31 − 1 ms, ~24.8 days); longer waits are re-armed in steps. */
const MAX_TIMEOUT_MS = 2_147_483_647;

interface Running {
  readonly controller: AbortController;
  readonly startedAt: Date;
  readonly dueAt: Date;
  /** Settles (never rejects) once the run has ended and left `running`. */
  settled: Promise<void>;
}

export class Scheduler {
  private readonly crons: readonly Cron[];
  private readonly now: () => Date;
  private readonly running = new Set<Running>();
  private state: 'created' | 'started' | 'stopped' = 'created';
  private timer: NodeJS.Timeout | undefined;
  /** The fire time handled last: the next one is strictly after it, even if the clock steps back. */
  private lastDue: Date | undefined;
  /** Replace: the old runs are being aborted; the new run starts when they settle. */
  private replacing: Promise<void> | undefined;
  private announced: number | null | undefined;

  constructor(
    private readonly schedule: BatchSchedule,
    private readonly run: BatchRun,
    private readonly deps: SchedulerDeps,
  ) {
    const problems = validateSchedule(schedule.crons, schedule.timezone);
    if (problems.length > 0) throw new RangeError(`invalid spec.schedule: ${problems.join('; ')}`);
    this.now = deps.now ?? (() => new Date());
    this.crons = schedule.crons.map((c) => new Cron(c, { timezone: schedule.timezone, paused: true }));
  }

  /** Arms the timer at the earliest fire time over all expressions. */
  start(): void {
    if (this.state !== 'created') throw new Error(`Scheduler.start: already ${this.state}`);
    this.state = 'started';
    // The caller announces the schedule; only a schedule that will never run is worth a line here.
    if (!this.nextRunAt()) this.deps.log.warn({ crons: this.schedule.crons, timezone: this.schedule.timezone }, 'no cron expression of spec.schedule fires again: no batch run will start');
    this.arm();
  }

  /** The earliest next fire time over all expressions; undefined once stopped or when none fires again. */
  nextRunAt(): Date | undefined {
    if (this.state === 'stopped') return undefined;
    const now = this.now();
    const from = this.lastDue && this.lastDue > now ? this.lastDue : now;
    let earliest: Date | undefined;
    for (const c of this.crons) {
      const t = c.nextRun(from);
      if (t && (!earliest || t < earliest)) earliest = t;
    }
    return earliest;
  }

  /** No new runs; runs in progress are aborted and awaited. Idempotent. */
  async stop(): Promise<void> {
    if (this.state !== 'stopped') {
      this.state = 'stopped';
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.announce(undefined);
      if (this.running.size > 0) this.deps.log.info({ runs: this.running.size }, 'stopping: aborting the batch run in progress');
      for (const r of this.running) r.controller.abort(abortReason('the service is stopping'));
    }
    await Promise.all([...[...this.running].map((r) => r.settled), this.replacing]);
  }

  private arm(): void {
    if (this.state !== 'started') return;
    const next = this.nextRunAt();
    this.announce(next);
    if (!next) return;
    const delay = Math.min(MAX_TIMEOUT_MS, Math.max(0, next.getTime() - this.now().getTime()));
    this.timer = setTimeout(() => this.onTimer(next), delay);
  }

  private onTimer(due: Date): void {
    this.timer = undefined;
    if (this.state !== 'started') return;
    // A timer can wake a little early, and a long wait is cut in MAX_TIMEOUT_MS steps.
    if (this.now() >= due) {
      this.lastDue = due;
      this.due(due);
    }
    this.arm();
  }

  private due(dueAt: Date): void {
    const policy = this.schedule.concurrencyPolicy;
    if (this.running.size === 0 && !this.replacing) return this.begin(dueAt);
    if (policy === 'Allow') return this.begin(dueAt);
    if (policy === 'Forbid') {
      const oldest = [...this.running].reduce((a, b) => (b.startedAt < a.startedAt ? b : a));
      this.deps.log.warn(
        { dueAt: dueAt.toISOString(), runningSince: oldest.startedAt.toISOString(), runningDueAt: oldest.dueAt.toISOString() },
        `scheduled batch run skipped: the run started at ${oldest.startedAt.toISOString()} is still in progress (concurrencyPolicy Forbid)`,
      );
      this.deps.emitter.emit('batchFinished', { outcome: 'skipped', rows: 0, durationSeconds: 0 });
      return;
    }
    // Replace. A run already waiting for the old ones to settle stands for this fire time too:
    // it has not read anything yet, so starting it later than due loses nothing.
    if (this.replacing) {
      this.deps.log.info({ dueAt: dueAt.toISOString() }, 'scheduled batch run due while the previous one is still being replaced: one new run will start');
      return;
    }
    const old = [...this.running];
    this.deps.log.info(
      { dueAt: dueAt.toISOString(), runningSince: old.map((r) => r.startedAt.toISOString()) },
      'scheduled batch run due while another is in progress: aborting it (concurrencyPolicy Replace)',
    );
    for (const r of old) r.controller.abort(abortReason(`replaced by the run due at ${dueAt.toISOString()}`));
    this.replacing = Promise.all(old.map((r) => r.settled)).then(() => {
      this.replacing = undefined;
      if (this.state === 'started') this.begin(dueAt);
    });
  }

  private begin(dueAt: Date): void {
    const controller = new AbortController();
    const r: Running = { controller, startedAt: this.now(), dueAt, settled: Promise.resolve() };
    this.running.add(r);
    // An async wrapper turns a synchronous throw into a rejection; the rejection is handled here
    // so that a failed run never becomes an unhandled rejection nor stops the schedule.
    const run = async () => this.run(controller.signal, 'schedule');
    r.settled = run()
      .catch((err: unknown) => {
        // The runner reports its failure itself (batchFinished 'failed', logged by the caller).
        this.deps.log.debug({ err, dueAt: dueAt.toISOString() }, 'scheduled batch run ended with an error');
      })
      .finally(() => {
        this.running.delete(r);
      });
  }

  /** Observers learn the next fire time through an event (null: none), only when it changes. */
  private announce(next: Date | undefined): void {
    const ms = next ? next.getTime() : null;
    if (ms === this.announced) return;
    this.announced = ms;
    this.deps.emitter.emit('batchScheduled', { nextRunAt: next ?? null });
  }
}

function abortReason(why: string): Error {
  const err = new Error(`batch run aborted: ${why}`);
  err.name = 'AbortError';
  return err;
}

/**
 * Problems with a schedule, one message each, naming the bad expression or time zone and why
 * (croner's own parser decides what an expression means). Empty when the schedule is usable.
 */
export function validateSchedule(crons: readonly string[], timezone: string): string[] {
  const problems: string[] = [];
  const zoneOk = isTimeZone(timezone);
  if (!zoneOk) {
    problems.push(`time zone ${JSON.stringify(timezone)} is not a valid IANA time zone name (e.g. "UTC", "Europe/Paris", "America/New_York")`);
  }
  if (crons.length === 0) problems.push('at least one cron expression is needed');
  for (const expr of crons) {
    let job: Cron;
    try {
      job = new Cron(expr, { paused: true, ...(zoneOk ? { timezone } : {}) });
    } catch (err) {
      problems.push(`cron ${JSON.stringify(expr)}: ${cronMessage(err)}`);
      continue;
    }
    if (zoneOk && job.nextRun() === null) problems.push(`cron ${JSON.stringify(expr)} never fires again (no matching date from now on)`);
  }
  return problems;
}

function cronMessage(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.replace(/^CronPattern:\s*/, '');
}

/** An IANA zone name the runtime knows (Intl and croner share the same tz database). */
function isTimeZone(tz: string): boolean {
  // '' would make croner use the host's local zone; offsets like '+01:00' are not zone names.
  if (!/^[A-Za-z]/.test(tz)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** When `schedule` next fires after `from` (`nilus-pg status`); undefined when no expression fires again. */
export function nextScheduledRun(schedule: { readonly crons: readonly string[]; readonly timezone: string }, from: Date = new Date()): Date | undefined {
  let earliest: Date | undefined;
  for (const expr of schedule.crons) {
    const t = new Cron(expr, { timezone: schedule.timezone, paused: true }).nextRun(from);
    if (t && (!earliest || t < earliest)) earliest = t;
  }
  return earliest;
}
