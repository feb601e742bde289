import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import fc from 'fast-check';
import pino from 'pino';
import { ApiError } from '../src/api/errors.ts';
import { type Route, route } from '../src/api/router.ts';
import { type VideoParts, videoRoutes } from '../src/api/routes/video.ts';
import { Captured, PageOrder, ScanRequestBody } from '../src/api/schemas.ts';
import { ApiServer } from '../src/api/server.ts';
import type { StatusResponse } from '../src/api/types.ts';
import { ScanError } from '../src/documents/document-scanner.ts';
import { VideoError } from '../src/media/consultation.ts';
import { StoreError } from '../src/store/types.ts';

const TOKEN = 'test-token-0123456789';
const log = pino({ level: process.env['TELEMED_TEST_LOG'] ?? 'silent' });

async function api(routes: Route[], kioskDir: string | null = null) {
  const server = new ApiServer({
    host: '127.0.0.1',
    port: 0,
    token: TOKEN,
    kioskDir,
    routes,
    status: () => ({}) as StatusResponse,
    log,
  });
  await server.start();
  const base = `http://127.0.0.1:${server.port}`;
  const call = async (method: string, path: string, body?: unknown, token: string | null = TOKEN) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const type = res.headers.get('content-type') ?? '';
    return {
      status: res.status,
      body: type.startsWith('application/json')
        ? ((await res.json()) as { error?: string })
        : await res.text(),
    };
  };
  return { server, call, port: server.port };
}

/** Sends bytes as they are (no client library tidies the request line) and returns the status line. */
function raw(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(answer.split('\r\n')[0] ?? ''));
    socket.end(request, 'latin1');
  });
}

const echo = route({
  method: 'POST',
  path: '/api/v1/echo/:id',
  body: ScanRequestBody,
  handle: async ({ params, body }) => ({ json: { id: params['id'], body } }),
});

test('a malformed path is a 400, not the end of the daemon (GET /% used to throw out of the handler)', async (t) => {
  const { server, call, port } = await api([echo], mkdtempSync(join(tmpdir(), 'kiosk-')));
  t.teardown(() => server.stop());
  t.is(
    await raw(port, 'GET /% HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'),
    'HTTP/1.1 400 Bad Request',
  );
  t.is((await call('DELETE', '/api/v1/echo/%')).status, 400, 'a bad escape where a route takes a parameter');
  const bad = await call('POST', '/api/v1/echo/%E0%A4%A', {});
  t.is(bad.status, 400);
  t.regex((bad.body as { error: string }).error, /not valid percent-encoding/);
  t.is((await call('POST', '/api/v1/echo/%E4%B8%AD', {})).status, 200, 'the server still answers');
  t.deepEqual((await call('POST', '/api/v1/echo/%E4%B8%AD', {})).body, { id: '中', body: {} });
});

