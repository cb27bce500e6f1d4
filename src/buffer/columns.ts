/**
 * The union of the column lists of the events in one batch, in first-seen order.
 * Events decoded with the same schema share one `columns` array instance, so the union is only
 * re-merged when that instance changes: O(1) per event in the common case.
 */
import type { ColumnSpec } from '../kernel/types';

export class ColumnUnion {
  private specs: ColumnSpec[] = [];
  private index = new Map<string, number>();
  private last: readonly ColumnSpec[] | undefined;

  add(columns: readonly ColumnSpec[]): void {
    if (columns === this.last) return;
    this.last = columns;
    for (const spec of columns) {
      const at = this.index.get(spec.name);
      if (at === undefined) {
        this.index.set(spec.name, this.specs.length);
        this.specs.push(spec);
      } else {
        // A later schema wins for a column it shares (e.g. a widened type), keeping the position.
        this.specs[at] = spec;
      }
    }
  }

  /** Hands the union over and starts a new, empty one. */
  take(): ColumnSpec[] {
    const out = this.specs;
    this.reset();
    return out;
  }

  reset(): void {
    this.specs = [];
    this.index = new Map();
    this.last = undefined;
  }
}
