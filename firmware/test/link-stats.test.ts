import test from 'ava';
import fc from 'fast-check';
import { parseLinkStats } from '../src/call/link-stats.ts';

// What webrtcbin 1.22's get-stats gave for a call's sending pad and receiving bin (shortened).
const SENDING = [
  'peer-connection, data-channels-opened=(uint)0, type=(GstWebRTCStatsType)peer-connection, timestamp=(double)23063561.75, id=(string)peer-connection-stats;',
  'outbound-rtp, type=(GstWebRTCStatsType)outbound-rtp, timestamp=(double)23063561.75, id=(string)rtp-outbound-stream-stats_1949876632, ssrc=(uint)1949876632, kind=(string)video, bytes-sent=(guint64)34475, packets-sent=(guint64)579, fir-count=(uint)0, pli-count=(uint)0, nack-count=(uint)0, gst-rtpsource-stats=(structure)"application/x-rtp-source-stats\\,\\ ssrc\\=\\(uint\\)1949876632\\;";',
  'rtx-sender, packets=(guint64)7;',
  'remote-inbound-rtp, type=(GstWebRTCStatsType)remote-inbound-rtp, timestamp=(double)23063561.75, id=(string)rtp-remote-inbound-stream-stats_1949876632, local-id=(string)rtp-outbound-stream-stats_1949876632, ssrc=(uint)1949876632, kind=(string)video, packets-lost=(gint64)12, fraction-lost=(double)0.03125, round-trip-time=(double)0.0214, jitter=(double)0.0041;',
];
const RECEIVING = [
  'inbound-rtp, type=(GstWebRTCStatsType)inbound-rtp, timestamp=(double)1, id=(string)rtp-inbound-stream-stats_3786467138, ssrc=(uint)3786467138, kind=(string)audio, packets-received=(guint64)549, packets-lost=(gint64)3, jitter=(double)0.0067291666666666663, bytes-received=(guint64)26516;',
  'inbound-rtp, type=(GstWebRTCStatsType)inbound-rtp, timestamp=(double)1, id=(string)rtp-inbound-stream-stats_1266139371, ssrc=(uint)1266139371, kind=(string)audio, packets-received=(guint64)750, packets-lost=(gint64)-1, jitter=(double)0.0006, bytes-received=(guint64)615627;',
  'outbound-rtp, type=(GstWebRTCStatsType)outbound-rtp, timestamp=(double)1, id=(string)rtp-outbound-stream-stats_326766239, kind=(string)audio, bytes-sent=(guint64)0, packets-sent=(guint64)0;',
];

test('a sending pad: what we sent, and the far end’s receiver reports of it (loss, round trip, jitter)', (t) => {
  t.deepEqual(parseLinkStats(SENDING).sending, {
    packetsSent: 579,
    bytesSent: 34475,
    totalBytesSent: 34475,
    retransmitted: 7,
    packetsLost: 12,
    fractionLost: 0.03125,
    rttMs: 21.4,
    jitterMs: 4.1,
  });
});

test('a receiving bin: every stream that arrives, summed; a negative loss (duplicates) counts as none', (t) => {
  t.deepEqual(parseLinkStats(RECEIVING).receiving, {
    packetsReceived: 1299,
    bytesReceived: 642_143,
    packetsLost: 3,
    jitterMs: 6.7,
  });
  t.is(parseLinkStats([]).sending, null);
  t.is(parseLinkStats([]).receiving, null);
});

test('statistics are advisory: text that does not parse is skipped, never thrown', (t) => {
  fc.assert(
    fc.property(fc.array(fc.string({ maxLength: 200 }), { maxLength: 8 }), (texts) => {
      const stats = parseLinkStats([...texts, ...SENDING]);
      return stats.sending?.packetsSent === 579;
    }),
  );
  t.deepEqual(parseLinkStats(['outbound-rtp, packets-sent=(guint64)', '%%%']), {
    sending: null,
    receiving: null,
  });
});

test('both sending pads answer with every stream and the resent count: each counted once', (t) => {
  const second = SENDING.map((s) =>
    s.replace('timestamp=(double)23063561.75', 'timestamp=(double)23063562.5'),
  );
  t.deepEqual(parseLinkStats([...SENDING, ...second]).sending, parseLinkStats(SENDING).sending);
});
