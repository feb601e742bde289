import test from 'ava';
import fc from 'fast-check';
import { ButtonDecoder, type ButtonEvent, SwitchDecoder } from '../src/gpio/button.ts';
import { GpioError, OnoffGpioOpener } from '../src/gpio/gpio-line.ts';
import { GpioRelayError, parseRelayMessage, RelayLineReader } from '../src/gpio/gpio-relay.ts';
import { LED_PATTERNS, ledLevel } from '../src/gpio/led.ts';

const TIMING = { debounceMs: 20, longPressMs: 1000 };

/** Feeds edges at their times, running the decoder's timers in between; returns events with times. */
function drive(edges: Array<[0 | 1, number]>, until: number) {
  const d = new ButtonDecoder(TIMING);
  const out: Array<ButtonEvent & { at: number }> = [];
  let tickAt: number | null = null;
  const take = (r: { events: ButtonEvent[]; tickAt: number | null }, at: number) => {
    for (const e of r.events) out.push({ ...e, at });
    tickAt = r.tickAt;
  };
  for (const [value, at] of edges) {
    while (tickAt !== null && tickAt <= at) {
      const t: number = tickAt;
      take(d.tick(t), t);
    }
    take(d.edge(value, at), at);
  }
  while (tickAt !== null && tickAt <= until) {
    const t: number = tickAt;
    take(d.tick(t), t);
  }
  return out;
}

test('a bouncing button gives one press; a held one a long press as soon as it is long, and no press after', (t) => {
  const bounce = (start: number, to: 0 | 1): Array<[0 | 1, number]> => [
    [to, start],
    [(1 - to) as 0 | 1, start + 1],
    [to, start + 2],
    [(1 - to) as 0 | 1, start + 4],
    [to, start + 5],
  ];
  t.deepEqual(drive([...bounce(100, 1), ...bounce(300, 0)], 2000), [{ kind: 'press', at: 325 }]);
  t.deepEqual(drive([...bounce(100, 1), ...bounce(2000, 0)], 3000), [{ kind: 'long-press', at: 1105 }]);
  // Glitches shorter than the debounce time are not presses at all.
  t.deepEqual(
    drive(
      [
        [1, 100],
        [0, 110],
        [1, 500],
        [0, 515],
      ],
      2000,
    ),
    [],
  );
});

test('property: every settled press gives exactly one event (press or long press), in time order', (t) => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 1500 }), { maxLength: 40 }), (gaps) => {
      let at = 0;
      let level: 0 | 1 = 0;
      const edges: Array<[0 | 1, number]> = gaps.map((g) => {
        at += g;
        level = (1 - level) as 0 | 1;
        return [level, at];
      });
      const until = at + 5000;
      // The model: a level held for the debounce time becomes the settled level.
      let settled: 0 | 1 = 0;
      let presses = 0;
      edges.forEach(([value, from], k) => {
        const to = edges[k + 1]?.[1] ?? until;
        if (to - from >= TIMING.debounceMs && value !== settled) {
          settled = value;
          if (value === 1) presses++;
        }
      });
      const events = drive(edges, until);
      t.is(events.length, presses);
      for (let k = 1; k < events.length; k++) t.true(events[k]!.at >= events[k - 1]!.at);
    }),
    { numRuns: 500 },
  );
});

test('a switch reports its settled level at start and each settled change', (t) => {
  const s = new SwitchDecoder(20);
  s.initial(1, 0);
  t.deepEqual(s.tick(0), { changed: 1, tickAt: null });
  t.is(s.edge(0, 100), 120);
  t.is(s.edge(1, 105), 125, 'a bounce restarts the wait');
  t.deepEqual(s.tick(125), { changed: null, tickAt: null }, 'back where it was: no change');
  s.edge(0, 200);
  t.deepEqual(s.tick(210), { changed: null, tickAt: 220 });
  t.deepEqual(s.tick(220), { changed: 0, tickAt: null });
});

test('LED patterns: levels over a cycle, every pattern distinct', (t) => {
  t.is(ledLevel('ready', 12345), 1);
  t.is(ledLevel('off', 12345), 0);
  t.deepEqual(
    [0, 499, 500, 999, 1000].map((ms) => ledLevel('recording', ms)),
    [1, 1, 0, 0, 1],
  );
  t.deepEqual(
    [0, 100, 200, 300].map((ms) => ledLevel('power-fail', ms)),
    [1, 0, 1, 0],
  );
  const signatures = Object.keys(LED_PATTERNS).map((p) =>
    Array.from({ length: 40 }, (_, i) => ledLevel(p as keyof typeof LED_PATTERNS, i * 50)).join(''),
  );
  t.is(new Set(signatures).size, signatures.length);
});

test('GPIO relay messages: parsed, or refused naming what is wrong; any text is one or the other', (t) => {
  t.deepEqual(parseRelayMessage('{"open":{"line":17,"direction":"in"}}'), {
    open: { line: 17, direction: 'in' },
  });
  t.deepEqual(parseRelayMessage('{"level":1}'), { level: 1 });
  t.throws(() => parseRelayMessage('{"level":2}'), {
    instanceOf: GpioRelayError,
    message: 'level must be 0 or 1',
  });
  t.throws(() => parseRelayMessage('{"open":{"line":-1,"direction":"in"}}'), { message: /open.line/ });
  t.throws(() => parseRelayMessage('{"level":1,"write":0}'), { message: /exactly one key/ });
  t.throws(() => parseRelayMessage('nope'), { message: /not JSON/ });
  const reader = new RelayLineReader();
  t.deepEqual(reader.push('{"lev'), []);
  t.deepEqual(reader.push('el":0}\n{"level":1}\n'), [{ level: 0 }, { level: 1 }]);
  fc.assert(
    fc.property(fc.string({ maxLength: 60 }), (text) => {
      try {
        parseRelayMessage(text);
      } catch (error) {
        t.true(error instanceof GpioRelayError);
      }
    }),
    { numRuns: 500 },
  );
});

test('onoff on a machine without sysfs GPIO: the line cannot be exported, and the message says where to look', async (t) => {
  const opener = new OnoffGpioOpener();
  const error = await t.throwsAsync(opener.open({ line: 17, direction: 'in', activeLow: true }), {
    instanceOf: GpioError,
  });
  t.regex(error?.message ?? '', /GPIO line 17 cannot be exported/);
  // An onoff whose export fails (the line is claimed by another driver) is named the same way.
  const failing = new OnoffGpioOpener({
    Gpio: Object.assign(
      class {
        constructor() {
          throw new Error('EBUSY: resource busy or locked, write');
        }
      } as never,
      { accessible: true },
    ),
  });
  await t.throwsAsync(failing.open({ line: 5, direction: 'out', activeLow: false }), {
    message: /GPIO line 5 cannot be exported \(EBUSY.*not claimed by another driver/,
  });
});
