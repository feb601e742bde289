import type { AddressInfo } from 'node:net';
import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP relay the rig can cut: while `up` is false, new connections are closed at once and the
 * open ones are dropped — the terminal's view of a county link or a broker that went away, while
 * the far side (and anyone connected to it directly, such as a test's observer) stays up.
 */
export class TcpProxy {
  private linkUp = true;
  private readonly open = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /**
   * Listens on a free loopback port, or on the Unix socket `path` (then `port` is 0): the shaped
   * link's relay in its network namespace reaches the rig through one.
   */
  static async start(targetPort: () => number, path?: string): Promise<TcpProxy> {
    let proxy!: TcpProxy;
    const server = createServer((client) => {
      if (!proxy.linkUp) {
        client.destroy();
        return;
      }
      const upstream = connect(targetPort(), '127.0.0.1');
      for (const [a, b] of [
        [client, upstream],
        [upstream, client],
      ] as const) {
        a.pipe(b);
        a.on('error', () => b.destroy());
        a.on('close', () => b.destroy());
        proxy.open.add(a);
        a.once('close', () => proxy.open.delete(a));
      }
    });
    await new Promise<void>((resolve) =>
      path === undefined ? server.listen(0, '127.0.0.1', resolve) : server.listen(path, resolve),
    );
    proxy = new TcpProxy(server, path === undefined ? (server.address() as AddressInfo).port : 0);
    return proxy;
  }

  get up(): boolean {
    return this.linkUp;
  }

  set up(value: boolean) {
    this.linkUp = value;
    if (!value) for (const socket of this.open) socket.destroy();
  }

  async stop(): Promise<void> {
    this.up = false;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
