/**
 * The engine's life around its data flow: start-up inside its own retries (the sink and the
 * dead-letter sink first, then the source), a graceful stop, a failure. CdcEngine extends it with what moves records; the states
 * and transitions used here are the ones of machine.ts.
 */
import type { CoreEmitter } from '../kernel/events';
import { reportedRetry, type RetryPolicy } from '../kernel/retry';
import type { ChangeSource, DeadLetterSink, Sink, SourceHandler } from './ports';
import { Machine, type CoreState } from './machine';
import { withTimeout } from '../kernel/timeout';
import { OffsetGapError } from '../kernel/offset-gap';

/** How long a failed pipeline waits for the consumer to leave the group before it reports. */
const STOP_SOURCE_TIMEOUT_MS = 15_000;

export interface CoreLog {
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  debug(fields: object, msg: string): void;
}

export interface LifecycleDeps {
  readonly source: ChangeSource;
  readonly sink: Sink;
  readonly deadLetter?: DeadLetterSink;
  readonly emitter: CoreEmitter;
  readonly log: CoreLog;
  /** errors.retry: start-up is retried with it (transient failures until stop(), by default). */
  readonly retry: RetryPolicy;
  /** Start-up work before the sink opens (e.g. a managed source's connector); retried with it. */
  readonly prepare?: () => Promise<void>;
}

export abstract class Lifecycle {
  readonly machine: Machine;
  readonly done: Promise<void>;
  private settle!: { resolve: () => void; reject: (e: Error) => void };
  private readonly abort = new AbortController();
  private sourceStarted = false;
  private sourceStarting: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly life: LifecycleDeps) {
    this.machine = new Machine((from, to, why) => life.log.debug({ from, to, why }, 'core state'));
    this.done = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
    this.done.catch(() => undefined); // observed through `done` by the caller
  }

  get state(): CoreState {
    return this.machine.state;
  }

  /** What the source calls back. */
  protected abstract handler(): SourceHandler;
  /** Every `tickMs` while running: age flushes, liveness. */
  protected abstract onTick(): void;
  protected abstract readonly tickMs: number;
  /** stop(): everything held applied and Kafka told, before the group is left. */
  protected abstract drainForStop(): Promise<void>;

  /** Connects (retrying transient failures until stop()), then runs until stopped or failed. */
  async start(): Promise<void> {
    this.machine.to('starting', 'start');
    const { prepare, sink, deadLetter, emitter, retry } = this.life;
    const open = async (): Promise<void> => {
      await prepare?.();
      await sink.open();
      await deadLetter?.init();
    };
    try {
      await reportedRetry(emitter, retry, 'start-up', open, { signal: this.abort.signal, system: 'postgresql' });
      emitter.emit('state', { pgConnected: true });
      await reportedRetry(emitter, retry, 'connect to Kafka', () => this.startSource(), { signal: this.abort.signal, system: 'kafka' });
    } catch (err) {
      if (this.machine.is('starting')) this.fail(err as Error);
      return;
    }
    if (!this.machine.is('starting')) return; // stopped meanwhile
    this.machine.to('running', 'source started');
    this.timer = setInterval(() => this.onTick(), this.tickMs);
  }

  /** Graceful stop: stop taking, final flush, Kafka commit of what PostgreSQL holds, leave the group. */
  async stop(): Promise<void> {
    if (!this.machine.can('stopping')) return this.done.catch(() => undefined);
    const wasStarting = this.machine.is('created', 'starting');
    this.machine.to('stopping', 'stop requested');
    this.abort.abort();
    try {
      if (!wasStarting) await this.drainForStop();
      await this.stopSource();
      this.machine.to('stopped', 'stopped');
      if (this.timer) clearInterval(this.timer);
      this.settle.resolve();
    } catch (err) {
      this.fail(err as Error);
    }
    return this.done.catch(() => undefined);
  }

  /**
   * A partition's load or check failed. During a graceful stop its answer no longer matters (the
   * source is being left, maybe already disconnected under the read): the stop goes on.
   */
  protected failUnlessStopping(err: Error): void {
    if (this.machine.is('stopping', 'stopped')) {
      // A gap found meanwhile is told all the same; the restart meets it again (and stops at it).
      if (err instanceof OffsetGapError) this.life.log.warn({ err: err.message }, 'an offset gap was found while the pipeline stopped');
      else this.life.log.debug({ err: String(err) }, 'reading where a partition resumes ended with the stop');
      return;
    }
    this.fail(err);
  }

  protected fail(err: Error): void {
    if (!this.machine.can('failed')) return;
    this.machine.to('failed', err.message);
    this.abort.abort();
    if (this.timer) clearInterval(this.timer);
    this.life.emitter.emit('error', { errorClass: err.name, error: err });
    // `done` settles once the consumer has left the group: nothing of the pipeline runs after it.
    const stopped = (async () => {
      await this.sourceStarting?.catch(() => undefined); // a start under way finishes first, then stops
      await this.stopSource();
    })();
    void withTimeout(stopped, STOP_SOURCE_TIMEOUT_MS)
      .catch((e: Error) => this.life.log.warn({ err: String(e) }, 'the source did not stop cleanly after the failure'))
      .finally(() => this.settle.reject(err));
  }

  private async startSource(): Promise<void> {
    this.sourceStarting = this.life.source.start(this.handler());
    try {
      await this.sourceStarting;
    } finally {
      this.sourceStarting = undefined;
    }
    this.sourceStarted = true;
    if (this.machine.is('failed', 'stopped')) await this.stopSource();
  }

  private async stopSource(): Promise<void> {
    if (!this.sourceStarted) return;
    this.sourceStarted = false;
    await this.life.source.stop();
  }
}
