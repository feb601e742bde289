import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a data centre does to the next requests, as the rig decides. */
export type DcFault =
  | { mode: 'pass' }
  | { mode: 'http-error'; status: number; body: string; retryAfterS?: number }
  | { mode: 'slow'; delayMs: number }
  | { mode: 'reset' };

/**
 * A reverse proxy in front of one Orthanc, so the rig can make a data centre answer 500, reject
 * with 400 and a reason, answer 503 with Retry-After, be slower than the terminal's timeout, or
 * reset connections mid-request — without touching the firmware.
 */
export class FaultProxy {
  fault: DcFault = { mode: 'pass' };
  readonly requests: Array<{ method: string; path: string; answered: string }> = [];
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(target: () => string): Promise<FaultProxy> {
    let proxy!: FaultProxy;
    const server = createServer((req, res) => {
      const fault = proxy.fault;
      const log = (answered: string) =>
        proxy.requests.push({ method: req.method ?? '', path: req.url ?? '', answered });
      switch (fault.mode) {
        case 'reset':
          log('reset');
          req.socket.destroy();
          return;
        case 'http-error':
          log(String(fault.status));
          req.resume();
          res.writeHead(fault.status, {
            'content-type': 'text/plain',
            ...(fault.retryAfterS !== undefined ? { 'retry-after': String(fault.retryAfterS) } : {}),
          });
          res.end(fault.body);
          return;
        case 'slow':
        case 'pass': {
          const forward = () => {
            const upstream = new URL(req.url ?? '/', target());
            const out = request(
              upstream,
              { method: req.method, headers: { ...req.headers, host: upstream.host } },
              (up) => {
                log(String(up.statusCode));
                res.writeHead(up.statusCode ?? 502, up.headers);
                up.pipe(res);
              },
            );
            out.on('error', (error) => {
              log('502');
              if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
              res.end(`data centre unreachable: ${error.message}`);
            });
            req.pipe(out);
          };
          if (fault.mode === 'slow') setTimeout(forward, fault.delayMs);
          else forward();
          return;
        }
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new FaultProxy(server, (server.address() as AddressInfo).port);
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
