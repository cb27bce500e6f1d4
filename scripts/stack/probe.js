// Readiness probes for scripts/stack.sh; exit 0 when ready, 1 otherwise.
//   node probe.js kafka 127.0.0.1:9092
//   node probe.js connect http://127.0.0.1:8083 <connector class>...
'use strict';
const [kind, address, ...rest] = process.argv.slice(2);

async function kafka() {
  const { Kafka, logLevel } = require('kafkajs');
  const kafka = new Kafka({
    clientId: 'nilus-stack-probe',
    brokers: [address],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    connectionTimeout: 2000,
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.listTopics();
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

async function connect() {
  const res = await fetch(`${address}/connector-plugins`, { signal: AbortSignal.timeout(3000) });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const classes = (await res.json()).map((p) => p.class);
  const missing = rest.filter((c) => !classes.includes(c));
  if (missing.length > 0) throw new Error(`plugins not loaded: ${missing.join(', ')}`);
}

const probes = { kafka, connect };
if (!probes[kind]) {
  console.error(`unknown probe ${kind}; use kafka or connect`);
  process.exit(2);
}
probes[kind]().then(
  () => process.exit(0),
  (err) => {
    console.error(err.message);
    process.exit(1);
  },
);
