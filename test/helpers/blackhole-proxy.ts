/**
 * A TCP proxy that can play a dropped-packet partition: `blackhole()` stops forwarding in both
 * directions without closing or resetting any socket (bytes are read and thrown away, as a
 * firewall dropping packets would; a client that closes its end is not told to the other side),
 * new connections are accepted and hear nothing. `heal()` forwards again for connections that
 * lost nothing; a connection whose bytes were dropped is out of step for good, so the first byte
 * either end sends on it after heal() resets both ends (as TCP answers a segment for a connection
 * the peer already gave up with RST). A damaged connection whose client closed its end during the
 * partition is reset on the server's side at heal(): what the client's kernel answers the server's
 * next keepalive probe (the proxy's own socket would answer those probes, so it plays the answer).
 */
import net from 'node:net';

interface Pair {
  readonly client: net.Socket;
  server: net.Socket | undefined;
  /** Bytes of this pair were thrown away during a partition. */
  damaged: boolean;
  /** The client closed its end while the pair was damaged or partitioned. */
  clientGone: boolean;
}

export class BlackholeProxy {
  private server: net.Server | undefined;
  private readonly pairs = new Set<Pair>();
  /** Every client socket not yet closed, also those of pairs already forgotten (half-closed by end()). */
  private readonly sockets = new Set<net.Socket>();
  private dropping = false;
  /** Armed by blackholeAfter(): true when this chunk starts the partition. */
  private trigger: ((chunk: Buffer) => boolean) | undefined;
  /** Bytes thrown away since the last blackhole(), both directions. */
  dropped = 0;
  /** Connections reset after heal() because they had lost bytes. */
  resets = 0;

  private constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  /** Listens on 127.0.0.1 (a free port) and forwards to host:port. */
  static async start(targetHost: string, targetPort: number): Promise<BlackholeProxy> {
    const p = new BlackholeProxy(targetHost, targetPort);
    await p.listen();
    return p;
  }

  get port(): number {
    const a = this.server?.address();
    if (!a || typeof a === 'string') throw new Error('the proxy is not listening');
    return a.port;
  }

  get partitioned(): boolean {
    return this.dropping;
  }

  /** Connections currently open through the proxy (client side). */
  get connections(): number {
    return this.pairs.size;
  }

  /** From now on, nothing goes through in either direction, and nothing is closed. */
  blackhole(): void {
    this.dropping = true;
    this.dropped = 0;
  }

  /**
   * Arms a partition that starts right after the first chunk a client sends that `matches` (that
   * chunk still goes through): a partition caught in the middle of a conversation, e.g. of a COPY.
   * Resolves when it started.
   */
  blackholeAfter(matches: (chunk: Buffer) => boolean): Promise<void> {
    return new Promise((resolve) => {
      this.trigger = (chunk) => {
        if (!matches(chunk)) return false;
        this.trigger = undefined;
        this.blackhole();
        resolve();
        return true;
      };
    });
  }

  /** Forwards again (see the header for what happens to connections that lost bytes). */
  heal(): void {
    this.dropping = false;
    for (const pair of [...this.pairs]) {
      if (pair.damaged && pair.clientGone) this.reset(pair);
      else if (pair.clientGone) {
        // Closed during the partition without losing a byte: the close goes through now.
        pair.server?.end();
        this.pairs.delete(pair);
      } else if (!pair.damaged && !pair.server) this.connectUpstream(pair);
    }
  }

  async close(): Promise<void> {
    for (const pair of this.pairs) {
      pair.client.destroy();
      pair.server?.destroy();
    }
    this.pairs.clear();
    // server.close() waits for every accepted socket, including one only half-closed by end().
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private listen(): Promise<void> {
    const server = net.createServer((client) => this.accept(client));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
  }

  private accept(client: net.Socket): void {
    const pair: Pair = { client, server: undefined, damaged: false, clientGone: false };
    this.pairs.add(pair);
    this.sockets.add(client);
    client.once('close', () => this.sockets.delete(client));
    // Bytes a client sends before the upstream socket exists wait here (paused), not dropped.
    client.pause();
    client.on('data', (chunk: Buffer) => {
      if (this.dropping) return this.drop(pair, chunk.length);
      if (pair.damaged) return this.reset(pair);
      pair.server?.write(chunk);
      if (pair.server) this.trigger?.(chunk);
    });
    client.on('error', () => undefined);
    client.on('close', () => {
      if (this.dropping || pair.damaged) {
        // The server does not learn of it: during the partition nothing goes through, after it
        // the server's side hears of it only when it sends something (or probes: heal()).
        pair.clientGone = true;
        return;
      }
      pair.server?.end();
      this.pairs.delete(pair);
    });
    if (!this.dropping) this.connectUpstream(pair);
    else client.resume(); // read and drop, like a partition: the client's writes do not block in our buffers
  }

  private connectUpstream(pair: Pair): void {
    const server = net.connect(this.targetPort, this.targetHost);
    pair.server = server;
    server.on('connect', () => {
      if (!pair.damaged) pair.client.resume();
    });
    server.on('data', (chunk: Buffer) => {
      if (this.dropping) return this.drop(pair, chunk.length);
      if (pair.damaged) return this.reset(pair);
      pair.client.write(chunk);
    });
    server.on('error', () => undefined);
    server.on('close', () => {
      if (this.dropping || pair.damaged) return; // the client does not learn of it
      pair.client.end();
      this.pairs.delete(pair);
    });
  }

  private drop(pair: Pair, bytes: number): void {
    pair.damaged = true;
    this.dropped += bytes;
  }

  /** A byte on a connection that lost bytes, after the partition: both ends get RST. */
  private reset(pair: Pair): void {
    this.resets++;
    if (!pair.client.destroyed) pair.client.resetAndDestroy();
    if (pair.server && !pair.server.destroyed) pair.server.resetAndDestroy();
    this.pairs.delete(pair);
  }
}
