/**
 * A private Kafka KRaft cluster for fault tests that must stop, restart or partition a broker: the
 * shared stack's broker is never touched. It runs from the jars scripts/stack.sh fetched
 * (NILUS_STACK_CACHE, else .cache/stack of this clone), one JVM per node (broker and controller in
 * one process, small heap), on free ports, in a temp folder removed by `destroy()`.
 *
 * Each node has three listeners:
 * - CONTROLLER: the KRaft quorum (static voters, every node a voter);
 * - INTERNAL: between brokers, and for the test's own producer and admin (`internalBrokers`),
 *   which thereby never cross a proxy and keep producing through a partition;
 * - EXTERNAL: advertised as a BlackholeProxy in front of it (`proxies[i]`), the address the worker
 *   is given (`externalBrokers`); metadata fetched there names only proxies, so every byte the
 *   worker exchanges with any broker goes through a proxy that can drop it.
 *
 * `destroy()` kills every JVM (SIGKILL) and removes the folder; a process 'exit' hook does the same
 * if the test process dies first, so a failed test leaves nothing running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { BlackholeProxy } from '../../../helpers/blackhole-proxy';
import { freePort, sleep } from '../../ops/support';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const HOST = '127.0.0.1';

function cacheDir(): string {
  const dir = process.env.NILUS_STACK_CACHE ?? path.join(ROOT, '.cache', 'stack');
  if (!existsSync(path.join(dir, 'runtime'))) {
    throw new Error(`no Kafka jars in ${dir}/runtime: run \`bash scripts/stack.sh up\` once (it fetches them) or set NILUS_STACK_CACHE`);
  }
  return dir;
}

interface Node {
  readonly id: number;
  readonly dir: string;
  readonly conf: string;
  readonly internalPort: number;
  readonly externalPort: number;
  readonly controllerPort: number;
  proc: ChildProcess | undefined;
}

export interface PrivateKafkaOptions {
  /** Nodes (each broker and controller); default 1. */
  readonly nodes?: number;
  /** JVM heap per node; default -Xmx384m. */
  readonly heap?: string;
  /** Default replication factor and min.insync.replicas of new topics (default: nodes, nodes - 1 or 1). */
  readonly replicationFactor?: number;
}

const live = new Set<PrivateKafka>();
process.on('exit', () => {
  for (const k of live) k.killAllSync();
});

export class PrivateKafka {
  private readonly nodes: Node[];
  readonly proxies: BlackholeProxy[] = [];
  private clusterId = '';

  private constructor(
    private readonly root: string,
    nodes: Node[],
    private readonly heap: string,
    private readonly rf: number,
  ) {
    this.nodes = nodes;
  }

  /** Starts the cluster and waits until every broker is registered. */
  static async start(opts: PrivateKafkaOptions = {}): Promise<PrivateKafka> {
    const n = opts.nodes ?? 1;
    const root = mkdtempSync(path.join(tmpdir(), 'nilus-kafka-'));
    const nodes: Node[] = [];
    for (let i = 1; i <= n; i++) {
      const dir = path.join(root, `node${i}`);
      mkdirSync(path.join(dir, 'data'), { recursive: true });
      nodes.push({
        id: i, dir, conf: path.join(dir, 'server.properties'),
        internalPort: await freePort(), externalPort: await freePort(), controllerPort: await freePort(), proc: undefined,
      });
    }
    const k = new PrivateKafka(root, nodes, opts.heap ?? '-Xmx384m', opts.replicationFactor ?? n);
    live.add(k);
    try {
      for (const node of nodes) k.proxies.push(await BlackholeProxy.start(HOST, node.externalPort));
      k.writeConfigs();
      await k.format();
      for (const node of nodes) k.spawnNode(node);
      await k.waitForBrokers(n, 120_000);
    } catch (err) {
      await k.destroy();
      throw err;
    }
    return k;
  }

  get size(): number {
    return this.nodes.length;
  }

  /** Bootstrap list for the test's own clients: the internal listeners, no proxy. */
  get internalBrokers(): string[] {
    return this.nodes.map((n) => `${HOST}:${n.internalPort}`);
  }

  /** Bootstrap list for the worker: the proxies in front of the external listeners. */
  get externalBrokers(): string[] {
    return this.proxies.map((p) => `${HOST}:${p.port}`);
  }

