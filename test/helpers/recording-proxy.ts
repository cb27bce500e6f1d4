/**
 * A TCP proxy that forwards both ways unchanged and keeps every byte clients sent: what a test
 * needs to prove a value never reached the server (not in a COPY into a staging table, a
 * parameter or any statement). Use it with an unencrypted connection (the stack's PostgreSQL
 * speaks plain TCP), or the bytes are ciphertext.
 */
import net from 'node:net';

export class RecordingProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  /** Per client connection, the chunks it sent, in order. */
  private readonly streams: Buffer[][] = [];

  private constructor(private readonly host: string, private readonly targetPort: number) {}

  /** Listens on 127.0.0.1 (a free port) and forwards to host:port. */
  static async start(host: string, port: number): Promise<RecordingProxy> {
    const p = new RecordingProxy(host, port);
    p.server = net.createServer((client) => {
      const server = net.connect(p.targetPort, p.host);
      p.sockets.add(client).add(server);
      const chunks: Buffer[] = [];
      p.streams.push(chunks);
      client.on('data', (b: Buffer) => {
        chunks.push(Buffer.from(b));
        server.write(b);
      });
      server.on('data', (b: Buffer) => client.write(b));
      const close = (): void => {
        client.destroy();
        server.destroy();
        p.sockets.delete(client);
        p.sockets.delete(server);
      };
      client.on('close', close).on('error', close);
      server.on('close', close).on('error', close);
    });
    await new Promise<void>((resolve) => p.server!.listen(0, '127.0.0.1', resolve));
    return p;
  }

  get port(): number {
    const a = this.server?.address();
    if (!a || typeof a === 'string') throw new Error('the proxy is not listening');
    return a.port;
  }

  /** Bytes clients sent so far. */
  get sentBytes(): number {
    return this.streams.reduce((n, s) => n + s.reduce((m, c) => m + c.length, 0), 0);
  }

  /** Whether clients sent `text` (UTF-8) in any connection, across chunk boundaries too. */
  sent(text: string): boolean {
    const needle = Buffer.from(text, 'utf8');
    return this.streams.some((s) => Buffer.concat(s).includes(needle));
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
