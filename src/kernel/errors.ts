/**
 * Error classes, by what a retry can do about them (kafkajs's tree is the model):
 *  - RetriableError: transient (connection loss, 40001, 40P01, 57P03, broker unavailable) → back off, retry.
 *  - DataError: this event can never apply (undecodable, unconvertible, constraint) → dead-letter.
 *  - ConfigError: the user's manifest/connection is wrong → stop at startup with every problem listed.
 *  - FatalError: anything else we cannot continue from → stop with a clear message, exit non-zero.
 * Programmer errors (TypeError, RangeError…) are never retried.
 */
export class NilusError extends Error {
  readonly retriable: boolean = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class RetriableError extends NilusError {
  override readonly retriable = true;
}

/** A problem with one event; carries where it came from so it can be dead-lettered or reported. */
export class DataError extends NilusError {
  constructor(
    message: string,
    readonly where: { topic: string; partition: number; offset: string } | undefined,
    options?: { cause?: unknown },
  ) {
    super(where ? `${message} (topic ${where.topic}, partition ${where.partition}, offset ${where.offset})` : message, options);
  }
}

export interface ConfigProblem {
  /** Dotted path in the manifest, e.g. 'spec.sink.options.dest_table'. */
  readonly path: string;
  readonly message: string;
  /** 1-based line and column in the YAML source, when known. */
  readonly line?: number;
  readonly col?: number;
}

export class ConfigError extends NilusError {
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(
      problems
        .map((p) => `${p.path}${p.line ? ` (line ${p.line}:${p.col ?? 1})` : ''}: ${p.message}`)
        .join('\n'),
    );
  }
}

export class FatalError extends NilusError {}

/**
 * The offsets stored in PostgreSQL moved under us: another consumer of the group applied this
 * partition since we loaded it (a rebalance or a zombie member). The flush was rolled back; what
 * we hold is discarded and re-read from the stored offsets. Not a failure of the data.
 */
export class FencedError extends NilusError {
  constructor(readonly partitions: readonly { topic: string; partition: number }[]) {
    super(`stored offsets moved for ${partitions.map((p) => `${p.topic}[${p.partition}]`).join(', ')}: another consumer applied them; re-reading from the stored offsets`);
  }
}
