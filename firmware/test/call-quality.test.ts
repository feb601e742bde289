import test from 'ava';
import pino from 'pino';
import { CallQuality } from '../src/call/call-quality.ts';
import type { BusEvent } from '../src/media/media-worker.ts';

/** webrtcbin's sending statistics after `sent` packets, `lost` of them reported lost by the far end. */
const sending = (sent: number, lost: number, rtt = 0.02, resent = 0) => [
  `rtx-sender, packets=(guint64)${resent};`,
  `outbound-rtp, type=(GstWebRTCStatsType)outbound-rtp, id=(string)out-1, bytes-sent=(guint64)${sent * 1000}, packets-sent=(guint64)${sent};`,
  `remote-inbound-rtp, type=(GstWebRTCStatsType)remote-inbound-rtp, local-id=(string)out-1, packets-lost=(gint64)${lost}, fraction-lost=(double)${sent ? lost / sent : 0}, round-trip-time=(double)${rtt};`,
];

function world() {
  let totals = { sent: 0, lost: 0, resent: 0 };
  /** What arrived of the far end: packets received and lost. */
  let incoming = { received: 0, lost: 0 };
  let reads = 0;
  const asked: Array<number | null> = [];
  const layers: number[] = [];
  const listeners: Array<(e: BusEvent) => void> = [];
  const quality = new CallQuality({
    worker: {
      stats: async () => 'GstFakeSinkStats, rendered=(guint64)0, dropped=(guint64)0;',
      caps: async () => '',
      webrtcStats: async (_p, _e, pad) => {
        if (pad === 'src_0')
          return [
            `inbound-rtp, type=(GstWebRTCStatsType)inbound-rtp, id=(string)in-1, packets-received=(guint64)${incoming.received}, packets-lost=(gint64)${incoming.lost}, bytes-received=(guint64)${incoming.received * 1000};`,
          ];
        if (pad !== 'sink_0') return [];
        reads++;
        return sending(totals.sent, totals.lost, 0.02 + totals.sent / 1e6, totals.resent);
      },
      onBusEvent: (l) => {
        listeners.push(l);
        return () => {};
      },
    },
    maxKbps: 1000,
    onBitrate: async (kbps) => {
      asked.push(kbps);
    },
    onLayer: async (layer) => {
      layers.push(layer);
    },
    onChange: () => {},
    log: pino({ level: 'silent' }),
    intervalMs: 5,
  });
  /** One second of the link: `packets` sent, `lossShare` of them lost; returns once it was read and acted on. */
  const second = async (packets: number, lossShare: number, resentShare = 0, inLossShare = 0) => {
    incoming = {
      received: incoming.received + Math.round(packets * (1 - inLossShare)),
      lost: incoming.lost + Math.round(packets * inLossShare),
    };
    totals = {
      sent: totals.sent + packets,
      lost: totals.lost + Math.round(packets * lossShare),
      resent: totals.resent + Math.round(packets * resentShare),
    };
    const before = reads;
    while (reads === before) await new Promise((r) => setTimeout(r, 2));
    await new Promise((r) => setTimeout(r, 2));
  };
  return { quality, asked, layers, second };
}

test('the call’s sending rate comes down under heavy loss, holds under a few per cent, and the ask is withdrawn at the end', async (t) => {
  const { quality, asked, second } = world();
  quality.start();
  for (let i = 0; i < 4; i++) await second(100, 0.05, 0.07);
  t.deepEqual(
    asked,
    [],
    '5 % random loss is the link, not congestion: the rate holds (reported lost and also resent: counted once)',
  );
  for (let i = 0; i < 3; i++) await second(100, 0.2);
  t.true(asked.length >= 2, `stepped down: ${asked}`);
  t.true(asked.every((k) => k !== null && k < 1000));
  t.true((asked.at(-1) ?? 1000) < (asked[0] ?? 0), 'each step lower');
  const link = quality.snapshot();
  t.is(link.targetKbps, asked.at(-1) as number);
  t.true(link.counters.stepsDown >= 2);
  t.true((link.sendLossPercent ?? 0) > 10, 'the far end’s report of loss is shown');
  t.true((link.rttMs ?? 0) >= 20);
  await quality.stop();
  t.is(asked.at(-1), null, 'the call no longer asks anything of the encoder');
  t.is(quality.snapshot().targetKbps, 1000, 'the next call starts at its ceiling again');
});

test('loss repaired by retransmission still counts: a link too slow for the picture shows as resending, and the rate comes down', async (t) => {
  const { quality, asked, second } = world();
  quality.start();
  // The far end reports almost nothing lost: NACK and RTX refilled the gaps, at a fifth more sent.
  for (let i = 0; i < 3; i++) await second(100, 0.01, 0.2);
  t.true(asked.length >= 2 && asked.every((k) => k !== null && k < 1000), `stepped down: ${asked}`);
  await quality.stop();
});

test('a far end that simulcasts is received in a smaller size when what arrives is lost; one that does not is left alone', async (t) => {
  const { quality, layers, second } = world();
  quality.start();
  quality.receiving({ simulcast: true });
  await second(100, 0, 0, 0);
  t.is(quality.snapshot().receiveLayer, 2, 'the server starts on the largest');
  for (let i = 0; i < 3; i++) await second(100, 0, 0, 0.4);
  t.deepEqual(layers, [], 'the first seconds wait for the first key frame');
  await second(100, 0, 0, 0.4);
  t.deepEqual(layers, [1], 'a second losing 40 % of what arrives asks for the smaller size');
  const link = quality.snapshot();
  t.is(link.receiveLayer, 1);
  t.is(link.counters.layersDown, 1);
  t.is(link.receiveLossPercent, 40);
  quality.notReceiving();
  quality.receiving({ simulcast: false });
  for (let i = 0; i < 4; i++) await second(100, 0, 0, 0.4);
  t.deepEqual(layers, [1], 'one size only: nothing to ask');
  t.is(quality.snapshot().receiveLayer, null);
  await quality.stop();
});
