/**
 * deploy/prometheus/nilus-pg.rules.yml: `promtool check rules` and `promtool test rules` (with
 * nilus-pg.rules.test.yml) pass, every alert is tested firing and not firing, and every metric and
 * label the rules and the Grafana dashboard query is one the worker registers in
 * src/observe/metrics.ts (so renaming a metric there fails here).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { CoreEmitter } from '../../../src/kernel/events';
import { createMetrics } from '../../../src/observe/metrics';
import { promqlRefs } from '../../helpers/promql';

const root = join(__dirname, '..', '..', '..');
const rulesFile = join(root, 'deploy', 'prometheus', 'nilus-pg.rules.yml');
const rulesTestFile = join(root, 'deploy', 'prometheus', 'nilus-pg.rules.test.yml');
const dashboardFile = join(root, 'docker', 'grafana', 'dashboards', 'nilus-pg.json');
const operationsDoc = join(root, 'docs', 'operations.md');

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const rules = (parse(readFileSync(rulesFile, 'utf8')) as { groups: { name: string; rules: AlertRule[] }[] }).groups.flatMap((g) => g.rules);

/** Runs promtool; a missing promtool fails the test with what to install, it never skips. */
function promtool(args: string[]): { status: number | null; output: string } {
  const r = spawnSync('promtool', args, { cwd: root, encoding: 'utf8', timeout: 60_000 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error("promtool not found in PATH: install Debian's prometheus package (apt-get update && apt-get install -y prometheus); .ci/run and scripts/stack.sh up do so when run as root");
  }
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

// ---- The worker's metrics, read from the source that declares them.

interface Declared {
  kind: 'counter' | 'gauge' | 'histogram';
  labels: string[];
}

/** `counter('nilus_x', 'help', ['pipeline', …])` (and gauge, histogram) in src/observe/metrics.ts. */
function declaredMetrics(source: string): Map<string, Declared> {
  const out = new Map<string, Declared>();
  const re = /\b(counter|gauge|histogram)\(\s*'(nilus_[a-z0-9_]+)'\s*,\s*'(?:[^'\\]|\\.)*'\s*,\s*\[([^\]]*)\]/g;
  for (const m of source.matchAll(re)) {
    const labels = [...m[3]!.matchAll(/'([a-z_]+)'/g)].map((l) => l[1]!);
    out.set(m[2]!, { kind: m[1] as Declared['kind'], labels });
  }
  return out;
}

const declared = declaredMetrics(readFileSync(join(root, 'src', 'observe', 'metrics.ts'), 'utf8'));

/** Series Prometheus writes itself for every target; `job` and `instance` are on every scraped series. */
const PROMETHEUS_SERIES: Record<string, string[]> = { up: [] };
const TARGET_LABELS = ['job', 'instance'];

/** The labels a referenced series has, or undefined when the worker (or Prometheus) has no such series. */
function seriesLabels(name: string, registered: Map<string, string[]>): string[] | undefined {
  if (name in PROMETHEUS_SERIES) return [...PROMETHEUS_SERIES[name]!, ...TARGET_LABELS];
  const direct = registered.get(name);
  if (direct) return [...direct, ...TARGET_LABELS];
  const h = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (h && declared.get(h[1]!)?.kind === 'histogram') {
    return [...declared.get(h[1]!)!.labels, ...TARGET_LABELS, ...(h[2] === 'bucket' ? ['le'] : [])];
  }
  return undefined;
}

/** Every problem with one expression: unknown metrics, matcher labels the metric lacks, grouping labels not on every metric. */
function problems(expr: string, registered: Map<string, string[]>): string[] {
  const refs = promqlRefs(expr);
  const out: string[] = [];
  const labelSets: string[][] = [];
  for (const name of refs.metrics) {
    const labels = seriesLabels(name, registered);
    if (!labels) out.push(`unknown metric ${name}`);
    else labelSets.push(labels);
  }
  for (const { metric, labels } of refs.matchers) {
    const has = seriesLabels(metric, registered);
    for (const l of labels) if (has && !has.includes(l)) out.push(`${metric} has no label ${l}`);
  }
  for (const l of refs.grouping) {
    if (labelSets.some((set) => !set.includes(l))) out.push(`label ${l} is not on every metric of the expression`);
  }
  return out;
}

/** Names and labels of the nilus_* metrics in metrics.ts, plus the process metrics the worker also registers. */
async function registeredMetrics(): Promise<Map<string, string[]>> {
  const m = createMetrics(new CoreEmitter(), { pipeline: 'p' });
  const reg = new Map<string, string[]>([...declared].map(([name, d]) => [name, d.labels]));
  for (const x of await m.registry.getMetricsAsJSON()) {
    if (!x.name.startsWith('nilus_')) reg.set(x.name, reg.get(x.name) ?? []);
  }
  m.close();
  return reg;
}

describe('Prometheus alert rules (deploy/prometheus/nilus-pg.rules.yml)', () => {
  test('promtool check rules accepts the file', () => {
    const r = promtool(['check', 'rules', rulesFile]);
    expect(r.output).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(r.status).toBe(0);
  });

  test('promtool test rules: every unit test in nilus-pg.rules.test.yml passes', () => {
    const r = promtool(['test', 'rules', rulesTestFile]);
    expect(r.output).toContain('SUCCESS');
    expect(r.output).not.toMatch(/FAILED/);
    expect(r.status).toBe(0);
  });

  test('the compose stack\'s Prometheus loads the rules: docker/prometheus.yml names the file docker-compose.yml mounts, and promtool check config accepts it', () => {
    const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as { services: { prometheus: { volumes: string[] } } };
    const mount = compose.services.prometheus.volumes.map((v) => v.split(':')).find(([from]) => from === './deploy/prometheus/nilus-pg.rules.yml');
    expect(mount).toEqual(['./deploy/prometheus/nilus-pg.rules.yml', '/etc/prometheus/rules/nilus-pg.rules.yml', 'ro']);
    const config = readFileSync(join(root, 'docker', 'prometheus.yml'), 'utf8');
    expect((parse(config) as { rule_files: string[] }).rule_files).toEqual([mount![1]]);
    // The same config with the mount resolved to this checkout.
    const dir = mkdtempSync(join(tmpdir(), 'nilus-promtool-'));
    try {
      writeFileSync(join(dir, 'prometheus.yml'), config.split(mount![1]!).join(rulesFile));
      const r = promtool(['check', 'config', join(dir, 'prometheus.yml')]);
      expect(r.output).toContain('SUCCESS: 1 rule files found');
      expect(r.output).toContain(`SUCCESS: ${rules.length} rules found`);
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('every alert is tested both firing and not firing', () => {
    const t = parse(readFileSync(rulesTestFile, 'utf8')) as {
      rule_files: string[];
      tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
    };
    expect(t.rule_files).toEqual(['nilus-pg.rules.yml']);
    const cases = t.tests.flatMap((x) => x.alert_rule_test ?? []);
    const names = rules.map((r) => r.alert);
    expect(names.length).toBeGreaterThanOrEqual(6);
    for (const name of names) {
      const mine = cases.filter((c) => c.alertname === name);
      expect({ name, fires: mine.some((c) => (c.exp_alerts ?? []).length > 0) }).toEqual({ name, fires: true });
      expect({ name, silent: mine.some((c) => (c.exp_alerts ?? []).length === 0) }).toEqual({ name, silent: true });
    }
    expect(new Set(cases.map((c) => c.alertname))).toEqual(new Set(names));
  });

  test('every alert has a severity, a summary, a description and a runbook section in docs/operations.md', () => {
    const doc = readFileSync(operationsDoc, 'utf8');
    const section = doc.slice(doc.indexOf('\n## Alerts\n'));
    expect(doc).toContain('\n## Alerts\n');
    for (const r of rules) {
      expect({ alert: r.alert, severity: r.labels?.severity }).toEqual({ alert: r.alert, severity: expect.stringMatching(/^(warning|critical)$/) });
      expect(r.annotations?.summary).toBeTruthy();
      expect(r.annotations?.description).toBeTruthy();
      expect(r.annotations?.runbook).toBe(`docs/operations.md#${r.alert.toLowerCase()}`);
      expect(section).toMatch(new RegExp(`\\n### ${r.alert}\\n`));
    }
  });
});

describe('metric names the rules and the dashboard query are the worker\'s', () => {
  test('metrics.ts is read completely: the declarations parsed are exactly the nilus_* metrics registered', async () => {
    const m = createMetrics(new CoreEmitter(), { pipeline: 'p' });
    const names = (await m.registry.getMetricsAsJSON()).map((x) => x.name).filter((n) => n.startsWith('nilus_'));
    m.close();
    expect([...declared.keys()].sort()).toEqual(names.sort());
    expect(declared.size).toBeGreaterThanOrEqual(25);
    expect(declared.get('nilus_consumer_lag')).toEqual({ kind: 'gauge', labels: ['pipeline', 'topic', 'partition'] });
  });

  test('the check finds a renamed metric, a label a metric lacks and a grouping label one side lacks', async () => {
    const reg = await registeredMetrics();
    expect(promqlRefs('sum by (a) (rate(x_total{b="1", c=~"y"}[5m])) unless on (d) y_seconds offset 10m > 0.5').metrics).toEqual(['x_total', 'y_seconds']);
    expect(problems('rate(nilus_flushes_totl[5m]) > 0', reg)).toEqual(['unknown metric nilus_flushes_totl']);
    expect(problems('nilus_flushes_total{topic="x"} > 0', reg)).toEqual(['nilus_flushes_total has no label topic']);
    expect(problems('sum by (pipeline, topic) (nilus_dead_lettered_total) unless on (topic) nilus_flushes_total', reg)).toEqual([
      'label topic is not on every metric of the expression',
      'label topic is not on every metric of the expression',
    ]);
    expect(problems('histogram_quantile(0.9, sum by (le) (rate(nilus_flush_duration_seconds_bucket[5m])))', reg)).toEqual([]);
    expect(problems('sum by (le) (rate(nilus_flushes_total_bucket[5m]))', reg)).toEqual(['unknown metric nilus_flushes_total_bucket']);
  });

  test('every metric and label the alert rules use exists on the worker (or is Prometheus\'s `up`)', async () => {
    const reg = await registeredMetrics();
    const used = new Set<string>();
    for (const r of rules) {
      expect({ alert: r.alert, problems: problems(r.expr, reg) }).toEqual({ alert: r.alert, problems: [] });
      const refs = promqlRefs(r.expr);
      refs.metrics.forEach((n) => used.add(n));
      // Labels the annotations print must be on every metric of the expression.
      const printed = [...JSON.stringify(r.annotations).matchAll(/\$labels\.([a-zA-Z_]+)/g)].map((x) => x[1]!);
      for (const l of printed) {
        const missing = refs.metrics.filter((n) => !seriesLabels(n, reg)?.includes(l));
        expect({ alert: r.alert, label: l, missing }).toEqual({ alert: r.alert, label: l, missing: [] });
      }
    }
    for (const name of ['up', 'nilus_source_connector_up', 'nilus_source_connector_task_failures_total', 'nilus_dead_lettered_total', 'nilus_retries_total', 'nilus_flushes_total', 'nilus_end_to_end_latency_seconds_bucket', 'nilus_consumer_lag']) {
      expect(used).toContain(name);
    }
  });

  test('every metric and label the Grafana dashboard queries exists on the worker', async () => {
    const reg = await registeredMetrics();
    const dash = JSON.parse(readFileSync(dashboardFile, 'utf8')) as { panels: { title: string; targets?: { expr: string }[] }[] };
    const exprs = dash.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ title: p.title, expr: t.expr })));
    expect(exprs.length).toBeGreaterThanOrEqual(10);
    const used = new Set<string>();
    for (const { title, expr } of exprs) {
      expect({ title, expr, problems: problems(expr, reg) }).toEqual({ title, expr, problems: [] });
      promqlRefs(expr).metrics.forEach((n) => used.add(n));
    }
    expect([...used].filter((n) => n.startsWith('nilus_')).length).toBeGreaterThanOrEqual(8);
  });
});
