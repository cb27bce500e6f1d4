/**
 * A target changed under the sink by someone else (a DBA) while the pipeline writes to it, seen as
 * the error of a flush statement:
 *  - 42703 undefined_column: a column the cached description holds was dropped or renamed. The
 *    flush is rolled back (which forgets every cached description), and retried: the next attempt
 *    reads the table again and adds the column back through the normal evolution path
 *    (auto_evolve). If the same column is missing again right after that, the statement that
 *    names it is not the sink's own (a trigger, a rule): the pipeline stops instead of looping.
 *  - 42P01 undefined_table: the table was dropped. Re-creating it empty and going on would hide
 *    that the rows applied before are gone, so the pipeline stops naming the table and the fixes.
 */
import { FatalError, RetriableError } from '../kernel/errors';
import { sqlStateOf } from '../kernel/classify';
import { tableName } from '../pg/ident';
import type { TableRef } from '../kernel/types';

/** A column of the target vanished: retried once with a fresh description of the table. */
export class TargetColumnGoneError extends RetriableError {
  constructor(
    readonly table: string,
    readonly detail: string,
    cause: unknown,
  ) {
    super(
      `a column of ${table} is gone (${detail}): it was dropped or renamed while the pipeline was writing ` +
        'to the table; the flush is retried after reading the table again, which adds the column back ' +
        '(rows written before stay in the renamed column, or are gone with the dropped one)',
      { cause },
    );
  }
}

/** The target table was dropped mid-stream: the pipeline stops. */
export class TargetDroppedError extends FatalError {
  constructor(
    readonly table: string,
    cause: unknown,
  ) {
    super(
      `target table ${table} was dropped while the pipeline was writing to it (${(cause as Error).message}); ` +
        'the rows applied to it before are gone with it, so the pipeline stopped instead of re-creating it ' +
        'empty. Nothing of this flush was applied and the stored offsets still point before it. To fix: ' +
        'restore the table (from a backup) and restart, the pipeline resumes where it stopped; or resync ' +
        'it (a new snapshot of the source, or a batch run) and restart; or, to accept the loss, restart: ' +
        'with auto_create the table is created again and holds only the rows changed from then on ' +
        '(nilus-pg verify, for a pipeline with a managed source, shows the difference)',
      { cause },
    );
  }
}

/**
 * Remembers the last column found gone, so that the same one missing again right after the table
 * was read afresh stops the pipeline instead of retrying forever.
 */
export class TargetChanges {
  private lastGone: string | undefined;

  /** The error to throw instead of `e` raised while writing to `target`, or undefined to keep `e`. */
  explain(e: unknown, target: TableRef): Error | undefined {
    const code = sqlStateOf(e);
    const table = tableName(target);
    if (code === '42P01') return new TargetDroppedError(table, e);
    if (code !== '42703') return undefined;
    const detail = (e as Error).message;
    const key = `${table}\u0000${detail}`;
    if (this.lastGone === key) {
      this.lastGone = undefined;
      return new FatalError(
        `${detail} (SQLSTATE 42703) while writing to ${table}, again after the table was read afresh and the ` +
          'missing columns added: the statement naming it is not the sink\'s own (a trigger or rule on the ' +
          'table?). Fix the trigger or rule, then restart: the pipeline resumes at this flush',
        { cause: e },
      );
    }
    this.lastGone = key;
    return new TargetColumnGoneError(table, detail, e);
  }

  /** A flush committed: whatever went missing before has been dealt with. */
  committed(): void {
    this.lastGone = undefined;
  }
}
