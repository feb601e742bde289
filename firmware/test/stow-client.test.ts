import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { interpretStowResponse, stowInstance } from '../src/uplink/stow-client.ts';

const SOP = '1.2.3.4.5';
const stored = { '00081199': { vr: 'SQ', Value: [{ '00081155': { vr: 'UI', Value: [SOP] } }] } };
const failed = (reason: number) => ({
  '00081198': {
    vr: 'SQ',
    Value: [{ '00081155': { vr: 'UI', Value: [SOP] }, '00081197': { vr: 'US', Value: [reason] } }],
  },
});

async function server(handler: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void) {
  const s = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, res, Buffer.concat(chunks)));
  });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(s.address() as AddressInfo).port}/dicom-web`;
  return { url, close: () => new Promise<void>((resolve) => s.close(() => resolve())) };
}

test('interpretation follows PS3.18 §10.5.3 per instance', (t) => {
  t.is(interpretStowResponse(200, stored, SOP, '').kind, 'stored');
  t.is(interpretStowResponse(202, stored, SOP, '').kind, 'stored');
  t.is(interpretStowResponse(200, {}, SOP, '').kind, 'retry');
  t.deepEqual(interpretStowResponse(409, failed(0x0111), SOP, ''), {
    kind: 'stored',
    httpStatus: 409,
    alreadyStored: true,
  });
  t.is(interpretStowResponse(202, failed(0xa700), SOP, '').kind, 'retry');
  const rejected = interpretStowResponse(409, failed(0xa900), SOP, '');
  t.is(rejected.kind, 'rejected');
  t.is(interpretStowResponse(400, undefined, SOP, 'bad dataset').kind, 'rejected');
  t.is(interpretStowResponse(500, undefined, SOP, '').kind, 'retry');
  t.is(interpretStowResponse(401, undefined, SOP, '').kind, 'retry');
});

test('the request is multipart/related with the DICOM bytes as its one part', async (t) => {
  let seen: { type: string; body: Buffer; path: string } | null = null;
  const s = await server((req, res, body) => {
    seen = { type: req.headers['content-type']!, body, path: req.url! };
    res.writeHead(200, { 'content-type': 'application/dicom+json' }).end(JSON.stringify(stored));
  });
  const outcome = await stowInstance(
    { dicomWebUrl: s.url, timeoutMs: 2000 },
    Uint8Array.from([1, 2, 3]),
    SOP,
  );
  await s.close();
  t.deepEqual(outcome, { kind: 'stored', httpStatus: 200, alreadyStored: false });
  t.is(seen!.path, '/dicom-web/studies');
  const boundary = /boundary=([^;]+)/.exec(seen!.type)![1]!;
  t.regex(seen!.type, /^multipart\/related; type="application\/dicom"/);
  const text = seen!.body.toString('latin1');
  t.true(
    text.startsWith(
      `--${boundary}\r\nContent-Type: application/dicom\r\n\r\n\x01\x02\x03\r\n--${boundary}--`,
    ),
  );
});

test('500 and 503 with Retry-After are retried; 400 is rejected with the server reason', async (t) => {
  let status = 500;
  const s = await server((_req, res) => {
    if (status === 503) res.writeHead(503, { 'retry-after': '7' }).end('maintenance');
    else if (status === 400) res.writeHead(400).end('Missing SOP Class UID');
    else res.writeHead(status).end('boom');
  });
  const target = { dicomWebUrl: s.url, timeoutMs: 2000 };
  const r500 = await stowInstance(target, Uint8Array.of(1), SOP);
  t.is(r500.kind, 'retry');
  status = 503;
  const r503 = await stowInstance(target, Uint8Array.of(1), SOP);
  t.deepEqual(r503, { kind: 'retry', reason: 'HTTP 503: maintenance', httpStatus: 503, retryAfterMs: 7000 });
  status = 400;
  const r400 = await stowInstance(target, Uint8Array.of(1), SOP);
  t.deepEqual(r400, { kind: 'rejected', reason: 'HTTP 400: Missing SOP Class UID', httpStatus: 400 });
  await s.close();
});

test('a data centre slower than the timeout, and one that is down, are both retried', async (t) => {
  const s = await server((_req, res) => {
    setTimeout(() => res.writeHead(200).end(JSON.stringify(stored)), 1500);
  });
  const slow = await stowInstance({ dicomWebUrl: s.url, timeoutMs: 200 }, Uint8Array.of(1), SOP);
  t.deepEqual(slow, { kind: 'retry', reason: 'no answer within 200 ms' });
  await s.close();
  const down = await stowInstance({ dicomWebUrl: s.url, timeoutMs: 500 }, Uint8Array.of(1), SOP);
  t.is(down.kind, 'retry');
  t.regex((down as { reason: string }).reason, /cannot reach the data centre \(ECONNREFUSED\)/);
});
