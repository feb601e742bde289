import test from 'ava';
import { AUDIO_ENCODERS } from '../src/media/audio.ts';
import {
  CALL_RECORDING_TAPS,
  CAMERA_RAW_CHANNEL,
  callRecordingSpec,
  FAR_VIDEO_CHANNEL,
  pictureInPicture,
} from '../src/media/call-recording.ts';
import { ENCODERS } from '../src/media/encoders.ts';
import { specProblems } from '../src/media/pipeline-spec.ts';

const x264 = ENCODERS.find((e) => e.element === 'x264enc')!;
const options = {
  encoder: x264,
  audioEncoder: AUDIO_ENCODERS[1]!,
  size: { width: 1280, height: 720 },
  fps: 30,
  bitrateKbps: 2000,
  keyFrameIntervalS: 2,
};

test('the specialist sits in the top right corner, a third of each side, on even pixels inside the picture', (t) => {
  t.deepEqual(pictureInPicture({ width: 1280, height: 720 }), { x: 836, y: 18, width: 426, height: 240 });
  for (const size of [
    { width: 640, height: 360 },
    { width: 1920, height: 1080 },
    { width: 160, height: 120 },
  ]) {
    const p = pictureInPicture(size);
    t.true(
      p.x > 0 && p.x + p.width < size.width && p.y > 0 && p.y + p.height < size.height,
      JSON.stringify(p),
    );
    t.true(
      [p.x, p.y, p.width, p.height].every((n) => n % 2 === 0),
      'I420 needs even sizes and places',
    );
  }
});

test('call-record-mix: camera full frame under the specialist in the corner, one encode, both voices mixed into AAC, two taps', (t) => {
  const spec = callRecordingSpec(options);
  t.deepEqual(specProblems(spec), []);
  const byId = new Map(spec.elements.map((e) => [e.id, e]));
  t.like(byId.get('mix-camera-src'), { factory: 'intervideosrc', props: { channel: CAMERA_RAW_CHANNEL } });
  t.like(byId.get('mix-far-src'), { factory: 'intervideosrc', props: { channel: FAR_VIDEO_CHANNEL } });
  const intoCompositor = spec.links.filter((l) => l.to === 'mix-compose');
  t.deepEqual(
    intoCompositor.map((l) => [l.from, l.toPad, l.toPadProps, l.caps]),
    [
      [
        'mix-camera-rate',
        'sink_0',
        { zorder: 0 },
        'video/x-raw,format=I420,width=1280,height=720,framerate=30/1,pixel-aspect-ratio=1/1',
      ],
      [
        'mix-far-rate',
        'sink_1',
        { zorder: 1, xpos: 836, ypos: 18 },
        'video/x-raw,format=I420,width=426,height=240,framerate=30/1,pixel-aspect-ratio=1/1',
      ],
    ],
  );
  t.is(spec.elements.filter((e) => e.factory === 'x264enc').length, 1);
  t.like(byId.get('mix-encoder')?.props, { bitrate: 2000 });
  const intoMixer = spec.links.filter((l) => l.to === 'mix-voices').map((l) => [l.from, l.toPad]);
  t.deepEqual(intoMixer, [
    ['mix-mic-resample', 'sink_0'],
    ['mix-far-audio-resample', 'sink_1'],
  ]);
  t.deepEqual(spec.taps, [
    { element: CALL_RECORDING_TAPS.video, media: 'video' },
    { element: CALL_RECORDING_TAPS.audio, media: 'audio' },
  ]);

  const silent = callRecordingSpec({ ...options, audioEncoder: null });
  t.deepEqual(specProblems(silent), []);
  t.false(
    silent.elements.some((e) => e.factory === 'audiomixer'),
    'no AAC encoder: the picture alone',
  );
  t.deepEqual(silent.taps, [{ element: CALL_RECORDING_TAPS.video, media: 'video' }]);
});
