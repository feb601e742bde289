import { timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import type { Logger } from 'pino';
import { type WebSocket, WebSocketServer } from 'ws';
import type { ServerMessage, StatusResponse } from './types.ts';

/** An action's refusal: HTTP status and a message staff or a script can act on. */
export class ApiActionError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface ApiActions {
  startRecording(seconds: number | null): Promise<object>;
  stopRecording(): Promise<object>;
  takeStill(): Promise<object>;
  /** Consultation video on (camera, live out, preview) without recording; off again. */
  startVideo(): Promise<object>;
  stopVideo(): Promise<object>;
  /** The newest kiosk preview frame, JPEG. */
  previewFrame(): Promise<Uint8Array>;
}

/** What a route answers: JSON (status 200 unless given), or bytes of a content type. */
export type ApiReply = { json: object; status?: number } | { bytes: Uint8Array; contentType: string };

/**
 * A route a daemon part adds to the API (documents, patient identification): `path` may hold
 * `:name` segments, given to `handle` as params; a JSON body is parsed before `handle` runs.
 * Refusals are {@link ApiActionError}s.
 */
export interface ApiRoute {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  handle(request: { params: Record<string, string>; body: unknown }): Promise<ApiReply>;
}

/** Bodies of route requests are small JSON objects (page orders, scan settings). */
const MAX_BODY = 64 * 1024;

function matchPath(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i] as string;
    const g = got[i] as string;
    if (w.startsWith(':')) {
      if (!g) return null;
      params[w.slice(1)] = decodeURIComponent(g);
    } else if (w !== g) return null;
  }
  return params;
}

export interface ApiServerOptions {
  host: string;
  port: number;
  token: string;
  kioskDir: string | null;
  /** Actions the kiosk (and `telemed-rig`) may ask for; absent when the terminal has no video. */
  actions?: ApiActions;
  /** Routes other daemon parts add. */
  routes?: readonly ApiRoute[];
  status(): StatusResponse;
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

/**
 * The local API (loopback HTTP + WebSocket, bearer token) and the kiosk renderer's static files.
 * GET /api/v1/status; WebSocket /api/v1/events?token=… pushes the status on every change.
 */
export class ApiServer {
  private server: Server | null = null;
  private wss: WebSocketServer | null = null;
  private pending: NodeJS.Timeout | null = null;

  constructor(private readonly options: ApiServerOptions) {}

