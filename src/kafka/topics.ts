/**
 * Which Kafka topics a pipeline reads: `<topic.prefix>.<schema>.<table>` topics whose
 * `<schema>.<table>` part matches the include list (all when empty) and not the exclude list,
 * like Debezium's own include lists. Pure, so it is unit-tested without a broker.
 */
export interface TopicFilter {
  readonly prefix: string;
  readonly include: readonly RegExp[];
  readonly exclude: readonly RegExp[];
}

/** Kafka's own and Kafka Connect's internal topics are never data. */
function isInternal(topic: string): boolean {
  return topic.startsWith('__') || topic.startsWith('_');
}

/** The `<schema>.<table>` (or `<table>`) part of a topic under the prefix, or undefined. */
export function collectionOf(topic: string, prefix: string): string | undefined {
  if (!topic.startsWith(prefix + '.')) return undefined;
  const rest = topic.slice(prefix.length + 1);
  return rest.length > 0 ? rest : undefined;
}

export function topicMatches(topic: string, f: TopicFilter): boolean {
  if (isInternal(topic)) return false;
  const coll = collectionOf(topic, f.prefix);
  if (coll === undefined) return false;
  // Debezium's heartbeat and transaction topics share the prefix but carry no rows.
  if (coll.startsWith('__debezium') || coll === 'transaction') return false;
  if (f.include.length > 0 && !f.include.some((r) => r.test(coll))) return false;
  return !f.exclude.some((r) => r.test(coll));
}

export function matchingTopics(all: readonly string[], f: TopicFilter): string[] {
  return all.filter((t) => topicMatches(t, f)).sort();
}
