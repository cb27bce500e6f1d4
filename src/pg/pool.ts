/**
 * PostgreSQL connections with libpq's sslmode meaning (the attempts each mode makes: ./ssl.ts).
 *
 * Every connection has TCP keepalive (an idle connection whose peer vanished is found by the
 * kernel). A connection given SessionLimits (the sink's) also bounds each statement: the server
 * cancels it after statement_timeout, and when the server cannot even say so (a partition that
 * drops packets: keepalive does not probe while data is in flight, and Node cannot set
 * TCP_USER_TIMEOUT) the client gives up CLIENT_GRACE_MS later, destroys the socket, and the
 * statement fails as a lost connection ("Query read timeout"), retried on a new connection.
 *
 * An address with several hosts or a target_session_attrs connects through ./select-host.ts, every
 * time: connectPg, the pool's probe, and each client the pool makes later (so a client made after a
 * failover finds the new primary). node-postgres binds a client to one host when it is made and
 * cannot reconnect it, so a pool client finds its host with a short-lived probe connection first,
 * then connects to that host and checks the server again on its own connection.
 */
import pg from 'pg';
import { DEFAULTS } from '../config/defaults';
import type { PgConnection } from '../config/types';
import { explainPgError } from './explain';
import { sessionSetup, type SessionLimits } from './session';
import { sslPlan, type SslSetting } from './ssl';
import { needsSelection, noHostError, onHost, refusedMessage, selectHost, factsOf } from './select-host';
import { passes, refusal, type PassAttrs } from './session-attrs';
import { hostsOf } from './conninfo';
import type { PgHostPort } from '../config/types';

export type { SessionLimits } from './session';
export { sslPlan } from './ssl';
export { sessionSetup } from './session';

/** The driver's types, for the rooms that pass pools and clients around without using the driver. */
export type { Client, Pool, PoolClient } from 'pg';

/** TCP keepalive of nilus-pg's side: the first probe after this long idle. */
export const KEEPALIVE_IDLE_MS = 10_000;
/**
 * How much longer than statement_timeout the client waits for an answer before it decides the
 * server cannot be heard: the server's own cancellation gets this long to arrive first.
 */
export const CLIENT_GRACE_MS = 5_000;

/** How long the client waits for one statement under these limits. */
export function clientDeadlineMs(limits: SessionLimits): number {
  return limits.statementTimeoutMs + CLIENT_GRACE_MS;
}

const READ_TIMEOUT = 'Query read timeout';

/** The error node-postgres rejects a statement with when query_timeout passed without an answer. */
export function isQueryReadTimeout(err: unknown): boolean {
  return err instanceof Error && err.message === READ_TIMEOUT;
}

type Callback = (err: Error | null | undefined, res?: unknown) => unknown;
type ConnectCallback = ((err: Error) => void) | ((err: null, c: pg.Client) => void);

/** What a pool's clients need to find their host again on every connect. */
interface Selection {
  readonly conn: PgConnection;
  /** The TLS setting found working per host:port, so probes do not negotiate it again. */
  readonly ssl: Map<string, SslSetting>;
}

/**
 * A pg.Client that, with `limits`, runs sessionSetup() as part of connecting and, when a statement
 * outlives query_timeout, destroys its socket: node-postgres only rejects the statement and leaves
 * the connection waiting on an answer that will never come, so the ROLLBACK after it would wait as
 * long again. With the socket gone every queued statement fails at once ("Connection terminated
 * unexpectedly") and the pool discards the client when it is released. With a `selection` (a pool
 * of a multi-host address or a target_session_attrs) it first finds its host (retarget) and checks
 * the server again once connected.
 */
