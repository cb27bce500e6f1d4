/**
 * Column filters and masks (spec.sink.options.columns): which source columns land in the target,
 * and which land masked. Pure; applied before COPY by the decoder (CDC, src/decode/column-filter.ts)
 * and the batch run (src/batch/batch-run.ts), and read by verify to compare what should land.
 *
 * A pattern is an exact column name, or `/regex/` matched against the whole name (anchored:
 * `/pii_.+/` matches `pii_email`, not `x_pii_email`). A column lands when no include is set or an
 * include pattern matches it, and no exclude pattern matches it. Masks (first matching rule wins):
 *  - hash: HMAC-SHA256 of the value's text under the secret key, as 64 lowercase hex characters
 *    (the same value gives the same hash in every run and every pipeline sharing the key);
 *  - redact: NULL;
 *  - value: a fixed text in place of every non-NULL value.
 * NULL stays NULL under every mask. A hashed or fixed-value column lands as `text`.
 */
import { createHmac } from 'node:crypto';
import type { ColumnSpec, PgValue, Row } from './types';
import { UNAVAILABLE } from './types';

export type ColumnMask = { readonly kind: 'hash' } | { readonly kind: 'redact' } | { readonly kind: 'value'; readonly value: string };

/** The rules as the manifest gives them (patterns as written), plus the hash key. Plain data: it crosses to decode threads. */
export interface ColumnRules {
  readonly include?: readonly string[];
  readonly exclude?: readonly string[];
  readonly mask?: readonly { readonly pattern: string; readonly mask: ColumnMask }[];
  /** The HMAC key of `hash` masks (required when one is set). Never logged (config/mask.ts masks `secret` keys). */
  readonly hashSecret?: string;
}

export type Matcher = (name: string) => boolean;

/** A pattern as a matcher, or the reason it is not one. `/…/` is an anchored regex; anything else an exact name. */
export function compilePattern(p: string): Matcher | { error: string } {
  if (p.length >= 2 && p.startsWith('/') && p.endsWith('/')) {
    let re: RegExp;
    try {
      re = new RegExp(`^(?:${p.slice(1, -1)})$`, 'u');
    } catch (e) {
      return { error: `invalid regular expression ${p}: ${(e as Error).message}` };
    }
    return (name) => re.test(name);
  }
  return (name) => name === p;
}

function matchers(list: readonly string[] | undefined): Matcher[] | undefined {
  if (list === undefined) return undefined;
  return list.map((p) => {
    const m = compilePattern(p);
    if (typeof m !== 'function') throw new TypeError(`column pattern: ${m.error}`);
    return m;
  });
}

/** What happens to one column: dropped, landed as it is, or landed masked. */
export type ColumnFate = { readonly kind: 'drop' } | { readonly kind: 'keep' } | { readonly kind: 'mask'; readonly mask: ColumnMask };

const DROP: ColumnFate = Object.freeze({ kind: 'drop' });
const KEEP: ColumnFate = Object.freeze({ kind: 'keep' });

export class ColumnPolicy {
  private readonly include: Matcher[] | undefined;
  private readonly exclude: Matcher[];
  private readonly masks: { readonly match: Matcher; readonly fate: ColumnFate }[];
  private readonly key: string | undefined;
  private readonly fates = new Map<string, ColumnFate>();

  constructor(rules: ColumnRules) {
    this.include = matchers(rules.include);
    this.exclude = matchers(rules.exclude) ?? [];
    this.masks = (rules.mask ?? []).map((r) => ({ match: matchers([r.pattern])![0]!, fate: Object.freeze({ kind: 'mask' as const, mask: r.mask }) }));
    this.key = rules.hashSecret;
    if (this.key === undefined && (rules.mask ?? []).some((r) => r.mask.kind === 'hash')) {
      throw new TypeError('ColumnRules: a hash mask needs hashSecret');
    }
  }

  /** Whether these rules change anything at all (an empty `columns` block does not). */
  static active(rules: ColumnRules | undefined): rules is ColumnRules {
    return rules !== undefined && (rules.include !== undefined || (rules.exclude?.length ?? 0) > 0 || (rules.mask?.length ?? 0) > 0);
  }

  fate(name: string): ColumnFate {
    let f = this.fates.get(name);
    if (f === undefined) {
      if ((this.include !== undefined && !this.include.some((m) => m(name))) || this.exclude.some((m) => m(name))) f = DROP;
      else f = this.masks.find((r) => r.match(name))?.fate ?? KEEP;
      if (this.fates.size < 65_536) this.fates.set(name, f);
    }
    return f;
  }

  /** The columns of `names` these rules drop or mask (a key column must be neither). */
  touched(names: readonly string[]): string[] {
    return names.filter((n) => this.fate(n).kind !== 'keep');
  }

  /** A value as it lands under `mask`: NULL and the unchanged-TOAST placeholder stay as they are. */
  maskValue(mask: ColumnMask, v: PgValue): PgValue {
    if (v === null || v === UNAVAILABLE) return v;
    if (mask.kind === 'redact') return null;
    if (mask.kind === 'value') return mask.value;
    return createHmac('sha256', this.key!).update(v, 'utf8').digest('hex');
  }

  /** The column as it lands (undefined: dropped). A hashed or fixed-value column becomes `text`. */
  column(c: ColumnSpec): ColumnSpec | undefined {
    const f = this.fate(c.name);
    if (f.kind === 'drop') return undefined;
    if (f.kind === 'mask' && f.mask.kind !== 'redact') return { ...c, pgType: 'text' };
    return c;
  }

  /** The columns as they land, in order. */
  columns(cols: readonly ColumnSpec[]): ColumnSpec[] {
    const out: ColumnSpec[] = [];
    for (const c of cols) {
      const l = this.column(c);
      if (l !== undefined) out.push(l);
    }
    return out;
  }

  /** A row as it lands: dropped columns left out, masked ones masked. */
  row(r: Row): Row {
    const out: Row = {};
    for (const name of Object.keys(r)) {
      const f = this.fate(name);
      if (f.kind === 'drop') continue;
      const v = r[name]!;
      const landed = f.kind === 'mask' ? this.maskValue(f.mask, v) : v;
      if (name === '__proto__') Object.defineProperty(out, name, { value: landed, enumerable: true, writable: true, configurable: true });
      else out[name] = landed;
    }
    return out;
  }
}

/** The refusal of a key column the rules drop or mask, naming it; undefined when the key is untouched. */
export function keyRefusal(policy: ColumnPolicy, key: readonly string[], where: string): string | undefined {
  const t = policy.touched(key);
  if (t.length === 0) return undefined;
  const what = t.map((n) => `"${n}" (${policy.fate(n).kind === 'drop' ? 'excluded' : 'masked'})`).join(', ');
  return `primary-key column ${what} of ${where} is excluded or masked by spec.sink.options.columns: merge, deletes and verify find rows by their key, so a key column must land as it is. Remove it from columns.exclude / columns.mask, or add it to columns.include`;
}
