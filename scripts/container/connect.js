'use strict';
// Kafka Connect REST and Kafka clean-up for scripts/container-test.sh, with node's own fetch (no
// curl needed). Mirrors test/helpers/debezium.ts: register a Debezium PostgreSQL source connector
// and wait until connector and task run; delete one; delete a topic and a consumer group.
//
//   node connect.js register <connect-url> <name> <json config>   waits for RUNNING (90 s)
//   node connect.js status   <connect-url> <name>
//   node connect.js delete   <connect-url> <name>
//   node connect.js kafka-clean <brokers> <topic> <group>          needs the repo's node_modules
const [cmd, ...args] = process.argv.slice(2);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function rest(base, method, path, body) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  return { status: res.status, ok: res.ok, json: () => JSON.parse(text), text };
}

async function register(base, name, config) {
  const put = await rest(base, 'PUT', `/connectors/${encodeURIComponent(name)}/config`, JSON.parse(config));
  if (!put.ok) throw new Error(`registering ${name}: HTTP ${put.status} ${put.text}`);
  const deadline = Date.now() + 90_000;
  let last = 'no status yet';
  while (Date.now() < deadline) {
    const res = await rest(base, 'GET', `/connectors/${encodeURIComponent(name)}/status`);
    if (res.ok) {
      const s = res.json();
      const failed = [s.connector, ...s.tasks].find((x) => x.state === 'FAILED');
      if (failed) throw new Error(`connector ${name} FAILED: ${failed.trace || '(no trace)'}`);
      last = `connector ${s.connector.state}, tasks ${s.tasks.map((t) => t.state).join(',') || 'none'}`;
      if (s.connector.state === 'RUNNING' && s.tasks.some((t) => t.state === 'RUNNING')) return;
    }
    await sleep(500);
  }
  throw new Error(`connector ${name} not running after 90 s (${last})`);
}

async function kafkaClean(brokers, topic, group) {
  let Kafka;
  try {
    ({ Kafka } = require(require('node:path').join(__dirname, '..', '..', 'node_modules', 'kafkajs')));
  } catch {
    console.error(`kafkajs not installed (npm ci): topic ${topic} and group ${group} are left on the broker`);
    return;
  }
  const admin = new Kafka({ brokers: brokers.split(','), logLevel: 0 }).admin();
  await admin.connect();
  try {
    if ((await admin.listGroups()).groups.some((g) => g.groupId === group)) await admin.deleteGroups([group]);
    if ((await admin.listTopics()).includes(topic)) await admin.deleteTopics({ topics: [topic] });
  } finally {
    await admin.disconnect();
  }
}

async function main() {
  switch (cmd) {
    case 'register':
      return register(args[0], args[1], args[2]);
    case 'status': {
      const res = await rest(args[0], 'GET', `/connectors/${encodeURIComponent(args[1])}/status`);
      console.log(res.text);
      return;
    }
    case 'delete': {
      const res = await rest(args[0], 'DELETE', `/connectors/${encodeURIComponent(args[1])}`);
      if (!res.ok && res.status !== 404) throw new Error(`deleting ${args[1]}: HTTP ${res.status} ${res.text}`);
      return;
    }
    case 'kafka-clean':
      return kafkaClean(args[0], args[1], args[2]);
    default:
      throw new Error(`unknown command ${cmd}`);
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err.message || String(err));
    process.exit(1);
  },
);
