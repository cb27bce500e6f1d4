/**
 * The pure half of `nilus-pg deadletters`: which letters a `--table` names, and how a replay
 * settles each letter once it has run (applied and removed, failed again with its new reason, or
 * left as it was because Kafka no longer holds its record).
 */
import { resolveDestTable } from '../config';
import { tableFromTopic } from '../decode/source';
import type { StoredLetter } from '../deadletter/store';
import { positionKey as key } from '../kafka/read-at';
import type { Position, TableRef } from '../kernel/types';
const same = (a: TableRef, b: TableRef): boolean => a.schema === b.schema && a.table === b.table;

/**
 * The target a letter's topic lands in (`<prefix>.<schema>.<table>` through dest_table), or
 * undefined when the topic does not follow the prefix (its events name their table themselves).
 */
export function targetOfTopic(topic: string, prefix: string, destTable: string): TableRef | undefined {
  let source;
  try {
    source = tableFromTopic(topic, prefix);
  } catch {
    return undefined; // not <prefix>.<schema>.<table>: no target can be told from the topic alone
  }
  return resolveDestTable(destTable, source);
}

/** The letters whose topic lands in `table` (all of them without one). */
export function lettersOf(letters: readonly StoredLetter[], table: TableRef | undefined, prefix: string, destTable: string): StoredLetter[] {
  if (!table) return [...letters];
  return letters.filter((l) => {
    const t = targetOfTopic(l.topic, prefix, destTable);
    return t !== undefined && same(t, table);
  });
}

export interface Settled {
  /** Applied (or, under stale_guard, found older than the row stored): removed with the apply. */
  readonly replayed: readonly StoredLetter[];
  /** Rejected again: kept, with the new reason. */
  readonly failed: readonly { readonly letter: StoredLetter; readonly reason: string }[];
  /** Kafka no longer holds the record (retention): kept unchanged. */
  readonly gone: readonly StoredLetter[];
}

/**
 * How each letter ends, from the positions Kafka no longer had and the reasons of the records
 * rejected again (by decode or by PostgreSQL), by position. Every letter lands in exactly one list.
 */
export function settle(letters: readonly StoredLetter[], gone: readonly Position[], rejected: ReadonlyMap<string, string>): Settled {
  const goneKeys = new Set(gone.map(key));
  const replayed: StoredLetter[] = [];
  const failed: { letter: StoredLetter; reason: string }[] = [];
  const left: StoredLetter[] = [];
  for (const l of letters) {
    const k = key(l);
    const reason = rejected.get(k);
    if (goneKeys.has(k)) left.push(l);
    else if (reason !== undefined) failed.push({ letter: l, reason });
    else replayed.push(l);
  }
  return { replayed, failed, gone: left };
}
