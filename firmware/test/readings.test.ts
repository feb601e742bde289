import test from 'ava';
import fc from 'fast-check';
import { parseLevel, parseVideoCaps } from '../src/media/readings.ts';

test("GStreamer's level messages and video caps, as text: read exactly; anything else is null, never a throw", (t) => {
  t.deepEqual(
    parseLevel(
      'level, endtime=(guint64)1000000000, timestamp=(guint64)500000000, stream-time=(guint64)500000000, running-time=(guint64)500000000, duration=(guint64)500000000, rms=(GValueArray)< -24.5, -30.25 >, peak=(GValueArray)< -1.9 >, decay=(GValueArray)< -1.9 >;',
    ),
    { rmsDb: -24.5, durationS: 0.5 },
  );
  t.deepEqual(
    parseLevel('level, duration=(guint64)100000000, rms=(GValueArray)< -inf >;'),
    { rmsDb: -200, durationS: 0.1 },
    'silence',
  );
  t.is(parseLevel('splitmuxsink-fragment-closed, location=(string)/x'), null);
  t.is(parseLevel('level, duration=(guint64)500000000'), null, 'no rms');
  t.deepEqual(
    parseVideoCaps(
      'video/x-raw, format=(string)I420, width=(int)1280, height=(int)720, interlace-mode=(string)progressive, framerate=(fraction)30/1',
    ),
    { width: 1280, height: 720, fps: 30 },
  );
  t.deepEqual(parseVideoCaps('video/x-raw, width=(int)640, height=(int)480, framerate=(fraction)0/1'), {
    width: 640,
    height: 480,
    fps: null,
  });
  t.is(parseVideoCaps('audio/x-raw, rate=(int)48000'), null);
  t.is(parseVideoCaps(''), null);
  fc.assert(
    fc.property(
      fc.string({ maxLength: 300 }),
      fc.constantFrom('level, ', 'video/x-raw, ', ''),
      (text, head) => {
        const level = parseLevel(head + text);
        if (level) t.true(level.rmsDb <= 0 && level.rmsDb >= -200 && level.durationS >= 0);
        const caps = parseVideoCaps(head + text);
        if (caps) t.true(caps.width > 0 && caps.height > 0);
      },
    ),
    { numRuns: 1000 },
  );
});