  /** A kafkajs client on the internal listeners (the test's producer, admin and readers). */
  client(clientId = 'nilus-fault-test'): Kafka {
    return new Kafka({ clientId, brokers: this.internalBrokers, logLevel: logLevel.NOTHING, retry: { retries: 10 } });
  }

  /** The proxy in front of node `id` (1-based, as node.id). */
  proxy(id: number): BlackholeProxy {
    return this.proxies[id - 1]!;
  }

  running(id: number): boolean {
    const p = this.node(id).proc;
    return p !== undefined && p.exitCode === null && p.signalCode === null;
  }

  /** Stops node `id` with `signal` (SIGKILL: a crash; SIGTERM: a controlled shutdown) and waits for its exit. */
  async stopNode(id: number, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 60_000): Promise<void> {
    const node = this.node(id);
    const p = node.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    p.kill(signal);
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
    node.proc = undefined;
  }

  /** Starts node `id` again (same config and data) and waits until all brokers are registered. */
  async startNode(id: number, timeoutMs = 120_000): Promise<void> {
    const node = this.node(id);
    if (this.running(id)) return;
    this.spawnNode(node);
    await this.waitForBrokers(this.nodes.length, timeoutMs);
  }

  /**
   * Creates the topic and waits until every partition has a leader in the metadata of every
   * broker (a broker may answer UNKNOWN_TOPIC_OR_PARTITION for a moment after the creation).
   */
  async createTopic(topic: string, partitions: number, timeoutMs = 60_000): Promise<void> {
    const admin = this.client().admin();
    await admin.connect();
    try {
      await admin.createTopics({ waitForLeaders: false, topics: [{ topic, numPartitions: partitions, replicationFactor: this.rf }] });
    } finally {
      await admin.disconnect();
    }
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (const broker of this.internalBrokers) {
      for (;;) {
        const probe = new Kafka({ clientId: 'nilus-fault-probe', brokers: [broker], logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
        try {
          await probe.connect();
          const md = await probe.fetchTopicMetadata({ topics: [topic] });
          const ps = md.topics[0]?.partitions ?? [];
          if (ps.length === partitions && ps.every((p) => p.leader >= 0)) break;
          last = JSON.stringify(ps);
        } catch (err) {
          last = String(err);
        } finally {
          await probe.disconnect().catch(() => undefined);
        }
        if (Date.now() > deadline) throw new Error(`topic ${topic} has no leader for every partition on ${broker} after ${timeoutMs} ms: ${last}`);
        await sleep(200);
      }
    }
  }

  /** Leader node id of each partition of `topic`. */
  async leaders(topic: string): Promise<Record<number, number>> {
    const admin = this.client().admin();
    await admin.connect();
    try {
      const md = await admin.fetchTopicMetadata({ topics: [topic] });
      const out: Record<number, number> = {};
      for (const p of md.topics[0]!.partitions) out[p.partitionId] = p.leader;
      return out;
    } finally {
      await admin.disconnect();
    }
  }

  /** Kills every node and closes the proxies, then removes the folder. Safe to call twice. */
  async destroy(): Promise<void> {
    const exits = this.nodes.map((n) => {
      const p = n.proc;
      if (!p || p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
      const done = new Promise<void>((resolve) => p.once('exit', () => resolve()));
      p.kill('SIGKILL');
      return done;
    });
    await Promise.all(exits);
    for (const n of this.nodes) n.proc = undefined;
    for (const p of this.proxies) await p.close();
    live.delete(this);
    rmSync(this.root, { recursive: true, force: true });
  }

  /** For the 'exit' hook: no awaiting there. */
  killAllSync(): void {
    for (const n of this.nodes) {
      if (n.proc && n.proc.exitCode === null && n.proc.signalCode === null) n.proc.kill('SIGKILL');
    }
    rmSync(this.root, { recursive: true, force: true });
  }

  /** The last lines of node `id`'s log, for a failure message. */
  logTail(id: number): string {
    const file = path.join(this.node(id).dir, 'kafka.log');
    if (!existsSync(file)) return '(no log)';
    return readFileSync(file, 'utf8').split('\n').slice(-30).join('\n');
  }

  private node(id: number): Node {
    const n = this.nodes[id - 1];
    if (!n) throw new Error(`no node ${id} in a cluster of ${this.nodes.length}`);
    return n;
  }

  private writeConfigs(): void {
    const voters = this.nodes.map((n) => `${n.id}@${HOST}:${n.controllerPort}`).join(',');
    const rf = this.rf;
    const minIsr = rf > 1 ? rf - 1 : 1;
    for (const n of this.nodes) {
      const proxyPort = this.proxies[n.id - 1]!.port;
      writeFileSync(n.conf, [
        'process.roles=broker,controller',
        `node.id=${n.id}`,
        `controller.quorum.voters=${voters}`,
        `listeners=INTERNAL://${HOST}:${n.internalPort},EXTERNAL://${HOST}:${n.externalPort},CONTROLLER://${HOST}:${n.controllerPort}`,
        `advertised.listeners=INTERNAL://${HOST}:${n.internalPort},EXTERNAL://${HOST}:${proxyPort}`,
        'controller.listener.names=CONTROLLER',
        'inter.broker.listener.name=INTERNAL',
        'listener.security.protocol.map=INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT',
        `log.dirs=${path.join(n.dir, 'data')}`,
        'num.partitions=1',
        'auto.create.topics.enable=false',
        `default.replication.factor=${rf}`,
        `min.insync.replicas=${minIsr}`,
        `offsets.topic.replication.factor=${rf}`,
        'offsets.topic.num.partitions=3',
        `transaction.state.log.replication.factor=${rf}`,
        `transaction.state.log.min.isr=${minIsr}`,
        `share.coordinator.state.topic.replication.factor=${rf}`,
        `share.coordinator.state.topic.min.isr=${minIsr}`,
        'group.initial.rebalance.delay.ms=0',
        // A stopped broker is fenced within seconds, so leadership moves quickly.
        'broker.session.timeout.ms=4000',
        'broker.heartbeat.interval.ms=1000',
        'log.retention.hours=1',
        '',
      ].join('\n'));
    }
  }

  private javaArgs(logFile: string): string[] {
    return [
      this.heap, '-Xms128m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Djava.awt.headless=true',
      `-Dlog4j2.configurationFile=${path.join(ROOT, 'scripts', 'stack', 'log4j2.xml')}`, `-Dnilus.log.file=${logFile}`,
      '-cp', `${cacheDir()}/runtime/*`,
    ];
  }

  private async format(): Promise<void> {
    this.clusterId = (await this.runJava(['kafka.tools.StorageTool', 'random-uuid'], path.join(this.root, 'format.log'))).trim();
    for (const n of this.nodes) {
      await this.runJava(['kafka.tools.StorageTool', 'format', '-t', this.clusterId, '-c', n.conf], path.join(n.dir, 'format.log'));
    }
  }

  private runJava(args: string[], logFile: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const p = spawn('java', [...this.javaArgs(logFile), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      p.on('error', reject);
      p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`java ${args.join(' ')} exited ${String(code)}: ${err}${out}`))));
    });
  }

  private spawnNode(n: Node): void {
    const outFd = openSync(path.join(n.dir, 'kafka.out'), 'a');
    try {
      n.proc = spawn('java', [...this.javaArgs(path.join(n.dir, 'kafka.log')), 'kafka.Kafka', n.conf], { stdio: ['ignore', outFd, outFd] });
    } finally {
      closeSync(outFd);
    }
    n.proc.on('error', () => undefined);
  }

  private async waitForBrokers(n: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      const dead = this.nodes.filter((x) => x.proc && (x.proc.exitCode !== null || x.proc.signalCode !== null));
      if (dead.length > 0) throw new Error(`Kafka node ${dead[0]!.id} exited while starting:\n${this.logTail(dead[0]!.id)}`);
      const kafka = new Kafka({ clientId: 'nilus-fault-probe', brokers: this.internalBrokers, logLevel: logLevel.NOTHING, connectionTimeout: 1000, requestTimeout: 3000, retry: { retries: 0 } });
      const admin = kafka.admin();
      try {
        await admin.connect();
        const { brokers } = await admin.describeCluster();
        if (brokers.length >= n) return;
        last = `${brokers.length} of ${n} brokers registered`;
      } catch (err) {
        last = String(err);
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
      await sleep(500);
    }
    throw new Error(`the private Kafka cluster did not come up within ${timeoutMs} ms: ${last}\n${this.logTail(1)}`);
  }
}