function clientClass(limits: SessionLimits | undefined, selection?: Selection): typeof pg.Client {
  const setup = limits ? sessionSetup(limits) : undefined;
  class BoundedClient extends pg.Client {
    private abandoned = false;

    constructor(config?: pg.ClientConfig) {
      super(config);
      // A selecting pool's own timeout covers the whole search; each connection keeps connect_timeout.
      if (selection) (this as unknown as { _connectionTimeoutMillis: number })._connectionTimeoutMillis = selection.conn.connectTimeoutMs;
    }

    override connect(): Promise<pg.Client>;
    override connect(callback: ConnectCallback): void;
    override connect(callback?: ConnectCallback): Promise<pg.Client> | void {
      const ready = this.connectAndSetUp();
      if (!callback) return ready;
      ready.then(
        (c) => (callback as (err: null, c: pg.Client) => void)(null, c),
        (e: Error) => (callback as (err: Error) => void)(e),
      );
    }

    // The driver's overloads are many; every form is forwarded as it came, with its completion watched.
    override query(config: any, values?: any, callback?: any): any {
      const watchErr = (err: unknown): void => {
        if (isQueryReadTimeout(err)) this.abandon();
      };
      const wrap = (cb: Callback): Callback =>
        function (this: unknown, err, res) {
          if (err) watchErr(err);
          return cb.call(this, err, res);
        };
      if (config !== null && typeof config === 'object' && typeof config.submit === 'function') {
        // A submittable (COPY streams): node-postgres reports its timeout through query.callback.
        const own: Callback | undefined = typeof config.callback === 'function' ? config.callback : undefined;
        if (own) config.callback = wrap(own);
        else if (typeof values === 'function') values = wrap(values as Callback);
        else if (typeof callback === 'function') callback = wrap(callback as Callback);
        return super.query(config, values, callback);
      }
      if (typeof values === 'function') return super.query(config, wrap(values as Callback));
      if (typeof callback === 'function') return super.query(config, values, wrap(callback as Callback));
      const result = super.query(config, values) as Promise<unknown>;
      // Observes the outcome only; the caller still gets `result` and its rejection.
      result.then(undefined, watchErr);
      return result;
    }

    private async connectAndSetUp(): Promise<pg.Client> {
      const found = selection ? await this.retarget(selection) : undefined;
      await super.connect();
      try {
        if (setup) await super.query(setup);
        if (found) {
          // The server may have changed role between the probe and this connection.
          const why = refusal(found.pass, await factsOf(this, found.pass));
          if (why !== undefined) throw noHostError(selection!.conn, [refusedMessage(found.host, why)], undefined);
        }
      } catch (e) {
        this.abandon();
        throw e;
      }
      return this;
    }

    /** Points this (not yet connected) client at the host a probe found acceptable. */
    private async retarget(sel: Selection): Promise<{ host: PgHostPort; pass: PassAttrs }> {
      const found = await selectHost(sel.conn, (one) => connectOneHost(one, undefined, sel.ssl));
      await found.client.end().catch(() => undefined);
      const { host, port } = found.host;
      const params = (this as unknown as { connectionParameters: { host: string; port: number } }).connectionParameters;
      this.host = params.host = host;
      this.port = params.port = port;
      // node-postgres reads these when the connection starts: the TLS setting that host accepted.
      (this as unknown as { ssl: SslSetting }).ssl = found.ssl;
      (this.connection as unknown as { ssl: SslSetting }).ssl = found.ssl;
      return { host: found.host, pass: found.pass };
    }

    /** Drops the connection without a goodbye (a goodbye would wait on the same silent peer). */
    private abandon(): void {
      if (this.abandoned) return;
      this.abandoned = true;
      // The 'error' the client emits for its lost socket is ours; every statement on it fails on its own.
      this.on('error', () => undefined);
      // After node-postgres has handed the timeout to the statement (it does so on the next tick).
      setImmediate(() => this.connection.stream.destroy());
    }
  }
  return BoundedClient;
}

function clientConfig(conn: PgConnection, ssl: SslSetting, limits?: SessionLimits): pg.ClientConfig {
  return {
    ...(limits ? { query_timeout: clientDeadlineMs(limits) } : {}),
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_IDLE_MS,
    host: conn.host,
    port: conn.port,
    database: conn.database,
    user: conn.username,
    password: conn.password,
    ssl,
    connectionTimeoutMillis: conn.connectTimeoutMs,
    application_name: 'nilus-pg',
  };
}

