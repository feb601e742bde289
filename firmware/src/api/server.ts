import { timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import type { TSchema } from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';
import type { Logger } from 'pino';
import { type WebSocket, WebSocketServer } from 'ws';
import type { EventBus } from '../events.ts';
import type { Service } from '../service.ts';
import { decodeBody, readJsonBody } from './body.ts';
import { ApiError, httpStatusOf } from './errors.ts';
import { type ApiReply, decodeSegment, type Route, Router } from './router.ts';
import type { ServerMessage, StatusResponse } from './types.ts';

export interface ApiServerOptions {
  host: string;
  port: number;
  token: string;
  kioskDir: string | null;
  /** The route table: api/routes/, one file per domain. */
  routes: readonly Route[];
  /** The status pushed to every kiosk over WebSocket on each change. */
  status(): StatusResponse;
  /** Every event on it is a change the kiosk may show: the status is pushed again (coalesced). */
  bus?: EventBus;
  log: Logger;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
};

function tokenMatches(expected: string, given: string | null): boolean {
  if (!given) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

function bearer(req: IncomingMessage): string | null {
  const header = req.headers.authorization;
  return header?.startsWith('Bearer ') ? header.slice(7) : null;
}

/** Only loopback names: a page elsewhere cannot reach the API through DNS rebinding. */
function hostAllowed(req: IncomingMessage): boolean {
  const host = (req.headers.host ?? '').replace(/:\d+$/, '');
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
}

/** The request's URL, or null when its target is not one (`GET http://[` and the like). */
function requestUrl(req: IncomingMessage): URL | null {
  try {
    return new URL(req.url ?? '/', 'http://localhost');
  } catch {
    return null;
  }
}

function send(res: ServerResponse, reply: ApiReply): void {
  if ('json' in reply)
    res
      .writeHead(reply.status ?? 200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      .end(JSON.stringify(reply.json));
  else
    res
      .writeHead(200, { ...reply.headers, 'content-type': reply.contentType, 'cache-control': 'no-store' })
      .end(reply.bytes);
}

/**
 * The local API (loopback HTTP + WebSocket, bearer token) and the kiosk renderer's static files.
 * Requests under /api/ go through one route table; WebSocket /api/v1/events?token=… pushes the
 * status on every change.
 *
 * One error boundary: whatever a request makes go wrong (a malformed path, a body too large, a
 * handler's refusal, a bug) ends as a JSON answer with the status api/errors.ts gives it, and never
 * leaves the request handler, where it would end the daemon.
 */
export class ApiServer implements Service<ApiServer['counters']> {
  readonly name = 'api';
  private server: Server | null = null;
  private wss: WebSocketServer | null = null;
  private pending: NodeJS.Timeout | null = null;
  private readonly router: Router;
  /** Requests answered, by outcome, for status and the benchmarks. */
  readonly counters = { requests: 0, refused: 0, failed: 0, invalidResponses: 0 };
  private readonly checkers = new Map<TSchema, TypeCheck<TSchema>>();

  constructor(private readonly options: ApiServerOptions) {
    this.router = new Router(options.routes);
  }

  get port(): number {
    const address = this.server?.address();
    return typeof address === 'object' && address ? address.port : this.options.port;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => this.fail(req, res, error));
    });
    // A request line or header that is not HTTP: answer 400 and close, as Node would by default.
    server.on('clientError', (_error, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
    const wss = new WebSocketServer({ noServer: true });
    server.on('upgrade', (req, socket, head) => {
      const url = requestUrl(req);
      if (
        url === null ||
        url.pathname !== '/api/v1/events' ||
        !hostAllowed(req) ||
        !tokenMatches(this.options.token, url.searchParams.get('token'))
      ) {
        this.options.log.warn(
          { path: url?.pathname ?? null },
          'WebSocket refused: wrong path, host or token',
        );
        socket.write('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
        socket.destroy();
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => this.greet(ws));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => resolve());
    });
    this.server = server;
    this.wss = wss;
    this.options.bus?.on(this.name, () => this.notify());
    this.options.log.info({ port: this.port }, 'local API listening');
  }

  snapshot(): ApiServer['counters'] {
    return { ...this.counters };
  }

  private greet(ws: WebSocket): void {
    const message: ServerMessage = { type: 'status', status: this.options.status() };
    ws.send(JSON.stringify(message));
  }

  /** Something changed: push the status to every kiosk, coalescing bursts into one message. */
  notify(): void {
    if (this.pending || !this.wss) return;
    this.pending = setTimeout(() => {
      this.pending = null;
      if (!this.wss || this.wss.clients.size === 0) return;
      const text = JSON.stringify({ type: 'status', status: this.options.status() } satisfies ServerMessage);
      for (const client of this.wss.clients) client.send(text);
    }, 50);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.counters.requests++;
    if (!hostAllowed(req)) {
      this.counters.refused++;
      res.writeHead(403, { 'content-type': 'text/plain' }).end('forbidden host');
      return;
    }
    const url = requestUrl(req);
    if (url === null) throw new ApiError(400, 'the request target is not a valid path');
    if (!url.pathname.startsWith('/api/')) {
      this.serveStatic(url.pathname, res);
      return;
    }
    if (!tokenMatches(this.options.token, bearer(req))) {
      this.options.log.warn({ path: url.pathname }, 'API request refused: missing or wrong token');
      throw new ApiError(401, 'missing or wrong token');
    }
    const { route, params } = this.router.match(req.method ?? 'GET', url.pathname);
    const json = req.method === 'GET' || req.method === 'HEAD' ? null : await readJsonBody(req);
    const reply = await route.handle({ params, body: route.body ? decodeBody(route.body, json) : json });
    if ('json' in reply && route.response) this.checkResponse(route, reply.json);
    send(res, reply);
  }

  /**
   * An answer that breaks its schema is the firmware's bug, not the kiosk's: it is logged (with
   * where it breaks) and counted, and sent all the same, since a kiosk that shows a little less is
   * better than one that shows nothing.
   */
  private checkResponse(route: Route, body: object): void {
    const schema = route.response as TSchema;
    let check = this.checkers.get(schema);
    if (!check) {
      check = TypeCompiler.Compile(schema);
      this.checkers.set(schema, check);
    }
    if (check.Check(body)) return;
    this.counters.invalidResponses++;
    const where = [...check.Errors(body)].slice(0, 5).map((e) => `${e.path || '/'}: ${e.message}`);
    this.options.log.error({ route: `${route.method} ${route.path}`, where }, 'API answer breaks its schema');
  }

  /** The error boundary: every failure of a request ends here as a JSON answer. */
  private fail(req: IncomingMessage, res: ServerResponse, error: unknown): void {
    const { status, message, expected } = httpStatusOf(error);
    if (expected) this.counters.refused++;
    else {
      this.counters.failed++;
      this.options.log.error(
        { err: error, method: req.method, path: req.url?.slice(0, 200) },
        'API request failed',
      );
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res
      .writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      .end(JSON.stringify({ error: message }));
  }

  private serveStatic(pathname: string, res: ServerResponse): void {
    const root = this.options.kioskDir;
    if (!root) {
      res.writeHead(404).end();
      return;
    }
    const relative = normalize(decodeSegment(pathname === '/' ? '/index.html' : pathname)).replace(
      /^([/\\])+/,
      '',
    );
    const file = join(root, relative);
    if (!file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
      'content-security-policy':
        "default-src 'self'; img-src 'self' blob:; connect-src 'self' ws://127.0.0.1:* ws://localhost:*",
      'x-content-type-options': 'nosniff',
    });
    createReadStream(file)
      .on('error', (error) => {
        this.options.log.error({ err: error, file }, 'kiosk file could not be read');
        res.destroy();
      })
      .pipe(res);
  }

  async stop(): Promise<void> {
    this.options.bus?.off(this.name);
    if (this.pending) clearTimeout(this.pending);
    for (const client of this.wss?.clients ?? []) client.terminate();
    this.wss?.close();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections();
  }
}
