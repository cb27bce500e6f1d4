import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { CoreEmitter } from '../../../src/kernel/events';
import { createMetrics } from '../../../src/observe/metrics';

const docker = join(__dirname, '..', '..', '..', 'docker');

interface Panel {
  title: string;
  targets: { expr: string }[];
}

describe('Grafana dashboard and Prometheus config', () => {
  const dash = JSON.parse(readFileSync(join(docker, 'grafana', 'dashboards', 'nilus-pg.json'), 'utf8')) as { uid: string; panels: Panel[] };

  test('every metric a panel queries is one the worker exports', async () => {
    const m = createMetrics(new CoreEmitter(), { pipeline: 'p' });
    const exported = new Set((await m.registry.getMetricsAsJSON()).map((x) => x.name));
    const queried = new Set<string>();
    for (const p of dash.panels) {
      for (const t of p.targets) {
        for (const name of t.expr.match(/\b(?:nilus|process|nodejs)_[a-z_]+/g) ?? []) queried.add(name.replace(/_(bucket|sum|count)$/, ''));
      }
    }
    const unknown = [...queried].filter((n) => !exported.has(n));
    expect(unknown).toEqual([]);
    expect(queried.size).toBeGreaterThanOrEqual(10);
  });

  test('the required panels are present', () => {
    const titles = dash.panels.map((p) => p.title.toLowerCase()).join(' | ');
    for (const word of ['by op', 'flush duration p50 / p99', 'lag per partition', 'end-to-end latency p50 / p99', 'dead letters', 'errors', 'retries', 'buffered bytes', 'rss']) {
      expect(titles).toContain(word);
    }
  });

  test('Prometheus scrapes nilus-pg on 9464 and provisioning points at the dashboards folder', () => {
    const prom = parse(readFileSync(join(docker, 'prometheus.yml'), 'utf8')) as {
      scrape_configs: { job_name: string; metrics_path: string; dns_sd_configs: { names: string[]; port: number }[] }[];
    };
    const job = prom.scrape_configs.find((j) => j.job_name === 'nilus-pg')!;
    expect(job.metrics_path).toBe('/metrics');
    expect(job.dns_sd_configs[0]).toMatchObject({ names: ['nilus-pg'], port: 9464 });
    const prov = parse(readFileSync(join(docker, 'grafana', 'provisioning', 'dashboards', 'nilus-pg.yml'), 'utf8')) as {
      providers: { options: { path: string } }[];
    };
    expect(prov.providers[0]!.options.path).toBe('/var/lib/grafana/dashboards');
    const ds = parse(readFileSync(join(docker, 'grafana', 'provisioning', 'datasources', 'prometheus.yml'), 'utf8')) as {
      datasources: { uid: string; url: string }[];
    };
    expect(ds.datasources[0]).toMatchObject({ uid: 'prometheus', url: 'http://prometheus:9090' });
  });
});