/**
 * Whether the next attempt of the plan is worth making after `err`: libpq moves on when the
 * server answers "no TLS here" or rejects the startup with an error; a network failure would
 * only fail again.
 */
function worthNextAttempt(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (/does not support SSL/i.test(String(e.message))) return true;
  return typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) && e.code !== '3D000';
}

/** One host (conn.host:conn.port), through its sslmode plan; `known` remembers what worked per host. */
async function connectOneHost(conn: PgConnection, limits: SessionLimits | undefined, known?: Map<string, SslSetting>): Promise<{ client: pg.Client; ssl: SslSetting }> {
  const key = `${conn.host}:${conn.port}`;
  const seen = known?.get(key);
  const plan = (await sslPlan(conn)).attempts;
  // What worked last time first; the whole plan after it, should the server have changed.
  const attempts = seen !== undefined ? [seen, ...plan] : plan;
  const Client = clientClass(limits);
  let last: unknown;
  for (let i = 0; i < attempts.length; i++) {
    const ssl = attempts[i];
    const client = new Client(clientConfig(conn, ssl, limits));
    try {
      await client.connect();
      known?.set(key, ssl);
      return { client, ssl };
    } catch (err) {
      last = err;
      await client.end().catch(() => undefined);
      if (!worthNextAttempt(err)) break;
    }
  }
  throw explainPgError(last, conn);
}

/** A connected client on the host the address selects (./select-host.ts), and its TLS setting. */
async function connectWith(conn: PgConnection, limits: SessionLimits | undefined, known?: Map<string, SslSetting>): Promise<{ client: pg.Client; ssl: SslSetting; host: PgHostPort }> {
  if (!needsSelection(conn)) return { ...(await connectOneHost(conn, limits, known)), host: { host: conn.host, port: conn.port } };
  return selectHost(conn, (one) => connectOneHost(one, limits, known));
}

/**
 * The limits of a connection given none: the sink options' defaults, for the short statements of
 * checks and teardown.
 */
export const DEFAULT_LIMITS: SessionLimits = { statementTimeoutMs: DEFAULTS.sink.statementTimeoutMs, lockTimeoutMs: DEFAULTS.sink.lockTimeoutMs };

/** One connected client; failures come back as explained NilusErrors (never with the password). */
export async function connectPg(conn: PgConnection, limits: SessionLimits = DEFAULT_LIMITS): Promise<pg.Client> {
  return (await connectWith(conn, limits)).client;
}

/**
 * A pool whose connections all use the mode a probe connection found working, so allow/prefer
 * negotiate once instead of on every new connection. Without `limits` (the readers of a batch
 * source and of verify, whose one COPY … TO lasts as long as the table) statements are not
 * bounded; keepalive still applies.
 */
export async function createPool(conn: PgConnection, max = 4, limits?: SessionLimits): Promise<pg.Pool> {
  const selection: Selection | undefined = needsSelection(conn) ? { conn, ssl: new Map() } : undefined;
  const { client, ssl, host } = await connectWith(conn, limits, selection?.ssl);
  await client.end();
  const Client = clientClass(limits, selection) as unknown as new () => pg.ClientBase;
  const config = clientConfig(onHost(conn, host), ssl, limits);
  // pg.Pool bounds a whole connect by connectionTimeoutMillis; a selecting client may try every
  // host (twice for prefer-standby) and then connect to the one found, each within connect_timeout.
  const tries = hostsOf(conn).length * passes(conn.targetSessionAttrs).length + 1;
  const pool = new pg.Pool({ ...config, ...(selection ? { connectionTimeoutMillis: conn.connectTimeoutMs * tries } : {}), max, Client });
  // An idle client losing its connection must not crash the process: the next checkout reconnects
  // (and reports its own error if the server is really gone).
  pool.on('error', () => undefined);
  return pool;
}
