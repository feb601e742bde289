import test from 'ava';
import { AdaptiveBitrate, type SenderTotals } from '../src/media/adaptive-bitrate.ts';

/** Cumulative totals for a run of seconds, each with its own loss and RTT. */
function feed(abr: AdaptiveBitrate, seconds: Array<{ loss?: number; rttMs?: number }>, perSecond = 300) {
  const changes: Array<number | null> = [];
  let totals: SenderTotals = { packetsSent: 1000, retransmitted: 0, lost: 0, rttMs: 20 };
  abr.update(totals);
  for (const s of seconds) {
    totals = {
      packetsSent: totals.packetsSent + perSecond,
      retransmitted: totals.retransmitted + Math.round(perSecond * (s.loss ?? 0)),
      lost: totals.lost,
      rttMs: s.rttMs ?? 20,
    };
    changes.push(abr.update(totals));
  }
  return changes;
}

test('loss above 2 % steps the rate down at once, to the floor and no further', (t) => {
  const abr = new AdaptiveBitrate({ maxKbps: 4000, minKbps: 300 });
  const changes = feed(
    abr,
    Array.from({ length: 10 }, () => ({ loss: 0.05 })),
  );
  t.deepEqual(changes.slice(0, 3), [2800, 1960, 1372]);
  t.is(abr.current, 300);
  t.is(changes.at(-1), null, 'at the floor nothing changes');
});

test('queueing delay (RTT far above the best seen) steps down without loss', (t) => {
  const abr = new AdaptiveBitrate({ maxKbps: 2000, minKbps: 300 });
  const changes = feed(abr, [{ rttMs: 20 }, { rttMs: 25 }, { rttMs: 180 }]);
  t.deepEqual(changes, [null, null, 1400]);
});

test('after five calm seconds the rate steps back up, never above the configured rate', (t) => {
  const abr = new AdaptiveBitrate({ maxKbps: 2000, minKbps: 300 });
  feed(abr, [{ loss: 0.1 }]);
  t.is(abr.current, 1400);
  const changes = feed(
    abr,
    Array.from({ length: 20 }, () => ({})),
  );
  t.deepEqual(
    changes.filter((c) => c !== null),
    [1610, 1851, 2000],
  );
  t.is(abr.counters.stepsUp, 3);
  t.is(abr.current, 2000);
});

test('moderate loss neither steps down nor counts as calm', (t) => {
  const abr = new AdaptiveBitrate({ maxKbps: 2000, minKbps: 300 });
  feed(abr, [{ loss: 0.1 }]);
  const changes = feed(
    abr,
    Array.from({ length: 10 }, () => ({ loss: 0.01 })),
  );
  t.true(changes.every((c) => c === null));
  t.is(abr.current, 1400);
});

test('a reconnect (counters from zero) and idle seconds decide nothing', (t) => {
  const abr = new AdaptiveBitrate({ maxKbps: 2000, minKbps: 300 });
  feed(abr, [{}]);
  abr.reconnected();
  t.is(abr.update({ packetsSent: 5, retransmitted: 5, lost: 0, rttMs: 500 }), null);
  t.is(abr.update({ packetsSent: 8, retransmitted: 8, lost: 0, rttMs: 500 }), null, 'too few packets');
});
