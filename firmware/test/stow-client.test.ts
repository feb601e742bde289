import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import fc from 'fast-check';
import { interpretStowResponse, stowInstance } from '../src/uplink/stow-client.ts';
import { firstMultipartPart, MultipartError } from '../src/uplink/wado-retrieve.ts';

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

test('multipart/related: the first part comes out whole; any bytes parse or fail with MultipartError', (t) => {
  const wrap = (payload: Uint8Array, boundary: string) =>
    Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`, 'latin1'),
      payload,
      Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1'),
    ]);
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 400 }),
      fc.stringMatching(/^[A-Za-z0-9]{1,40}$/),
      fc.boolean(),
      (payload, b, quoted) => {
        // A payload that happens to contain its own delimiter cannot be framed; a real boundary is random.
        fc.pre(!Buffer.from(payload).includes(`\r\n--${b}`, 0, 'latin1'));
        const type = `multipart/related; type="application/dicom"; boundary=${quoted ? `"${b}"` : b}`;
        t.deepEqual(Buffer.from(firstMultipartPart(wrap(payload, b), type)), Buffer.from(payload));
      },
    ),
    { numRuns: 300 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.string({ maxLength: 80 }), (bytes, type) => {
      try {
        t.true(firstMultipartPart(bytes, type) instanceof Uint8Array);
      } catch (error) {
        t.true(error instanceof MultipartError, String(error));
      }
    }),
    { numRuns: 1000 },
  );
  t.throws(
    () => firstMultipartPart(wrap(Uint8Array.of(1), 'x').subarray(0, 45), 'multipart/related; boundary=x'),
    {
      message: /not closed by its boundary/,
    },
  );
});

test('"already stored" counts as delivered only when the data centre’s copy is this instance', async (t) => {
  const ours = Buffer.from('DICM ours, capture abc123', 'latin1');
  let copy: Buffer | null = null;
  const s = await server((req, res) => {
    if (req.method === 'POST') {
      res.writeHead(409, { 'content-type': 'application/dicom+json' });
      return res.end(JSON.stringify(failed(0x0111)));
    }
    t.is(req.url, `/dicom-web/studies/1.2/series/1.2.3/instances/${SOP}`);
    if (!copy) {
      res.writeHead(404);
      return res.end();
    }
    res.writeHead(200, { 'content-type': 'multipart/related; type="application/dicom"; boundary=b0' });
    res.end(
      Buffer.concat([
        Buffer.from('--b0\r\nContent-Type: application/dicom\r\n\r\n'),
        copy,
        Buffer.from('\r\n--b0--'),
      ]),
    );
  });
  t.teardown(s.close);
  const target = { dicomWebUrl: s.url, timeoutMs: 2000 };
  const at = { studyUid: '1.2', seriesUid: '1.2.3', captureSha256: 'abc123' };
  const stow = () => stowInstance(target, ours, SOP, at);
  const missing = await stow();
  t.is(missing.kind, 'retry');
  t.regex((missing as { reason: string }).reason, /already stored but does not have it/);
  copy = ours;
  t.deepEqual(await stow(), { kind: 'stored', httpStatus: 409, alreadyStored: true });
  // The archive rewrote the header but kept our provenance: still ours.
  copy = Buffer.from('DICM rewritten header, capture abc123', 'latin1');
  t.is((await stow()).kind, 'stored');
  // Something else under our UID: never delivered, set aside for a person.
  copy = Buffer.from('DICM someone else entirely', 'latin1');
  const other = await stow();
  t.is(other.kind, 'rejected');
  t.regex(
    (other as { reason: string }).reason,
    /holds a different instance under SOP Instance UID 1\.2\.3\.4\.5/,
  );
  // Without an address (an old caller) the answer is taken as it is.
  t.is((await stowInstance(target, ours, SOP)).kind, 'stored');
});
