/** Manifests of managed PostgreSQL CDC pipelines (the address names the stack's source database), shared by the managed and verify tests. */
import { targetPgUrl } from './pg';
import { connectUrl, kafkaBrokers, sourcePgUrl } from './stack';

/** A managed cdc manifest capturing `<srcSchema>.orders` (or `include`) into `dest`. */
export function managedManifest(o: { name: string; srcSchema: string; dest: string; include?: string; cdc?: Record<string, unknown>; options?: Record<string, unknown> }): string {
  return JSON.stringify({
    name: o.name,
    version: 'v1alpha',
    type: 'nilus',
    spec: {
      type: 'cdc',
      source: {
        address: sourcePgUrl(),
        options: { kafka: `kafka://${kafkaBrokers().join(',')}`, connect_url: connectUrl() },
        cdc: { 'collection.include.list': o.include ?? `${o.srcSchema}.orders`, 'topic.prefix': o.name, 'topic.refresh.ms': 1000, ...o.cdc },
      },
      sink: { address: targetPgUrl(), options: { dest_table: o.dest, incremental_strategy: 'merge', http_port: 0, 'batch.max_age_ms': 200, log_level: 'warn', ...o.options } },
    },
  });
}
