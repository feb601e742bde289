import test from 'ava';
import fc from 'fast-check';
import { jsepOf, publishersOf, SignallingError } from '../src/call/janus-room.ts';

test("the room's publisher lists: well-formed entries kept, anything else dropped, never a throw (fuzzed)", (t) => {
  t.deepEqual(
    publishersOf({
      publishers: [
        { feed: 12, display: 'specialist' },
        { feed: '13', display: 'a string feed' },
        { feed: 14 },
        null,
        { feed: 1.5, display: 'not an id' },
        { feed: 15, display: 'x'.repeat(500) },
        {
          feed: 16,
          display: 'simulcast (Janus 1.x)',
          streams: [
            { type: 'audio', simulcast: true },
            { type: 'video', simulcast: true },
          ],
        },
        { feed: 17, display: 'simulcast (legacy)', simulcast: true },
        {
          feed: 18,
          display: 'a false claim',
          simulcast: 'yes',
          streams: [{ type: 'audio', simulcast: true }],
        },
      ],
    }),
    [
      { feed: 12, display: 'specialist', simulcast: false },
      { feed: 14, display: '', simulcast: false },
      { feed: 15, display: 'x'.repeat(128), simulcast: false },
      { feed: 16, display: 'simulcast (Janus 1.x)', simulcast: true },
      { feed: 17, display: 'simulcast (legacy)', simulcast: true },
      { feed: 18, display: 'a false claim', simulcast: false },
    ],
  );
  t.deepEqual(publishersOf({ publishers: 'all of them' }), []);
  t.deepEqual(publishersOf(null), []);
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      for (const p of publishersOf(value)) {
        t.true(Number.isSafeInteger(p.feed));
        t.true(typeof p.display === 'string' && p.display.length <= 128);
        t.is(typeof p.simulcast, 'boolean');
      }
      for (const p of publishersOf({ publishers: [value] })) t.true(Number.isSafeInteger(p.feed));
    }),
    { numRuns: 500 },
  );
});

test('SDP from the media server: only a description of the expected type, bounded, that is SDP', (t) => {
  const sdp = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n';
  t.is(jsepOf({ jsep: { type: 'answer', sdp } }, 'answer', 'publishing'), sdp);
  for (const reply of [
    null,
    {},
    { jsep: { type: 'offer', sdp } },
    { jsep: { type: 'answer', sdp: 42 } },
    { jsep: { type: 'answer', sdp: '<html>' } },
    { jsep: { type: 'answer', sdp: `v=0${'a'.repeat(70_000)}` } },
  ])
    t.throws(() => jsepOf(reply, 'answer', 'publishing'), {
      instanceOf: SignallingError,
      message: /^publishing: /,
    });
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      try {
        const out = jsepOf({ jsep: value }, 'offer', 'x');
        t.true(out.startsWith('v=0'));
      } catch (error) {
        t.true(error instanceof SignallingError);
      }
    }),
    { numRuns: 300 },
  );
});
