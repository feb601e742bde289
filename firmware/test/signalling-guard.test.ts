import type { AddressInfo } from 'node:net';
import test from 'ava';
import fc from 'fast-check';
import pino from 'pino';
import { WebSocketServer } from 'ws';
import { JanusRoom, SignallingError } from '../src/call/janus-room.ts';
import { MAX_MESSAGE_BYTES, refusal } from '../src/call/signalling-guard.ts';

const log = pino({ level: 'silent' });
const noEvents = { publishers: () => {}, gone: () => {}, closed: () => {}, slowLink: () => {} };

test('what may reach janode: a JSON object with a "janus" field and well-formed known fields; anything else is refused, never a throw (fuzzed)', (t) => {
  const ok = (v: unknown) => refusal(Buffer.from(JSON.stringify(v)), false);
  t.is(ok({ janus: 'success', transaction: 'a', data: { id: 1 } }), null);
  t.is(
    ok({
      janus: 'event',
      plugindata: { plugin: 'x', data: { videoroom: 'event', publishers: [{ id: 1 }] } },
    }),
    null,
  );
  t.is(refusal(Buffer.from('not json'), false), 'not JSON');
  t.is(refusal(Buffer.from('{}'), true), 'a binary frame');
  t.is(ok(null), 'not a JSON object');
  t.is(ok([1]), 'not a JSON object');
  t.is(ok({ data: 1 }), 'no "janus" field');
  t.is(ok({ janus: 'event', session_id: 'x' }), '"session_id" is not a number');
  t.is(ok({ janus: 'event', jsep: { type: 'offer' } }), '"jsep" is not a session description');
  t.is(ok({ janus: 'event', plugindata: { data: { publishers: 'all' } } }), '"publishers" is not a list');
  t.is(
    ok({ janus: 'event', plugindata: { data: { participants: [null] } } }),
    '"participants" holds something not an object',
  );
  t.regex(
    refusal(Buffer.from(`{"janus":"x","pad":"${'a'.repeat(MAX_MESSAGE_BYTES)}"}`), false) ?? '',
    /bytes/,
  );
  fc.assert(
    fc.property(fc.oneof(fc.jsonValue(), fc.string()), (value) => {
      const out = refusal(Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)), false);
      t.true(out === null || typeof out === 'string');
    }),
    { numRuns: 2000 },
  );
});

/** A media server that answers every request with `replies` (each sent as its own frame), then nothing. */
async function hostileServer(t: import('ava').ExecutionContext, replies: Array<string | Buffer>) {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: () => 'janus-protocol' });
  await new Promise<void>((r) => server.once('listening', r));
  server.on('connection', (socket) => {
    socket.on('message', () => {
      for (const reply of replies) socket.send(reply);
    });
  });
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test('a hostile media server: garbage, wrong types, huge frames are refused before janode; the call fails with a reason and the process lives', async (t) => {
  const url = await hostileServer(t, [
    Buffer.from([0, 1, 2]),
    'not json',
    'null',
    '[]',
    JSON.stringify({ janus: 'event', session_id: 'x' }),
    JSON.stringify({ janus: 'event', plugindata: { data: { videoroom: 'event', publishers: 'everyone' } } }),
  ]);
  const refused: string[] = [];
  const error = await t.throwsAsync(
    JanusRoom.join({
      url,
      room: 1234,
      display: 'T-1',
      log,
      events: { ...noEvents, refused: (r) => refused.push(r) },
    }),
    { instanceOf: SignallingError },
  );
  t.regex(error?.message ?? '', /joining room 1234|media server/);
  t.true(refused.length >= 5, refused.join('; '));
  // A frame over the limit ends the connection (the socket's own limit): the join fails, no crash.
  const huge = await hostileServer(t, [`{"janus":"success","x":"${'a'.repeat(MAX_MESSAGE_BYTES + 10)}"}`]);
  await t.throwsAsync(JanusRoom.join({ url: huge, room: 1, display: 'T-1', log, events: noEvents }), {
    instanceOf: SignallingError,
  });
  // Nobody there at all: the reason says so.
  const gone = await t.throwsAsync(
    JanusRoom.join({ url: 'ws://127.0.0.1:9', room: 1, display: 'T-1', log, events: noEvents }),
    { instanceOf: SignallingError },
  );
  t.regex(gone?.message ?? '', /cannot reach the media server: .*ECONNREFUSED/);
});
