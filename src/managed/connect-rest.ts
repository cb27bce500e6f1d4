/**
 * A small Kafka Connect REST client (fetch). A network failure or a 5xx (the worker starting,
 * a rebalance in progress: 409) is a RetriableError; any other answer is a FatalError carrying
 * Connect's own message (a 400 on PUT names the invalid property).
 */
import { FatalError, RetriableError } from '../kernel/errors';

export interface ConnectorState {
  readonly state: string;
  readonly worker_id?: string;
  readonly trace?: string;
}

export interface ConnectorStatus {
  readonly name: string;
  readonly connector: ConnectorState;
  readonly tasks: ReadonlyArray<ConnectorState & { readonly id: number }>;
}

export interface ConnectorPlugin {
  readonly class: string;
  readonly type?: string;
  readonly version?: string;
}

export class ConnectRest {
  constructor(readonly baseUrl: string, private readonly timeoutMs = 10_000) {}

  private async call(method: string, path: string, body?: unknown): Promise<Response> {
    const url = `${this.baseUrl}${path}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new RetriableError(`Kafka Connect ${this.baseUrl} unreachable (${method} ${path}): ${cause?.code ?? cause?.message ?? (e as Error).message}`, { cause: e });
    }
    if (res.status >= 500 || res.status === 409) {
      throw new RetriableError(`Kafka Connect ${method} ${path}: HTTP ${res.status} ${await message(res)}`);
    }
    return res;
  }

  private async json<T>(method: string, path: string, body?: unknown, allow404 = false): Promise<T | undefined> {
    const res = await this.call(method, path, body);
    if (res.status === 404 && allow404) return undefined;
    if (!res.ok) throw new FatalError(`Kafka Connect ${method} ${path}: HTTP ${res.status} ${await message(res)}`);
    return res.status === 204 ? undefined : ((await res.json()) as T);
  }

  /** `GET /`: the worker's version. */
  async info(): Promise<{ version: string; commit?: string }> {
    return (await this.json<{ version: string; commit?: string }>('GET', '/'))!;
  }

  async plugins(): Promise<ConnectorPlugin[]> {
    return (await this.json<ConnectorPlugin[]>('GET', '/connector-plugins'))!;
  }

  /**
   * `PUT /connector-plugins/{class}/config/validate`: the connector's own validation, run by the
   * worker (Debezium connects to the database with the config, from where Connect runs).
   * Returns the properties with errors.
   */
  async validate(connectorClass: string, config: Readonly<Record<string, string>>): Promise<{ name: string; errors: string[] }[]> {
    const r = await this.json<{ configs: { value: { name: string; errors: string[] } | null }[] }>('PUT', `/connector-plugins/${encodeURIComponent(connectorClass)}/config/validate`, config);
    // Debezium 3.6's MySQL connector lists a property with no value at all (value: null).
    return (r?.configs ?? []).flatMap((c) => (c.value && c.value.errors.length > 0 ? [{ name: c.value.name, errors: c.value.errors }] : []));
  }

  /** The connector's config as Connect holds it, or undefined when there is no such connector. */
  config(name: string): Promise<Record<string, string> | undefined> {
    return this.json<Record<string, string>>('GET', `/connectors/${encodeURIComponent(name)}/config`, undefined, true);
  }

  /** Create-or-update (idempotent on Connect's side too). */
  async putConfig(name: string, config: Readonly<Record<string, string>>): Promise<void> {
    await this.json('PUT', `/connectors/${encodeURIComponent(name)}/config`, config);
  }

  status(name: string): Promise<ConnectorStatus | undefined> {
    return this.json<ConnectorStatus>('GET', `/connectors/${encodeURIComponent(name)}/status`, undefined, true);
  }

  /** `POST /connectors` with `initial_state: STOPPED` (Kafka 3.7+): the connector exists, nothing runs. */
  async createStopped(name: string, config: Readonly<Record<string, string>>): Promise<void> {
    await this.json('POST', '/connectors', { name, config, initial_state: 'STOPPED' });
  }

  /** `PUT /connectors/{name}/stop` (Kafka 3.5+): tasks shut down, config kept; needed before resetting offsets. */
  async stop(name: string): Promise<void> {
    await this.json('PUT', `/connectors/${encodeURIComponent(name)}/stop`);
  }

  /** `DELETE /connectors/{name}/offsets` (Kafka 3.6+, connector STOPPED): forgets where the source was. */
  async resetOffsets(name: string): Promise<void> {
    await this.json('DELETE', `/connectors/${encodeURIComponent(name)}/offsets`);
  }

  /** Deletes the connector; false when there was none. */
  async remove(name: string): Promise<boolean> {
    const res = await this.call('DELETE', `/connectors/${encodeURIComponent(name)}`);
    if (res.status === 404) return false;
    if (!res.ok) throw new FatalError(`Kafka Connect DELETE /connectors/${name}: HTTP ${res.status} ${await message(res)}`);
    return true;
  }
}

async function message(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const m = (JSON.parse(text) as { message?: string }).message;
    if (m) return m;
  } catch {
    // not JSON: the text itself
  }
  return text.slice(0, 2000);
}
