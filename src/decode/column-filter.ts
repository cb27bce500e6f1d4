/**
 * spec.sink.options.columns in the decoder (kernel/column-policy.ts): applied to the compiled value
 * schema, once per schema, so the general path (decodeRow) and the COPY-ready encoder
 * (./copy-ready.ts) both read only the columns that land and run each masked column's converter
 * followed by its mask. A dropped column is never read from the payload, so its value is in no
 * event, no buffer and no COPY. Rows without a compiled schema (MongoDB, schemaless JSON) are
 * filtered as events (`filterEvent`). Without rules the decoder never calls into this file.
 */
import { FatalError } from '../kernel/errors';
import type { ChangeEvent, ColumnSpec } from '../kernel/types';
import { ColumnPolicy, keyRefusal, type ColumnRules } from '../kernel/column-policy';
import type { Convert } from './codecs/registry';
import type { CompiledRow, CompiledValue } from './schema';

export class ColumnFilter {
  private readonly policy: ColumnPolicy;
  /** Column arrays of rows this filter compiled: events carrying them are filtered already. */
  private readonly filtered = new WeakSet<readonly ColumnSpec[]>();
  /** Key column lists checked already (the decoder passes the same arrays every time). */
  private readonly keysChecked = new WeakSet<readonly string[]>();

  constructor(rules: ColumnRules) {
    this.policy = new ColumnPolicy(rules);
  }

  /** The value schema as it lands: dropped fields gone, masked fields' converters followed by the mask. */
  value(v: CompiledValue): CompiledValue {
    if (v.row === null) return v;
    return { kind: v.kind, row: this.row(v.row) };
  }

  private row(r: CompiledRow): CompiledRow {
    const columns: ColumnSpec[] = [];
    const names: string[] = [];
    const converts: Convert[] = [];
    for (let i = 0; i < r.names.length; i++) {
      const fate = this.policy.fate(r.names[i]!);
      if (fate.kind === 'drop') continue;
      const convert = r.converts[i]!;
      names.push(r.names[i]!);
      columns.push(this.policy.column(r.columns[i]!)!);
      if (fate.kind === 'keep') converts.push(convert);
      else {
        const mask = fate.mask;
        const policy = this.policy;
        converts.push((x) => policy.maskValue(mask, convert(x)));
      }
    }
    const frozen = Object.freeze(columns);
    this.filtered.add(frozen);
    return { columns: frozen, names, converts, ...(r.protoColumn === true && names.includes('__proto__') ? { protoColumn: true } : {}) };
  }

  /** Throws FatalError when a key column is dropped or masked (checked once per key column list). */
  checkKey(keyColumns: readonly string[], where: string): void {
    if (this.keysChecked.has(keyColumns)) return;
    const refusal = keyRefusal(this.policy, keyColumns, where);
    if (refusal !== undefined) throw new FatalError(refusal);
    this.keysChecked.add(keyColumns);
  }

  /** An event decoded without a compiled row schema, filtered; one from a filtered schema as it is. */
  event(ev: ChangeEvent): ChangeEvent {
    if (this.filtered.has(ev.columns)) return ev;
    const p = this.policy;
    return {
      ...ev,
      columns: p.columns(ev.columns),
      before: ev.before === null ? null : p.row(ev.before),
      after: ev.after === null ? null : p.row(ev.after),
    };
  }
}