test('any request target, however broken, gets an HTTP answer below 600 and the server keeps answering', async (t) => {
  const { server, call, port } = await api([echo], mkdtempSync(join(tmpdir(), 'kiosk-')));
  t.teardown(() => server.stop());
  const target = fc.oneof(
    fc.string({ maxLength: 40 }).map((s) => `/${s}`),
    fc.string({ maxLength: 40 }).map((s) => `/api/v1/echo/${s}`),
    fc.stringMatching(/^[/%0-9a-fA-Z.?#]{0,30}$/),
  );
  await fc.assert(
    fc.asyncProperty(target, fc.constantFrom('GET', 'POST', 'DELETE', 'PUT'), async (path, method) => {
      const line = await raw(
        port,
        `${method} ${path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
      );
      const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(line)?.[1]);
      return status >= 200 && status < 600;
    }),
    { numRuns: 300 },
  );
  t.is((await call('POST', '/api/v1/echo/1', {})).status, 200);
  t.is(server.counters.failed, 0, 'no request reached the unexpected-error path');
});

test('a missing token is 401, a foreign Host 403, an unknown path 404, another method 405', async (t) => {
  const { server, call, port } = await api([echo]);
  t.teardown(() => server.stop());
  t.deepEqual(await call('POST', '/api/v1/echo/1', {}, null), {
    status: 401,
    body: { error: 'missing or wrong token' },
  });
  t.is((await call('POST', '/api/v1/echo/1', {}, 'wrong')).status, 401);
  t.regex(
    await raw(port, 'GET /api/v1/echo/1 HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n'),
    /^HTTP\/1\.1 403 /,
  );
  t.deepEqual(await call('GET', '/api/v1/nothing'), {
    status: 404,
    body: { error: 'no route GET /api/v1/nothing' },
  });
  t.is((await call('GET', '/api/v1/echo/1')).status, 405);
});

test('bodies: too large is 413, not JSON is 400, every wrong field named at once', async (t) => {
  const order = route({
    method: 'PUT',
    path: '/api/v1/order',
    body: PageOrder,
    handle: async ({ body }) => ({ json: { order: body.order } }),
  });
  const { server, call } = await api([echo, order]);
  t.teardown(() => server.stop());
  t.is((await call('POST', '/api/v1/echo/1', JSON.stringify({ pad: 'x'.repeat(70_000) }))).status, 413);
  t.deepEqual(await call('POST', '/api/v1/echo/1', '{"pages": '), {
    status: 400,
    body: { error: 'the body is not JSON' },
  });
  t.deepEqual(await call('POST', '/api/v1/echo/1', { pages: 'two', source: 'tray' }), {
    status: 400,
    body: { error: "pages must be a number; source must be 'feeder' or 'flatbed'" },
  });
  t.deepEqual(await call('POST', '/api/v1/echo/1', [1]), {
    status: 400,
    body: { error: 'the body must be a JSON object' },
  });
  t.deepEqual(await call('PUT', '/api/v1/order', {}), {
    status: 400,
    body: { error: 'order must be an array of page ids' },
  });
  t.deepEqual(await call('PUT', '/api/v1/order', { order: ['p2', 'p1'] }), {
    status: 200,
    body: { order: ['p2', 'p1'] },
  });
  t.deepEqual(
    (await call('POST', '/api/v1/echo/1')).body,
    { id: '1', body: {} },
    'no body: the schema sees {}',
  );
});

test('errors become statuses in one place: video, scanner, store, refusals, and anything else is a logged 500', async (t) => {
  let fault: Error = new VideoError('BUSY', 'a recording is already running');
  const selected: string[] = [];
  const media: VideoParts = {
    recorder: {
      state: 'idle',
      segments: 0,
      start: async () => {
        throw fault;
      },
      stop: async () => {},
    },
    consultation: {
      start: async () => ({ studyUid: '1.2.3' }),
      stop: async () => {},
      still: async () => {
        throw fault;
      },
      previewFrame: async () => Uint8Array.of(0xff, 0xd8, 0xff, 0xd9),
      state: 'live',
      selectCamera: async (role) => {
        if (role === 'document') throw new VideoError('NO_CAMERA', 'the document camera is not connected');
        selected.push(role);
      },
    },
  };
  const { server, call } = await api(videoRoutes(media));
  t.teardown(() => server.stop());
  const cases: Array<[Error, number]> = [
    [new VideoError('BUSY', 'busy'), 409],
    [new VideoError('NOT_RUNNING', 'no camera running'), 409],
    [new VideoError('NO_SPACE', 'the disk is full'), 507],
    [new VideoError('PIPELINE', 'the encoder failed'), 503],
    [new ScanError('NO_SCANNER', 'no scanner'), 503],
    [new StoreError('DISK_LOW', 'disk low', true), 507],
    [new StoreError('REFUSED', 'power failing', true), 503],
    [new ApiError(418, 'a teapot'), 418],
    [new TypeError('x is undefined'), 500],
  ];
  for (const [error, status] of cases) {
    fault = error;
    t.deepEqual(
      await call('POST', '/api/v1/stills'),
      { status, body: { error: error.message } },
      error.message,
    );
  }
  t.is(server.counters.failed, 1, 'only the TypeError was unexpected');
  t.deepEqual(await call('POST', '/api/v1/recordings', { seconds: 7200 }), {
    status: 400,
    body: { error: 'seconds must be a number between 0 and 3600' },
  });
  t.deepEqual(await call('POST', '/api/v1/video/start'), { status: 200, body: { studyUid: '1.2.3' } });
  t.deepEqual(await call('POST', '/api/v1/video/stop'), { status: 200, body: { stopped: true } });
  t.is((await call('GET', '/api/v1/video/preview.jpg')).status, 200);
  t.deepEqual(await call('POST', '/api/v1/video/camera', { camera: 'room' }), {
    status: 200,
    body: { camera: 'room', live: true },
  });
  t.deepEqual(selected, ['room']);
  t.deepEqual(await call('POST', '/api/v1/video/camera', { camera: 'document' }), {
    status: 503,
    body: { error: 'the document camera is not connected' },
  });
  t.deepEqual(await call('POST', '/api/v1/video/camera', { camera: 'ceiling' }), {
    status: 400,
    body: { error: "camera must be 'room' or 'document'" },
  });
  t.deepEqual(selected, ['room'], 'a refused body selects nothing');
});

test('without video every video route is a 409 that says why', async (t) => {
  const { server, call } = await api(videoRoutes(null));
  t.teardown(() => server.stop());
  for (const [method, path] of [
    ['POST', '/api/v1/recordings'],
    ['POST', '/api/v1/stills'],
    ['POST', '/api/v1/video/start'],
    ['GET', '/api/v1/video/preview.jpg'],
  ] as const)
    t.deepEqual(await call(method, path), {
      status: 409,
      body: { error: 'this terminal runs without video (media.enabled is false)' },
    });
});

test('the kiosk files: served from their folder only; a path out of it is a 404', async (t) => {
  const kiosk = mkdtempSync(join(tmpdir(), 'kiosk-'));
  writeFileSync(join(kiosk, 'index.html'), '<!doctype html><title>终端</title>');
  const { server, call, port } = await api([], kiosk);
  t.teardown(() => server.stop());
  const index = await call('GET', '/', undefined, null);
  t.is(index.status, 200);
  t.regex(index.body as string, /终端/);
  t.regex(
    await raw(port, 'GET /../../etc/passwd HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'),
    / 404 /,
  );
  t.regex(
    await raw(port, 'GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'),
    / 404 /,
  );
});

test('two routes for one method and path are refused when the table is built', (t) => {
  t.throws(
    () =>
      new ApiServer({
        host: '127.0.0.1',
        port: 0,
        token: TOKEN,
        kioskDir: null,
        routes: [echo, echo],
        status: () => ({}) as StatusResponse,
        log,
      }),
    {
      message: 'two routes for POST /api/v1/echo/:id',
    },
  );
});

test('an answer that breaks its schema is counted and logged, and still sent', async (t) => {
  const answers = route({
    method: 'GET',
    path: '/api/v1/answer/:shape',
    response: Captured,
    handle: async ({ params }) => ({
      json: params['shape'] === 'good' ? { instanceId: 7, contentSha256: 'ab' } : { instanceId: 'seven' },
    }),
  });
  const { server, call } = await api([answers]);
  t.teardown(() => server.stop());
  t.deepEqual(await call('GET', '/api/v1/answer/good'), {
    status: 200,
    body: { instanceId: 7, contentSha256: 'ab' },
  });
  t.is(server.counters.invalidResponses, 0);
  t.deepEqual(await call('GET', '/api/v1/answer/bad'), { status: 200, body: { instanceId: 'seven' } });
  t.is(server.counters.invalidResponses, 1);
});
