'use strict';
// docker-compose.yml for Docker users, checked without a Docker engine (scripts/container-test.sh):
// 1. valid against the Compose JSON schema, with the schema dclint ships (npm package dclint,
//    installed by the caller; Debian's podman-compose 1.0.3 has no `config` command). dclint's
//    style rules (key order, quoting, ...) are not enforced, only `invalid-schema`/`invalid-yaml`.
// 2. its nilus-pg service runs the tested image the same way: the same health check test and
//    timings as the image's HEALTHCHECK, the same command, the config mounted read-only at
//    /etc/nilus, NILUS_CONNECTIONS as in the image.
//
//   node compose-check.js <dclint dir> <docker-compose.yml> <podman image inspect JSON file>
const { execFileSync } = require('node:child_process');
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const assert = require('node:assert/strict');

const [dclintDir, composeFile, inspectFile] = process.argv.slice(2).map((p) => require('node:path').resolve(p));
const problems = [];

let report;
try {
  report = execFileSync(process.execPath, [join(dclintDir, 'node_modules/dclint/bin/dclint.cjs'), '-f', 'json', composeFile], { encoding: 'utf8' });
} catch (err) {
  report = err.stdout; // exit 1 on any finding, style ones included
}
const messages = JSON.parse(report).flatMap((f) => f.messages);
for (const m of messages.filter((x) => /^invalid-(schema|yaml)$/.test(x.rule))) problems.push(`schema: ${m.message}`);
const style = messages.length - problems.length;

const YAML = require(join(dclintDir, 'node_modules/yaml'));
const svc = YAML.parse(readFileSync(composeFile, 'utf8')).services?.['nilus-pg'];
const inspected = JSON.parse(readFileSync(inspectFile, 'utf8'))[0];
const image = inspected.Config;
// podman reports the image's HEALTHCHECK beside Config, docker inside it.
const imageHc = image.Healthcheck ?? inspected.Healthcheck;
const ns = (d) => {
  const m = /^(\d+)(ms|s|m)$/.exec(String(d));
  return m ? Number(m[1]) * { ms: 1e6, s: 1e9, m: 60e9 }[m[2]] : NaN;
};
const same = (what, got, want) => {
  try {
    assert.deepEqual(got, want);
  } catch {
    problems.push(`nilus-pg ${what}: compose has ${JSON.stringify(got)}, the image ${JSON.stringify(want)}`);
  }
};
if (!svc) problems.push('no nilus-pg service');
else {
  const hc = svc.healthcheck ?? {};
  same('healthcheck.test', hc.test, imageHc?.Test);
  same('healthcheck.interval', ns(hc.interval), imageHc?.Interval);
  same('healthcheck.timeout', ns(hc.timeout), imageHc?.Timeout);
  same('healthcheck.start_period', ns(hc.start_period), imageHc?.StartPeriod);
  same('healthcheck.retries', hc.retries, imageHc?.Retries);
  same('command', svc.command ?? image.Cmd, image.Cmd);
  if (!(svc.volumes ?? []).includes('./config:/etc/nilus:ro')) problems.push('nilus-pg does not mount ./config at /etc/nilus read-only');
  const env = Object.fromEntries((image.Env ?? []).map((e) => e.split(/=(.*)/s).slice(0, 2)));
  same('NILUS_CONNECTIONS', svc.environment?.NILUS_CONNECTIONS ?? env.NILUS_CONNECTIONS, env.NILUS_CONNECTIONS);
}

if (problems.length) {
  for (const p of problems) console.error(p);
  process.exit(1);
}
console.log(`schema-valid (dclint's Compose schema; ${style} style notes not enforced); nilus-pg has the image's health check, command and /etc/nilus mount`);
