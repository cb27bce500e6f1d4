/**
 * The worker's HTTP surface: /metrics (Prometheus text), /healthz (liveness), /readyz (readiness).
 * Plain node:http: three routes do not justify a framework, and the server must keep answering
 * while the pipeline is busy, so every handler is cheap and never touches Kafka or PostgreSQL.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { HealthState } from './health';

export interface HttpServerOptions {
  /** 0 picks a free port (tests). */
  readonly port: number;
  /** Default 0.0.0.0 so Prometheus can reach a container. */
  readonly host?: string;
  readonly registry: Registry;
  readonly health: () => HealthState;
}

export interface RunningHttpServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startHttpServer(opts: HttpServerOptions): Promise<RunningHttpServer> {
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
    throw new RangeError(`observe.httpPort must be an integer 0..65535, got ${opts.port}`);
  }
  const server = createServer((req, res) => {
    handle(req, res, opts).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: err instanceof Error ? err.message : String(err) });
      else res.destroy();
    });
  });
  // A scrape that stalls must not hold a socket forever.
  server.requestTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(new Error(`cannot listen on ${opts.host ?? '0.0.0.0'}:${opts.port}: ${err.message}`, { cause: err }));
    server.once('error', onError);
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => {
      server.off('error', onError);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, opts: HttpServerOptions): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return sendJson(res, 405, { error: `method ${req.method} not allowed` });
  }
  switch (path) {
    case '/metrics': {
      const body = await opts.registry.metrics();
      res.writeHead(200, { 'Content-Type': opts.registry.contentType });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    case '/healthz': {
      const h = opts.health();
      return sendJson(res, h.live ? 200 : 503, h.live ? { status: 'ok', sinceLastTickMs: h.sinceLastTickMs } : { status: 'stuck', reason: h.liveReason });
    }
    case '/readyz': {
      const h = opts.health();
      return sendJson(res, h.ready ? 200 : 503, {
        status: h.ready ? 'ready' : 'not ready',
        missing: h.missing,
        kafkaConnected: h.kafkaConnected,
        pgConnected: h.pgConnected,
        assigned: h.assigned,
        idle: h.idle,
        ...(h.batch ? { batch: h.batch } : {}),
        ...(h.sourceConnector ? { sourceConnector: h.sourceConnector } : {}),
      });
    }
    default:
      return sendJson(res, 404, { error: `no route ${path}; try /metrics, /healthz or /readyz` });
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(text);
}
