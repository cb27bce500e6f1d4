import type { TableRef } from '../../kernel/types';
import { tableName } from '../../pg/ident';

/** Name of the table that marks the messages of a dead-letter TOPIC a replay settled, in the state schema. */
export const REPLAYED_LETTERS_TABLE = 'nilus_replayed_letters';

/**
 * One row per dead-letter topic message a replay settled: `replayed` (applied) or `replaced` (it
 * failed again and a message with the new reason was produced). The primary key makes a second
 * replay of the same message fail its transaction instead of applying twice.
 */
export function createReplayedLettersSql(t: TableRef): string {
  return (
    `CREATE TABLE IF NOT EXISTS ${tableName(t)} (dlq_topic text NOT NULL, dlq_partition int NOT NULL, dlq_offset bigint NOT NULL, ` +
    `outcome text NOT NULL, replayed_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (dlq_topic, dlq_partition, dlq_offset))`
  );
}
