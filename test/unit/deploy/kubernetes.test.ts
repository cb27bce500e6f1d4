/**
 * deploy/kubernetes: the kustomize base and its ServiceMonitor overlay, rendered with
 * `kubectl kustomize` and validated against the Kubernetes schemas (scripts/validate-k8s.mjs,
 * kubernetes-models); then what the objects must say to run nilus-pg: the manifest as a ConfigMap
 * and the connections as a Secret, mounted where the image reads them and valid for `nilus-pg
 * validate`, probes on /healthz and /readyz at the manifest's http_port, a grace period for the
 * graceful stop, a PodDisruptionBudget and selectors that match the pods.
 * kubectl is Debian's kubernetes-client (.ci/run installs it); without it this test fails.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { main } from '../../../src/cli/main';
import { DEFAULTS } from '../../../src/config/defaults';

const ROOT = join(__dirname, '..', '..', '..');
const DIR = join(ROOT, 'deploy', 'kubernetes');

type Obj = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; [k: string]: any };

function render(dir: string): { objects: Obj[]; yaml: string } {
  const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error('kubectl is not installed: install Debian\'s kubernetes-client (apt-get install kubernetes-client; .ci/run does) to render deploy/kubernetes');
  }
  if (r.status !== 0) throw new Error(`kubectl kustomize ${dir} failed (exit ${r.status}): ${r.stderr}`);
  return { yaml: r.stdout, objects: parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj) };
}

function validate(yaml: string): { status: number | null; lines: { kind: string; name: string; error?: string }[]; stderr: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'validate-k8s.mjs')], { input: yaml, encoding: 'utf8', cwd: ROOT });
  return { status: r.status, stderr: r.stderr, lines: r.stdout.trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l)) };
}

const one = (objects: Obj[], kind: string): Obj => {
  const found = objects.filter((o) => o.kind === kind);
  expect(found).toHaveLength(1);
  return found[0]!;
};
const matches = (selector: Record<string, string>, labels: Record<string, string> = {}): boolean =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

describe('deploy/kubernetes', () => {
  let base: ReturnType<typeof render>;
  let monitored: ReturnType<typeof render>;
  beforeAll(() => {
    base = render(join(DIR, 'base'));
    monitored = render(join(DIR, 'servicemonitor'));
  });

  it('renders valid objects: the base, and the overlay with a ServiceMonitor', () => {
    const cases: [ReturnType<typeof render>, string[]][] = [
      [base, ['ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Secret', 'Service']],
      [monitored, ['ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Secret', 'Service', 'ServiceMonitor']],
    ];
    for (const [r, kinds] of cases) {
      const v = validate(r.yaml);
      expect(v.lines.filter((l) => l.error !== undefined)).toEqual([]);
      expect(v.status).toBe(0);
      expect(v.lines.map((l) => l.kind).sort()).toEqual(kinds);
    }
  });

  it('the validator refuses an object the schemas refuse, and a kind it has no schema for', () => {
    const deployment = one(base.objects, 'Deployment');
    const bad = JSON.stringify({ ...deployment, spec: { ...deployment.spec, replicas: 'two' } });
    const v = validate(`${bad}\n---\napiVersion: example.com/v1\nkind: Unknown\nmetadata: {name: x}\n`);
    expect(v.status).toBe(1);
    expect(v.lines.map((l) => l.error)).toEqual([expect.stringMatching(/spec\/replicas must be integer/), expect.stringMatching(/no schema for example.com\/v1 Unknown/)]);
  });

  it('runs the manifest of the ConfigMap with the connections of the Secret, as the image reads them', async () => {
    const cm = one(base.objects, 'ConfigMap');
    const secret = one(base.objects, 'Secret');
    const pod = one(base.objects, 'Deployment').spec.template.spec;
    const c = pod.containers[0];
    expect(c.args).toEqual(['run', '/etc/nilus/manifest.yaml']);
    expect(c.env).toContainEqual({ name: 'NILUS_CONNECTIONS', value: '/etc/nilus/connections.yaml' });
    const mount = c.volumeMounts.find((m: any) => m.mountPath === '/etc/nilus');
    const sources = pod.volumes.find((v: any) => v.name === mount.name).projected.sources;
    expect(sources).toEqual([
      { configMap: { name: cm.metadata.name, items: [{ key: 'manifest.yaml', path: 'manifest.yaml' }] } },
      { secret: { name: secret.metadata.name, items: [{ key: 'connections.yaml', path: 'connections.yaml' }] } },
    ]);
    // What is mounted is a valid pipeline for nilus-pg itself.
    const dir = mkdtempSync(join(tmpdir(), 'nilus-k8s-'));
    writeFileSync(join(dir, 'manifest.yaml'), cm.data['manifest.yaml']);
    writeFileSync(join(dir, 'connections.yaml'), Buffer.from(String(secret.data['connections.yaml']).replace(/\s/g, ''), 'base64'));
    const out: string[] = [];
    const code = await main(['validate', join(dir, 'manifest.yaml'), '--connections', join(dir, 'connections.yaml')], { out: (l) => out.push(l), err: (l) => out.push(l) });
    expect(out).toEqual([`ok: ${join(dir, 'manifest.yaml')}`]);
    expect(code).toBe(0);
  });

  it('probes /healthz and /readyz on the http_port, with a grace period for the graceful stop', () => {
    const d = one(base.objects, 'Deployment');
    const pod = d.spec.template.spec;
    const c = pod.containers[0];
    expect(d.spec.replicas).toBeGreaterThanOrEqual(2); // the scale-out: members of one consumer group
    const manifest = parse(one(base.objects, 'ConfigMap').data['manifest.yaml']) as { spec: { sink: { options: { http_port?: number } } } };
    const httpPort = manifest.spec.sink.options.http_port ?? DEFAULTS.observe.httpPort;
    expect(c.ports).toEqual([{ name: 'http', containerPort: httpPort, protocol: 'TCP' }]);
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    // A stop waits for the flush in flight and flushes what it holds (docs/operations.md).
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(60);
  });

  it('selectors of the Deployment, Service, PodDisruptionBudget and ServiceMonitor match', () => {
    const d = one(monitored.objects, 'Deployment');
    const podLabels = d.spec.template.metadata.labels;
    expect(matches(d.spec.selector.matchLabels, podLabels)).toBe(true);
    const svc = one(monitored.objects, 'Service');
    expect(matches(svc.spec.selector, podLabels)).toBe(true);
    expect(svc.spec.ports).toEqual([{ name: 'http', port: DEFAULTS.observe.httpPort, targetPort: 'http', protocol: 'TCP' }]);
    const pdb = one(monitored.objects, 'PodDisruptionBudget');
    expect(matches(pdb.spec.selector.matchLabels, podLabels)).toBe(true);
    expect(pdb.spec.maxUnavailable).toBe(1);
    const sm = one(monitored.objects, 'ServiceMonitor');
    expect(matches(sm.spec.selector.matchLabels, svc.metadata.labels)).toBe(true);
    expect(sm.spec.endpoints).toEqual([{ port: 'http', path: '/metrics', interval: '30s' }]);
  });
});
