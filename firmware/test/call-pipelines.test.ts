import test from 'ava';
import { CALL_ELEMENTS, type CallMedia, inSpec } from '../src/media/call-pipelines.ts';
import { FAR_VIDEO_CHANNEL } from '../src/media/call-recording.ts';
import { specProblems } from '../src/media/pipeline-spec.ts';

const media = (display: CallMedia['display']): CallMedia => ({
  ssrc: { video: 1, audio: 2 },
  microphone: null,
  speaker: [{ id: 'sink', factory: 'autoaudiosink' }],
  decoder: 'v4l2h264dec',
  display,
  latencyMs: 60,
  echoControl: true,
  controls: { muted: false, cameraOff: false, volume: 1 },
});

const from = (spec: ReturnType<typeof inSpec>, id: string) =>
  spec.links.filter((l) => l.from === id).map((l) => l.to);

test("the far-end picture: to the kiosk's sink only, or also straight from the decoder to the board's overlay sink", (t) => {
  const kiosk = inSpec(media(null));
  t.deepEqual(specProblems(kiosk), []);
  t.deepEqual(from(kiosk, 'in-video-decode'), ['in-video-convert']);
  t.false(
    kiosk.elements.some((e) => e.id === 'in-video-tee'),
    'no split for an overlay',
  );
  // The picture as shown is also shared for a recording made during the call (call-recording.ts).
  t.deepEqual(
    from(kiosk, 'in-video-shown-tee').sort(),
    ['in-video-share-queue', CALL_ELEMENTS.farVideo].sort(),
  );
  t.deepEqual(from(kiosk, 'in-video-share-queue'), ['in-video-share-sink']);
  t.like(
    kiosk.elements.find((e) => e.id === 'in-video-share-sink'),
    {
      factory: 'intervideosink',
      props: { channel: FAR_VIDEO_CHANNEL, sync: false, async: false },
    },
  );
  t.deepEqual(from(kiosk, 'in-audio-tee').sort(), [CALL_ELEMENTS.farAudio, 'in-audio-share-queue'].sort());

  const overlay = inSpec(
    media({
      elements: [
        { id: 'scale', factory: 'v4l2convert' },
        { id: 'sink', factory: 'kmssink', props: { 'plane-id': 44 } },
      ],
      rectangle: { x: 0, y: 80, width: 1280, height: 720 },
    }),
  );
  t.deepEqual(specProblems(overlay), []);
  t.deepEqual(from(overlay, 'in-video-decode'), ['in-video-tee'], 'the decoder feeds the split');
  t.deepEqual(from(overlay, 'in-video-tee').sort(), ['in-video-display-queue', 'in-video-kiosk-queue']);
  t.deepEqual(
    from(overlay, 'in-video-display-queue'),
    ['display-scale'],
    'the overlay takes the decoder’s buffers',
  );
  t.deepEqual(from(overlay, 'display-scale'), ['display-sink']);
  t.deepEqual(from(overlay, 'in-video-convert'), ['in-video-shown-tee'], "the kiosk's frames go on");
  const sink = overlay.elements.find((e) => e.id === 'display-sink');
  t.deepEqual(sink?.props, { 'plane-id': 44 });
  t.deepEqual(
    sink?.renderRectangle,
    { x: 0, y: 80, width: 1280, height: 720 },
    'placed where the kiosk leaves clear',
  );
});
