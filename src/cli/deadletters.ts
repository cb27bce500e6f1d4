/**
 * `nilus-pg deadletters <manifest> list | replay`: what a CDC pipeline dead-lettered, and the
 * records behind it applied again once their cause is fixed (src/service/replay.ts).
 */
import { loadConfig } from '../config/load';
import { parseTableName } from '../config';
import type { StoredLetter } from '../deadletter/store';
import type { TableRef } from '../kernel/types';
import type { Settled } from '../service/letters';

export const DEADLETTERS_HELP = `Usage: nilus-pg deadletters <manifest.yaml> list [--table <schema.table>] [--since <time>] [--json] [--connections <file>]
       nilus-pg deadletters <manifest.yaml> replay [--table <schema.table>] [--since <time>] [--force] [--connections <file>]

The dead letters of a CDC pipeline whose manifest sets errors.deadletter.table or
errors.deadletter.topic. --table keeps the letters whose topic lands in that target table;
--since keeps those written at or after the time (ISO 8601, e.g. 2026-12-07T14:00:00Z).

list: one line per letter: id, when it was dead-lettered, its position (topic[partition]@offset)
and the reason; --json prints them as a JSON array. Exit 0.

replay: reads each letter's record back from Kafka at its position and applies it through the
pipeline's own decode and apply, in ONE transaction that also removes the letters that applied
and gives those rejected again their new reason: a replay run twice applies once. (A topic's
messages are marked in <state schema>.nilus_replayed_letters in that transaction instead; one
that fails again gets a new message with the new reason.) Fix the cause
first (widen the column, drop the constraint). Offsets are not moved; the worker may be running.
A merge pipeline without spec.sink.options.stale_guard is refused (an older dead letter would
overwrite newer rows of its key) unless --force. With the guard, a letter older than the stored
row is removed without changing the row. A letter whose record Kafka no longer holds stays as it is.
Prints one line per letter (replayed, failed again, gone) and a summary.
Exit 0 when every letter replayed, 1 when some failed again or are gone, 2 when the manifest or
the command line is wrong (or replay was refused).`;

export interface DeadLettersIo {
  out(line: string): void;
  err(line: string): void;
}

export interface DeadLettersArgs {
  readonly manifest: string;
  readonly action: string | undefined;
  readonly table?: string;
  readonly since?: string;
  readonly json?: boolean;
  readonly force?: boolean;
  readonly connections?: string;
}

/** The --table and --since values checked, or the message naming the wrong one. */
export function parseQuery(a: { table?: string; since?: string }): { table?: TableRef; since?: string } | string {
  const out: { table?: TableRef; since?: string } = {};
  if (a.table !== undefined) {
    const t = parseTableName(a.table);
    if (typeof t === 'string') return `--table wants <schema>.<table>: ${t.replace(/^dest_table must be/, 'it must be')}`;
    out.table = t;
  }
  if (a.since !== undefined) {
    if (a.since.trim() === '' || Number.isNaN(Date.parse(a.since))) return `--since wants a time (ISO 8601, e.g. 2026-12-07T14:00:00Z), got "${a.since}"`;
    out.since = new Date(Date.parse(a.since)).toISOString();
  }
  return out;
}

const where = (l: StoredLetter): string => `${l.topic}[${l.partition}]@${l.offset}`;

export function formatLetter(l: StoredLetter): string {
  return `${l.id}\t${l.createdAt}\t${where(l)}\t${l.errorClass}\t${l.reason}`;
}

export function formatSettled(s: Settled): string[] {
  const lines = [
    ...s.replayed.map((l) => `replayed\t${l.id}\t${where(l)}`),
    ...s.failed.map((f) => `failed again\t${f.letter.id}\t${where(f.letter)}\t${f.reason}`),
    ...s.gone.map((l) => `gone\t${l.id}\t${where(l)}\tKafka no longer holds this record (retention, compaction or deleted records); the letter is kept`),
  ];
  lines.push(`${s.replayed.length} replayed, ${s.failed.length} failed again (kept with the new reason), ${s.gone.length} gone from Kafka (kept)`);
  return lines;
}

export async function deadLettersCommand(a: DeadLettersArgs, io: DeadLettersIo): Promise<number> {
  if (a.action !== 'list' && a.action !== 'replay') {
    io.err(`deadletters wants list or replay${a.action ? `, got "${a.action}"` : ''}\n\n${DEADLETTERS_HELP}`);
    return 2;
  }
  if (a.action === 'list' && a.force) {
    io.err('--force is for replay only');
    return 2;
  }
  const q = parseQuery(a);
  if (typeof q === 'string') {
    io.err(q);
    return 2;
  }
  const cfg = await loadConfig(a.manifest, { connectionsPath: a.connections });
  // Imported lazily, like run: validate/check must not load the pipeline.
  const { listLetters, replayLetters } = await import('../service/replay');
  if (a.action === 'list') {
    const letters = await listLetters(cfg, q);
    if (a.json) io.out(JSON.stringify(letters, null, 2));
    else {
      io.out('id\tdead-lettered at\tposition\tclass\treason');
      for (const l of letters) io.out(formatLetter(l));
      io.out(`${letters.length} dead letter(s)`);
    }
    return 0;
  }
  const settled = await replayLetters(cfg, { ...q, ...(a.force ? { force: true } : {}) });
  for (const line of formatSettled(settled)) io.out(line);
  return settled.failed.length + settled.gone.length === 0 ? 0 : 1;
}
