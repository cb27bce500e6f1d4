'use strict';
// The image's HEALTHCHECK (and docker-compose.yml's): GET /healthz on the worker's observability
// port, exit 0 when it answers 200 (the pipeline loop is alive), 1 otherwise. Node itself does the
// request because slim images have no curl. NILUS_HEALTH_PORT follows a manifest's http_port.
const http = require('node:http');

const port = Number(process.env.NILUS_HEALTH_PORT || 9464);
const req = http.get({ host: '127.0.0.1', port, path: '/healthz', timeout: 4000 }, (res) => {
  res.resume();
  process.exitCode = res.statusCode === 200 ? 0 : 1;
  if (res.statusCode !== 200) console.error(`/healthz answered ${res.statusCode}`);
});
req.on('timeout', () => req.destroy(new Error('timed out after 4 s')));
req.on('error', (err) => {
  console.error(`/healthz on port ${port}: ${err.message}`);
  process.exitCode = 1;
});
