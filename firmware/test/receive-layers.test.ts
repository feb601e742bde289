import test from 'ava';
import fc from 'fast-check';
import { ReceiveLayers } from '../src/call/receive-layers.ts';

/** Feeds a run of seconds' loss (%); returns each second's answer. */
function feed(layers: ReceiveLayers, losses: Array<number | null>): Array<number | null> {
  return losses.map((lossPercent) => layers.update({ lossPercent }));
}

const calm = (n: number) => Array.from({ length: n }, () => 0);

test('a layer far too large for the link is left at once; two lossy seconds step down too', (t) => {
  const layers = new ReceiveLayers();
  t.deepEqual(
    feed(layers, [40, 40, 40]),
    [null, null, null],
    'the first seconds wait for the first key frame',
  );
  t.deepEqual(feed(layers, [40]), [1], 'one second of 40 % loss');
  t.deepEqual(feed(layers, [50, 50]), [null, null], 'the switch is given two seconds to happen');
  t.deepEqual(feed(layers, [12, 12]), [null, 0], 'two seconds over 10 %');
  t.deepEqual(feed(layers, calm(2).concat([60, 60, 60])), [null, null, null, null, null], 'none below 0');
  t.is(layers.current, 0);
  t.is(layers.counters.layersDown, 2);
});

test('random loss of a few per cent is the link, not the layer: nothing changes', (t) => {
  const layers = new ReceiveLayers();
  const changes = feed(
    layers,
    Array.from({ length: 60 }, (_, i) => [5, 3, 8, 4, 9][i % 5]!),
  );
  t.true(changes.every((c) => c === null));
  t.is(layers.current, 2);
});

test('after calm seconds the layer above is tried; a try that fails doubles the wait, up to the cap', (t) => {
  const layers = new ReceiveLayers({ holdSeconds: 4, maxHoldSeconds: 16, settleSeconds: 0, startSeconds: 0 });
  feed(layers, [30]);
  t.is(layers.current, 1);
  t.deepEqual(feed(layers, calm(4)), [null, null, null, 2], 'tried after 4 calm seconds');
  t.deepEqual(feed(layers, [30]), [1], 'and it failed at once');
  t.is(layers.holdSeconds, 8);
  const waits: number[] = [];
  for (let i = 0; i < 4; i++) {
    let seconds = 1;
    while (layers.update({ lossPercent: 0 }) === null) seconds++;
    waits.push(seconds);
    feed(layers, [30]);
  }
  t.deepEqual(waits, [8, 16, 16, 16], 'the wait doubles to the cap');
});

test('a try that holds as long as a wait resets the wait to the shortest', (t) => {
  const layers = new ReceiveLayers({ holdSeconds: 4, settleSeconds: 0, startSeconds: 0 });
  feed(layers, [30, 30]);
  t.is(layers.current, 0);
  feed(layers, calm(4).concat([30]));
  t.is(layers.holdSeconds, 8, 'the first try failed');
  feed(layers, calm(8));
  t.is(layers.current, 1, 'tried again after 8 s');
  feed(layers, calm(8));
  t.is(layers.current, 2, 'held 8 s, so the next try came after the shortest wait');
  t.is(layers.holdSeconds, 4);
  feed(layers, calm(4));
  feed(layers, [30]);
  t.is(layers.current, 1);
  t.is(layers.holdSeconds, 4, 'a loss long after a try that held is the link changing, not a failed try');
});

test('a picture that stands still while packets are lost steps down; one still without loss is the far end’s', (t) => {
  const layers = new ReceiveLayers({ startSeconds: 0 });
  const read = (lossPercent: number, fps: number) => layers.update({ lossPercent, fps });
  t.deepEqual(
    [read(0, 1), read(0, 0), read(1, 0), read(0, 1)],
    [null, null, null, null],
    'a camera turned off',
  );
  t.is(layers.current, 2);
  t.deepEqual([read(7, 0), read(6, 1)], [null, 1], 'two stalled seconds at 6–7 % loss');
  t.deepEqual([read(6, 28), read(7, 30), read(5, 29)], [null, null, null], 'the smaller picture flows');
  t.is(layers.current, 1);
});

test('seconds without a reading decide nothing', (t) => {
  const layers = new ReceiveLayers();
  t.deepEqual(feed(layers, [null, Number.NaN, null]), [null, null, null]);
  t.is(layers.current, 2);
});

test('property: the layer stays within 0..top, moves one at a time, and the wait within its bounds', (t) => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          lossPercent: fc.option(fc.double({ min: 0, max: 100, noNaN: true }), { nil: null }),
          fps: fc.option(fc.double({ min: 0, max: 60, noNaN: true }), { nil: null }),
        }),
        { maxLength: 400 },
      ),
      fc.integer({ min: 1, max: 2 }),
      (losses, top) => {
        const layers = new ReceiveLayers({ top, holdSeconds: 3, maxHoldSeconds: 24 });
        let before = layers.current;
        for (const reading of losses) {
          const { lossPercent } = reading;
          const next = layers.update(reading);
          if (next === null) {
            if (layers.current !== before) return false;
            continue;
          }
          if (Math.abs(next - before) !== 1 || next < 0 || next > top) return false;
          if (lossPercent !== null && lossPercent >= 10 && next > before) return false;
          before = next;
          if (layers.holdSeconds < 3 || layers.holdSeconds > 24) return false;
        }
        return true;
      },
    ),
  );
  t.pass();
});
