import test from 'ava';
import fc from 'fast-check';
import { SpeakerTimeline } from '../src/call-measure/speaker-timeline.ts';

const FRAME = 10;

test('jitter in delivery never moves the loudspeaker’s timeline: each datagram continues the last', (t) => {
  fc.assert(
    fc.property(
      // Each datagram's delivery delay: mostly on time, some late by up to 120 ms (a busy event loop).
      fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 120 })), {
        minLength: 10,
        maxLength: 400,
      }),
      (delays) => {
        const timeline = new SpeakerTimeline();
        const start = 1_000_000;
        // Sent every 10 ms; one in ten on time at least, as any loaded but working machine delivers.
        const places = delays.map((d, k) =>
          timeline.place(start + k * FRAME + (k % 10 === 0 ? 0 : d), FRAME),
        );
        places.forEach((at, k) => {
          if (at !== start + k * FRAME) throw new Error(`datagram ${k} placed at ${at - start}`);
        });
        return timeline.counters.moves === 0 && timeline.counters.restarts === 0;
      },
    ),
  );
  t.pass();
});

test('a timeline anchored before the sender settled its latency moves once, by the latency, within half a second', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 20, max: 120 }), fc.integer({ min: 0, max: 3 }), (latency, jitter) => {
      const timeline = new SpeakerTimeline();
      const start = 5_000_000;
      // The first 30 datagrams go out at once on time, then the sender adds `latency`.
      const arrival = (k: number) => start + k * FRAME + (k < 30 ? 0 : latency) + (k % 7 === 0 ? jitter : 0);
      let last = 0;
      for (let k = 0; k < 200; k++) last = timeline.place(arrival(k), FRAME);
      const settled = start + 199 * FRAME + latency;
      return (
        timeline.counters.moves === 1 && Math.abs(last - settled) <= 3 && timeline.counters.restarts === 0
      );
    }),
  );
  t.pass();
});

test('a gap of silence on the wire (the call ended, a new one began) starts the timeline again', (t) => {
  const timeline = new SpeakerTimeline();
  t.is(timeline.place(1000, FRAME), 1000);
  t.is(timeline.place(1010, FRAME), 1010);
  t.is(timeline.place(5000, FRAME), 5000);
  t.is(timeline.counters.restarts, 1);
});