  get port(): number {
    const address = this.server?.address();
    return typeof address === 'object' && address ? address.port : this.options.port;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => this.handle(req, res));
    const wss = new WebSocketServer({ noServer: true });
    server.on('upgrade', (req, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (
        url.pathname !== '/api/v1/events' ||
        !hostAllowed(req) ||
        !tokenMatches(this.options.token, url.searchParams.get('token'))
      ) {
        this.options.log.warn({ path: url.pathname }, 'WebSocket refused: wrong path, host or token');
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

  private handle(req: IncomingMessage, res: ServerResponse): void {
    if (!hostAllowed(req)) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('forbidden host');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname.startsWith('/api/')) {
      if (!tokenMatches(this.options.token, bearer(req))) {
        this.options.log.warn({ path: url.pathname }, 'API request refused: missing or wrong token');
        res
          .writeHead(401, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: 'missing or wrong token' }));
        return;
      }
      if (req.method === 'GET' && url.pathname === '/api/v1/status') {
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(JSON.stringify(this.options.status()));
        return;
      }
      if (req.method === 'GET' && url.pathname === '/api/v1/video/preview.jpg') {
        this.previewFrame(res);
        return;
      }
      if (
        req.method === 'POST' &&
        (url.pathname.startsWith('/api/v1/recordings') ||
          url.pathname === '/api/v1/stills' ||
          url.pathname.startsWith('/api/v1/video/'))
      ) {
        this.recordingAction(req, res, url.pathname);
        return;
      }
      for (const route of this.options.routes ?? []) {
        if (route.method !== req.method) continue;
        const params = matchPath(route.path, url.pathname);
        if (params) {
          this.routeRequest(route, params, req, res);
          return;
        }
      }
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: `no route ${req.method} ${url.pathname}` }));
      return;
    }
    this.serveStatic(url.pathname, res);
  }

  private routeRequest(
    route: ApiRoute,
    params: Record<string, string>,
    req: IncomingMessage,
    res: ServerResponse,
  ): void {
    const json = (status: number, body: object) =>
      res
        .writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        .end(JSON.stringify(body));
    let text = '';
    let tooLarge = false;
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      text += chunk;
      if (text.length > MAX_BODY) {
        tooLarge = true;
        text = '';
      }
    });
    req.on('end', () => {
      if (tooLarge) return json(413, { error: `the request body is larger than ${MAX_BODY} bytes` });
      let body: unknown = null;
      if (text.trim()) {
        try {
          body = JSON.parse(text);
        } catch {
          return json(400, { error: 'the body is not JSON' });
        }
      }
      route.handle({ params, body }).then(
        (reply) => {
          if ('json' in reply) json(reply.status ?? 200, reply.json);
          else
            res
              .writeHead(200, { 'content-type': reply.contentType, 'cache-control': 'no-store' })
              .end(reply.bytes);
        },
        (error: Error) => {
          if (!(error instanceof ApiActionError))
            this.options.log.error({ err: error, path: route.path }, 'API route failed');
          json(error instanceof ApiActionError ? error.status : 500, { error: error.message });
        },
      );
    });
  }

  /** GET /api/v1/video/preview.jpg: the kiosk polls it a few times a second while video runs. */
  private previewFrame(res: ServerResponse): void {
    const actions = this.options.actions;
    const refuse = (status: number, error: string) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error }));
    if (!actions) return void refuse(409, 'this terminal runs without video (media.enabled is false)');
    actions.previewFrame().then(
      (jpeg) => res.writeHead(200, { 'content-type': 'image/jpeg', 'cache-control': 'no-store' }).end(jpeg),
      (error: Error) => refuse(error instanceof ApiActionError ? error.status : 500, error.message),
    );
  }

  /**
   * POST /api/v1/recordings {"seconds"?: N} starts; POST /api/v1/recordings/stop ends; POST
   * /api/v1/stills grabs a frame; POST /api/v1/video/start and /api/v1/video/stop turn the
   * consultation camera (live out and preview) on and off.
   */
  private recordingAction(req: IncomingMessage, res: ServerResponse, path: string): void {
    const reply = (status: number, body: object): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    const actions = this.options.actions;
    if (!actions) {
      reply(409, { error: 'this terminal runs without video (media.enabled is false)' });
      return;
    }
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      text += chunk;
      if (text.length > 4096) req.destroy();
    });
    req.on('end', () => {
      let run: () => Promise<object>;
      if (path === '/api/v1/recordings/stop') run = () => actions.stopRecording();
      else if (path === '/api/v1/stills') run = () => actions.takeStill();
      else if (path === '/api/v1/video/start') run = () => actions.startVideo();
      else if (path === '/api/v1/video/stop') run = () => actions.stopVideo();
      else if (path === '/api/v1/recordings') {
        let seconds: number | null = null;
        try {
          const body = text ? (JSON.parse(text) as { seconds?: unknown }) : {};
          if (body.seconds !== undefined) {
            if (typeof body.seconds !== 'number' || !(body.seconds > 0 && body.seconds <= 3600)) {
              return reply(400, { error: 'seconds must be a number between 0 and 3600' });
            }
            seconds = body.seconds;
          }
        } catch {
          return reply(400, { error: 'the body is not JSON' });
        }
        run = () => actions.startRecording(seconds);
      } else return reply(404, { error: `no route ${path}` });
      run().then(
        (result) => reply(200, result),
        (error: Error) =>
          reply(error instanceof ApiActionError ? error.status : 500, { error: error.message }),
      );
    });
  }

  private serveStatic(pathname: string, res: ServerResponse): void {
    const root = this.options.kioskDir;
    if (!root) {
      res.writeHead(404).end();
      return;
    }
    const relative = normalize(decodeURIComponent(pathname === '/' ? '/index.html' : pathname)).replace(
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
    createReadStream(file).pipe(res);
  }

  async stop(): Promise<void> {
    if (this.pending) clearTimeout(this.pending);
    for (const client of this.wss?.clients ?? []) client.terminate();
    this.wss?.close();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections();
  }
}
