/**
 * Experiment hook, not used by default: preloaded into a worker with
 *   --worker-node-args "--require=./bench/fetch-override.cjs"
 * it overrides the kafkajs consumer's fetch sizes from the environment, so fetch sizes can be
 * measured apart from memory_budget_bytes (which they are derived from) without changing src/.
 *   NILUS_BENCH_FETCH_MAX_BYTES, NILUS_BENCH_FETCH_MAX_BYTES_PER_PARTITION: bytes.
 */
'use strict';
const { Kafka } = require('kafkajs');
const maxBytes = Number(process.env.NILUS_BENCH_FETCH_MAX_BYTES) || undefined;
const perPartition = Number(process.env.NILUS_BENCH_FETCH_MAX_BYTES_PER_PARTITION) || undefined;
const consumer = Kafka.prototype.consumer;
Kafka.prototype.consumer = function (opts) {
  return consumer.call(this, { ...opts, ...(maxBytes ? { maxBytes } : {}), ...(perPartition ? { maxBytesPerPartition: perPartition } : {}) });
};
