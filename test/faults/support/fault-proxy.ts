import { createServer, createConnection, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 that stands between the worker and a real server and misbehaves
 * on demand, the way networks and overloaded archives do. Faults apply to what the server
 * sends back (the worker's requests pass untouched):
 *
 * - `latency`: every chunk of the answer is held for `ms`;
 * - `throttle`: the answer flows at `bytesPerSecond` (a trickle at a few bytes per second);
 * - `reset`: each connection is reset (RST) once `afterBytes` of the answer went through;
 * - `status`: a new connection is answered with this HTTP status and closed (a 503 from a
 *   load balancer in front of the archive);
 * - `refuse`: a new connection is closed at once.
 *
 * Setting a fault closes the connections already open, so pooled keep-alive sockets do not
 * escape it.
 */
export type ProxyFault =
  | { kind: 'none' }
  | { kind: 'latency'; ms: number }
  | { kind: 'throttle'; bytesPerSecond: number }
  | { kind: 'reset'; afterBytes: number }
  | { kind: 'status'; status: number }
  | { kind: 'refuse' };

export class FaultProxy {
  /** Connections accepted, and how many of them a fault cut short or refused. */
  readonly counts = { connections: 0, faulted: 0 };
  private fault: ProxyFault = { kind: 'none' };
  private readonly open = new Set<Socket>();
  private server?: Server;

  constructor(private readonly target: { host: string; port: number }) {}

  /** Listens on an ephemeral port and returns it. */
  async start(): Promise<number> {
    const server = createServer((client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  }

  set(fault: ProxyFault): void {
    this.fault = fault;
    for (const socket of this.open) socket.destroy();
    this.open.clear();
  }

  async stop(): Promise<void> {
    this.set({ kind: 'none' });
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  private accept(client: Socket): void {
    this.counts.connections++;
    const fault = this.fault;
    if (fault.kind === 'refuse') {
      this.counts.faulted++;
      client.destroy();
      return;
    }
    if (fault.kind === 'status') {
      this.counts.faulted++;
      client.on('error', () => undefined);
      client.once('data', () =>
        client.end(`HTTP/1.1 ${fault.status} Injected\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`),
      );
      return;
    }
    const upstream = createConnection(this.target);
    this.open.add(client);
    this.open.add(upstream);
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.open.delete(client);
      this.open.delete(upstream);
    };
    // The server ending its side is passed on by relayAnswer once the answer is through.
    client.on('error', close).on('close', close);
    upstream.on('error', close);
    client.pipe(upstream);
    this.relayAnswer(upstream, client, fault);
  }

  private relayAnswer(upstream: Socket, client: Socket, fault: ProxyFault): void {
    switch (fault.kind) {
      case 'latency':
        upstream.on('data', (chunk: Buffer) => setTimeout(() => client.write(chunk), fault.ms));
        upstream.on('end', () => setTimeout(() => client.end(), fault.ms));
        return;
      case 'throttle':
        this.throttle(upstream, client, fault.bytesPerSecond);
        return;
      case 'reset': {
        let sent = 0;
        upstream.on('data', (chunk: Buffer) => {
          const room = fault.afterBytes - sent;
          if (room > chunk.length) {
            sent += chunk.length;
            client.write(chunk);
            return;
          }
          this.counts.faulted++;
          client.write(chunk.subarray(0, Math.max(room, 0)), () => client.resetAndDestroy());
          upstream.destroy();
        });
        return;
      }
      default:
        upstream.pipe(client);
    }
  }

  /** Sends the answer on in 10 slices a second, each of bytesPerSecond / 10 bytes (at least one). */
  private throttle(upstream: Socket, client: Socket, bytesPerSecond: number): void {
    const perTick = Math.max(1, Math.floor(bytesPerSecond / 10));
    let pending = Buffer.alloc(0);
    let ended = false;
    upstream.on('end', () => (ended = true));
    upstream.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      // Hold the server back too, so that it does not buffer the whole answer in us.
      if (pending.length > 1 << 20) upstream.pause();
    });
    const timer = setInterval(() => {
      if (pending.length === 0) {
        if (ended) client.end();
        return;
      }
      client.write(pending.subarray(0, perTick));
      pending = pending.subarray(perTick);
      if (pending.length < 1 << 20) upstream.resume();
    }, 100);
    client.on('close', () => clearInterval(timer));
  }
}
