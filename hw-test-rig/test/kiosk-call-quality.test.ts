import test from 'ava';
import type { CallItem } from '../../firmware/src/api/types.ts';
import { callQuality } from '../../kiosk-ui/src/renderer/call-card.ts';

const inCall = (link: Partial<NonNullable<CallItem['link']>> | null, fps: number | null = 30): CallItem => ({
  state: 'in-call',
  server: 'A',
  room: 1234,
  since: '2026-12-07T10:00:00.000Z',
  remote: { display: 'specialist', since: '2026-12-07T10:00:01.000Z' },
  received: {
    framesRendered: 300,
    framesDropped: 0,
    width: 640,
    height: 480,
    fps,
    audioSeconds: 10,
    audioLevelDb: -20,
    freezes: 0,
  },
  link:
    link === null
      ? null
      : {
          sendKbps: 900,
          receiveKbps: 1200,
          sendLossPercent: 0,
          receiveLossPercent: 0,
          rttMs: 20,
          jitterMs: 3,
          targetKbps: 1500,
          receiveLayer: 2,
          counters: { stepsDown: 0, stepsUp: 0, layersDown: 0, layersUp: 0 },
          ...link,
        },
  echoControl: true,
  controls: { muted: false, cameraOff: false, volume: 1, camera: 'room' },
  picture: 'camera',
  farEndDisplay: { kind: 'kiosk' },
  lastError: null,
  counters: { calls: 1, reconnects: 0, failovers: 0, subscriptions: 1, slowLinks: 0, refusedMessages: 0 },
});

test('the call-quality indicator: good, fair when the link forced the rate down or loss grows, poor on heavy loss or a stalled picture', (t) => {
  t.is(callQuality(inCall({})), 'good');
  t.is(callQuality(inCall({ sendLossPercent: 3 })), 'fair');
  t.is(
    callQuality(inCall({ counters: { stepsDown: 2, stepsUp: 0, layersDown: 0, layersUp: 0 } })),
    'fair',
    'the rate was stepped down',
  );
  t.is(
    callQuality(
      inCall({ receiveLayer: 1, counters: { stepsDown: 0, stepsUp: 0, layersDown: 1, layersUp: 0 } }),
    ),
    'fair',
    "the specialist's picture comes in a smaller size",
  );
  t.is(callQuality(inCall({ rttMs: 250 })), 'fair');
  t.is(callQuality(inCall({}, 15)), 'fair');
  t.is(callQuality(inCall({ receiveLossPercent: 12 })), 'poor');
  t.is(callQuality(inCall({}, 5)), 'poor', 'the picture nearly stopped');
  t.is(callQuality(inCall(null)), null, 'not measured yet');
  t.is(callQuality({ ...inCall({}), state: 'reconnecting' }), null);
});
