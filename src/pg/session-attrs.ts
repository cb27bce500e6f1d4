/**
 * libpq's target_session_attrs rules, pure: which facts about a connected server each value needs,
 * and whether a server with those facts is acceptable.
 *
 *   any             every server
 *   read-write      `SHOW transaction_read_only` is off (not a hot standby, and
 *                   default_transaction_read_only off)
 *   read-only       `SHOW transaction_read_only` is on
 *   primary         `pg_is_in_recovery()` is false
 *   standby         `pg_is_in_recovery()` is true
 *   prefer-standby  a standby if any listed host is one; otherwise, in a second pass over all hosts, any
 *
 * A host that is refused is closed and the next one tried, just as if its connection had failed.
 */
import type { TargetSessionAttrs } from '../config/types';

/** What was learnt from a connected server; a fact not needed is not asked. */
export interface ServerFacts {
  readonly transactionReadOnly?: boolean;
  readonly inRecovery?: boolean;
}

/** The attrs a pass over the hosts requires: prefer-standby is a standby pass, then an any pass. */
export type PassAttrs = Exclude<TargetSessionAttrs, 'prefer-standby'>;

export function passes(attrs: TargetSessionAttrs | undefined): readonly PassAttrs[] {
  if (attrs === 'prefer-standby') return ['standby', 'any'];
  return [attrs ?? 'any'];
}

export function needs(attrs: PassAttrs): { readonly readOnly: boolean; readonly recovery: boolean } {
  return { readOnly: attrs === 'read-write' || attrs === 'read-only', recovery: attrs === 'primary' || attrs === 'standby' };
}

/** undefined when the server is acceptable, otherwise why it is not (in libpq's words where it has them). */
export function refusal(attrs: PassAttrs, facts: ServerFacts): string | undefined {
  switch (attrs) {
    case 'any':
      return undefined;
    case 'read-write':
      return facts.transactionReadOnly === false ? undefined : 'session is read-only (SHOW transaction_read_only = on)';
    case 'read-only':
      return facts.transactionReadOnly === true ? undefined : 'session is not read-only (SHOW transaction_read_only = off)';
    case 'primary':
      return facts.inRecovery === false ? undefined : 'server is in hot standby mode (pg_is_in_recovery() = true)';
    case 'standby':
      return facts.inRecovery === true ? undefined : 'server is not in hot standby mode (pg_is_in_recovery() = false)';
  }
}
