/**
 * The client's deadline against a server that stops answering: a real TCP server on localhost that
 * speaks just enough of the protocol (trust authentication, an answer to the session's SETs) and
 * then swallows one statement without a word, as a server behind a dropped-packet partition seems.
 */
import net from 'node:net';
import { connectPg, CLIENT_GRACE_MS, sessionSetup, type SessionLimits } from '../../../src/pg/pool';

const LIMITS: SessionLimits = { statementTimeoutMs: 1_000, lockTimeoutMs: 500 };

function msg(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}
const authOk = (): Buffer => msg('R', Buffer.from([0, 0, 0, 0]));
const ready = (): Buffer => msg('Z', Buffer.from('I', 'latin1'));
const complete = (tag: string): Buffer => msg('C', Buffer.from(`${tag}\0`, 'utf8'));

/** Answers the start-up and every simple query except those containing `hang`; records what it heard. */
class SilentServer {
  readonly queries: string[] = [];
  closedByClient = 0;
  private readonly server = net.createServer((s) => this.serve(s));

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as net.AddressInfo).port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private serve(s: net.Socket): void {
    let buf = Buffer.alloc(0);
    let started = false;
    s.on('close', () => this.closedByClient++);
    s.on('error', () => undefined);
    s.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        if (!started) {
          if (buf.length < 4 || buf.length < buf.readInt32BE(0)) return;
          buf = buf.subarray(buf.readInt32BE(0));
          started = true;
          s.write(Buffer.concat([authOk(), ready()]));
          continue;
        }
        if (buf.length < 5 || buf.length < 1 + buf.readInt32BE(1)) return;
        const type = String.fromCharCode(buf[0]);
        const len = buf.readInt32BE(1);
        const body = buf.subarray(5, 1 + len);
        buf = buf.subarray(1 + len);
        if (type !== 'Q') continue; // Terminate and the like
        const text = body.subarray(0, body.length - 1).toString('utf8');
        this.queries.push(text);
        if (text.includes('hang')) continue; // no answer, ever
        s.write(Buffer.concat([complete('SET'), ready()]));
      }
    });
  }
}

describe('a statement the server never answers', () => {
  const server = new SilentServer();
  let port: number;
  beforeAll(async () => {
    port = await server.listen();
  });
  afterAll(() => server.close());

  test('fails after statement_timeout + the grace as "Query read timeout", and the connection is destroyed at once', async () => {
    const client = await connectPg({ host: '127.0.0.1', port, database: 'd', username: 'u', password: '', sslmode: 'disable', connectTimeoutMs: 2_000 }, LIMITS);
    // The session set its bounds before anything else.
    expect(server.queries).toEqual([sessionSetup(LIMITS)]);

    const started = Date.now();
    const hung = await client.query('SELECT hang').then(
      () => 'answered',
      (e: Error) => ({ message: e.message, afterMs: Date.now() - started }),
    );
    const deadline = LIMITS.statementTimeoutMs + CLIENT_GRACE_MS;
    expect(hung).toEqual({ message: 'Query read timeout', afterMs: expect.any(Number) });
    const hungMs = (hung as { afterMs: number }).afterMs;
    expect({ atTheDeadline: hungMs >= deadline - 50 && hungMs < deadline + 1_000 }).toEqual({ atTheDeadline: true });

    // What a transaction does next, ROLLBACK: not another deadline of waiting behind the silent
    // statement; the socket is destroyed, so it fails at once.
    const rollbackAt = Date.now();
    const rollback = await client.query('ROLLBACK').then(
      () => 'answered',
      (e: Error) => ({ message: e.message, afterMs: Date.now() - rollbackAt }),
    );
    expect(rollback).toEqual({ message: expect.stringMatching(/^(Connection terminated unexpectedly|Client has encountered a connection error and is not queryable)$/), afterMs: expect.any(Number) });
    expect({ rollbackFailedPromptly: (rollback as { afterMs: number }).afterMs < 500 }).toEqual({ rollbackFailedPromptly: true });
    await new Promise((r) => setTimeout(r, 100));
    expect(server.closedByClient).toBe(1);
    // The ROLLBACK never reached the server: nothing more can go over that connection.
    expect(server.queries).toEqual([sessionSetup(LIMITS), 'SELECT hang']);
  }, 15_000);
});
