import test from 'ava';
import fc from 'fast-check';
import { ladder, MIN_BITS_PER_PIXEL, rungFor } from '../src/media/resolution-ladder.ts';

test('the ladder from 1080p: 720p, 544p, 360p; from the rig 640×360: sizes in multiples of 8', (t) => {
  t.deepEqual(
    ladder({ width: 1920, height: 1080 }).map((s) => `${s.width}x${s.height}`),
    ['1920x1080', '1280x720', '960x544', '640x360'],
  );
  t.deepEqual(
    ladder({ width: 640, height: 360 }).map((s) => `${s.width}x${s.height}`),
    ['640x360', '424x240', '320x184', '216x120'],
  );
});

test('1080p30: 4 Mbit/s holds 1080p; lower rates step to 720p, 544p, 360p; coming back needs margin', (t) => {
  const rungs = ladder({ width: 1920, height: 1080 });
  t.is(rungFor(4000, 30, rungs, 0), 0);
  t.is(rungFor(2800, 30, rungs, 0), 1, '2.8 Mbit/s is under 0.05 bit/px at 1080p30 (3.1)');
  t.is(rungFor(1000, 30, rungs, 0), 2);
  t.is(rungFor(300, 30, rungs, 0), 3, 'the bitrate floor: the smallest rung');
  t.is(rungFor(3200, 30, rungs, 1), 1, 'just enough for 1080p is not enough to go back up');
  t.is(rungFor(3900, 30, rungs, 1), 0, 'with 25 % to spare it is');
});

test('property: never a rung the rate cannot hold when a smaller one exists; no flapping at a fixed rate', (t) => {
  const rungs = ladder({ width: 1920, height: 1080 });
  fc.assert(
    fc.property(fc.integer({ min: 100, max: 20_000 }), fc.nat(3), (kbps, current) => {
      const rung = rungFor(kbps, 30, rungs, current);
      const size = rungs[rung]!;
      const holds = kbps >= (size.width * size.height * 30 * MIN_BITS_PER_PIXEL) / 1000;
      const stable = rungFor(kbps, 30, rungs, rung) === rung;
      return (holds || rung === rungs.length - 1) && stable;
    }),
  );
  t.pass();
});
