import test from 'ava';
import fc from 'fast-check';
import { MARK_CELLS, markCells, markGeometry, readMark, unwrapMark } from '../src/call-measure/time-mark.ts';

/** A picture of `width` × `height` grey with the mark drawn, as a luma function. */
function drawn(timeMs: number, width: number, height: number, black = 16, white = 235) {
  const { top, cellWidth } = markGeometry(width, height);
  const cells = markCells(timeMs);
  return (x: number, y: number) => {
    if (y < top) return 128;
    return cells[Math.min(MARK_CELLS - 1, Math.floor(x / cellWidth))] ? white : black;
  };
}

test('a mark drawn at any picture size the ladder makes reads back as the time modulo 2^32', (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 2 ** 45 }),
      fc.integer({ min: 160, max: 1920 }),
      fc.integer({ min: 90, max: 1080 }),
      (time, width, height) => readMark(drawn(time, width, height), width, height) === time % 2 ** 32,
    ),
  );
  t.pass('every size read back');
});

test('compression shifts black and white: the reference cells set the threshold', (t) => {
  const time = 1_796_671_428_861;
  t.is(readMark(drawn(time, 640, 360, 70, 150), 640, 360), time % 2 ** 32);
  t.is(readMark(drawn(time, 640, 360, 120, 140), 640, 360), null, 'too little contrast: no mark');
});

test('a picture without a mark, or with a damaged one, reads as none and never throws', (t) => {
  t.is(
    readMark(() => 0, 640, 360),
    null,
  );
  t.is(
    readMark(() => 255, 640, 360),
    null,
  );
  t.is(
    readMark(() => 0, 20, 10),
    null,
    'too small to hold one',
  );
  // One data cell flipped: the check cells disagree.
  const time = 123_456_789;
  const { top, cellWidth } = markGeometry(640, 360);
  const clean = drawn(time, 640, 360);
  const flipped = (x: number, y: number) =>
    y >= top && Math.floor(x / cellWidth) === 10 ? 255 - clean(x, y) : clean(x, y);
  t.is(readMark(flipped, 640, 360), null);
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 64, maxLength: 64 }), (noise) => {
      const value = readMark((x, y) => noise[(x * 7 + y * 13) % 64] ?? 0, 320, 180);
      return value === null || (Number.isInteger(value) && value >= 0 && value < 2 ** 32);
    }),
  );
});

test('a mark stands for the latest time with its low 32 bits not after now', (t) => {
  const now = 1_796_671_428_861;
  t.is(unwrapMark((now - 150) % 2 ** 32, now), now - 150);
  t.is(unwrapMark(now % 2 ** 32, now), now);
  // Across the wrap of the low 32 bits.
  const wrapped = Math.ceil(now / 2 ** 32) * 2 ** 32 + 20;
  t.is(unwrapMark((wrapped - 50) % 2 ** 32, wrapped), wrapped - 50);
});
