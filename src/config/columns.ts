/**
 * spec.sink.options.columns → ColumnRules (src/kernel/column-policy.ts): the rules a schema cannot
 * state (patterns that compile, a declared primary key left alone) checked with the manifest, the
 * hash key read from the environment when the config is built.
 */
import type { ConfigProblem } from '../kernel/errors';
import { ColumnPolicy, compilePattern, keyRefusal, type ColumnMask, type ColumnRules } from '../kernel/column-policy';
import { DEFAULTS } from './defaults';
import type { RawColumns } from './raw-manifest';
import type { PathSeg } from './yaml-source';

const COLUMNS: PathSeg[] = ['spec', 'sink', 'options', 'columns'];

function maskOf(m: 'hash' | 'redact' | { value: string }): ColumnMask {
  return typeof m === 'string' ? { kind: m } : { kind: 'value', value: m.value };
}

/** The rules without the key (enough to match and to refuse a key column). */
function bareRules(c: RawColumns): ColumnRules {
  return {
    ...(c.include !== undefined ? { include: c.include } : {}),
    ...(c.exclude !== undefined ? { exclude: c.exclude } : {}),
    ...(c.mask !== undefined ? { mask: Object.entries(c.mask).map(([pattern, m]) => ({ pattern, mask: maskOf(m) })) } : {}),
  };
}

/** Manifest rules: every pattern compiles, and a declared primary key is neither dropped nor masked. */
export function columnProblems(c: RawColumns | undefined, primaryKey: string | string[] | undefined, at: (p: PathSeg[], msg: string) => void): void {
  if (c === undefined) return;
  let ok = true;
  for (const k of ['include', 'exclude'] as const) {
    (c[k] ?? []).forEach((p, i) => {
      const m = compilePattern(p);
      if (typeof m !== 'function') (ok = false), at([...COLUMNS, k, i], `${m.error} (a regex is written /…/ and matched against the whole column name)`);
    });
  }
  for (const p of Object.keys(c.mask ?? {})) {
    const m = compilePattern(p);
    if (typeof m !== 'function') (ok = false), at([...COLUMNS, 'mask', p], `${m.error} (a regex is written /…/ and matched against the whole column name)`);
  }
  if (!ok || primaryKey === undefined) return;
  const keys = typeof primaryKey === 'string' ? [primaryKey] : primaryKey;
  const refusal = keyRefusal(new ColumnPolicy({ ...bareRules(c), hashSecret: 'check' }), keys, 'primary_key');
  if (refusal !== undefined) at(COLUMNS, refusal);
}

/** The rules with the hash key from the environment; undefined when nothing is filtered or masked. */
export function columnRules(c: RawColumns | undefined, env: NodeJS.ProcessEnv, problems: ConfigProblem[]): ColumnRules | undefined {
  if (c === undefined) return undefined;
  const rules = bareRules(c);
  if (!ColumnPolicy.active(rules)) return undefined;
  if (!(rules.mask ?? []).some((r) => r.mask.kind === 'hash')) return rules;
  const name = c.hash_key_env ?? DEFAULTS.sink.columnHashKeyEnv;
  const key = env[name];
  if (key === undefined || key.length === 0) {
    problems.push({ path: 'spec.sink.options.columns.mask', message: `a hash mask needs its secret key in the environment variable ${name}, which is ${key === undefined ? 'not set' : 'empty'}: export it (keep the same key across runs so hashes stay joinable), or name another variable with columns.hash_key_env` });
    return rules;
  }
  return { ...rules, hashSecret: key };
}
