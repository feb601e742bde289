import test from 'ava';
import fc from 'fast-check';
import {
  CapsParseError,
  chooseMode,
  parseCameraCaps,
  rawBytesPerSecond,
  USB2_BYTES_PER_S,
} from '../src/media/camera.ts';
import { sourceChain } from '../src/media/camera-source.ts';

/** Caps as a typical USB 2.0 UVC webcam reports them (GStreamer 1.22 v4l2src, abridged). */
const WEBCAM = [
  'image/jpeg, width=(int)1920, height=(int)1080, pixel-aspect-ratio=(fraction)1/1, framerate=(fraction){ 30/1, 25/1, 20/1, 15/1, 10/1, 5/1 }',
  'image/jpeg, width=(int)1280, height=(int)720, pixel-aspect-ratio=(fraction)1/1, framerate=(fraction){ 30/1, 25/1, 15/1 }',
  'video/x-raw, format=(string)YUY2, width=(int)1920, height=(int)1080, pixel-aspect-ratio=(fraction)1/1, framerate=(fraction)5/1',
  'video/x-raw, format=(string)YUY2, width=(int)1280, height=(int)720, pixel-aspect-ratio=(fraction)1/1, framerate=(fraction){ 10/1, 5/1 }',
  'video/x-raw, format=(string)YUY2, width=(int)640, height=(int)480, pixel-aspect-ratio=(fraction)1/1, framerate=(fraction){ 30/1, 15/1 }',
  'video/x-h264, stream-format=(string)byte-stream, alignment=(string)au, width=(int)1920, height=(int)1080, framerate=(fraction)[ 5/1, 30/1 ]',
].join('; ');

test('UVC caps parse into modes: media, format, size, rates (lists, single values, ranges)', (t) => {
  const modes = parseCameraCaps(WEBCAM);
  t.is(modes.length, 6);
  t.deepEqual(modes[0], {
    media: 'mjpeg',
    format: null,
    width: 1920,
    height: 1080,
    fps: [30, 25, 20, 15, 10, 5],
  });
  t.deepEqual(modes[2], { media: 'raw', format: 'YUY2', width: 1920, height: 1080, fps: [5] });
  t.deepEqual(modes[5]!.fps, [30, 25, 15, 10, 5]);
  t.deepEqual(parseCameraCaps('audio/x-raw, rate=(int)48000'), [], 'not video: skipped');
  t.throws(() => parseCameraCaps('video/x-raw, format=(string)YUY2'), {
    instanceOf: CapsParseError,
    message: /needs a fixed width/,
  });
});

test('1080p30 on USB 2.0: raw YUY2 does not fit, so MJPEG; 720p30 likewise; VGA raw fits', (t) => {
  const modes = parseCameraCaps(WEBCAM);
  t.true(rawBytesPerSecond(modes[2]!, 30) > USB2_BYTES_PER_S);
  t.like(chooseMode(modes, { width: 1920, height: 1080, fps: 30, link: 'usb2' }), {
    mode: { media: 'mjpeg', width: 1920 },
    fps: 30,
  });
  t.like(chooseMode(modes, { width: 1280, height: 720, fps: 30, link: 'usb2' }), {
    mode: { media: 'mjpeg', width: 1280 },
    fps: 30,
  });
  t.like(chooseMode(modes, { width: 640, height: 480, fps: 30, link: 'usb2' }), {
    mode: { media: 'raw' },
    fps: 30,
  });
});

test('a camera with only raw 1080p at 5 fps on USB 3: still the right size, best rate offered', (t) => {
  const only = parseCameraCaps(
    'video/x-raw, format=(string)YUY2, width=(int)1920, height=(int)1080, framerate=(fraction)5/1',
  );
  t.like(chooseMode(only, { width: 1920, height: 1080, fps: 30, link: 'usb3' }), { fps: 5 });
  t.is(
    chooseMode(only, { width: 1920, height: 1080, fps: 30, link: 'usb2' })?.fps,
    5,
    '1080p5 YUY2 is 20.7 MB/s: fits',
  );
  t.is(chooseMode([], { width: 1920, height: 1080, fps: 30, link: 'usb2' }), null, 'no usable mode');
});

test('property: any caps text parses or fails with CapsParseError, and any chosen mode was offered', (t) => {
  const structure = fc.oneof(
    fc.string(),
    fc
      .record({
        media: fc.constantFrom('video/x-raw', 'image/jpeg', 'video/x-h264', 'audio/x-raw', 'x/y'),
        w: fc.integer({ min: -5, max: 4000 }),
        h: fc.integer({ min: -5, max: 3000 }),
        rate: fc.oneof(
          fc.constantFrom('30/1', '0/1', '30/0', 'x', '{ 30/1, 15/1 }', '[ 5/1, 60/1 ]', '[ 1/1, 2/1 ]'),
          fc.string(),
        ),
      })
      .map(
        (r) =>
          `${r.media}, format=(string)YUY2, width=(int)${r.w}, height=(int)${r.h}, framerate=(fraction)${r.rate}`,
      ),
  );
  fc.assert(
    fc.property(fc.array(structure, { maxLength: 5 }), (parts) => {
      let modes: ReturnType<typeof parseCameraCaps>;
      try {
        modes = parseCameraCaps(parts.join('; '));
      } catch (error) {
        if (!(error instanceof CapsParseError)) throw error;
        return;
      }
      const chosen = chooseMode(modes, { width: 1280, height: 720, fps: 30, link: 'usb2' });
      if (chosen) {
        if (!modes.includes(chosen.mode)) throw new Error('chose a mode that was not offered');
        if (!chosen.mode.fps.includes(chosen.fps)) throw new Error('chose a rate that was not offered');
      }
    }),
  );
  t.pass();
});

test('source chains: V4L2 by mode (raw capsfilter, MJPEG decode, H.264 decode) and element cameras', (t) => {
  const modes = parseCameraCaps(WEBCAM);
  const mjpeg = sourceChain({ kind: 'v4l2', devicePath: '/dev/video0', mode: modes[0]!, fps: 30 });
  t.deepEqual(
    mjpeg.elements.map((e) => e.factory),
    ['v4l2src', 'jpegdec'],
  );
  t.is(mjpeg.links[0]!.caps, 'image/jpeg,width=1920,height=1080,framerate=30/1');
  t.is(mjpeg.tail, 'cam-dec');
  const raw = sourceChain({ kind: 'v4l2', devicePath: '/dev/video0', mode: modes[4]!, fps: 30 });
  t.is(raw.elements[1]!.props!['caps'], 'video/x-raw,format=YUY2,width=640,height=480,framerate=30/1');
  t.deepEqual(
    sourceChain({ kind: 'v4l2', devicePath: '/dev/video2', mode: modes[5]!, fps: 30 }, 'c2').elements.map(
      (e) => e.id,
    ),
    ['c2-src', 'c2-parse', 'c2-dec'],
  );
  const rigCamera = sourceChain({
    kind: 'elements',
    elements: [
      { id: 'pattern', factory: 'videotestsrc', props: { 'is-live': true, pattern: 'ball' } },
      { id: 'clock', factory: 'clockoverlay' },
    ],
  });
  t.deepEqual(rigCamera.links, [{ from: 'cam-pattern', to: 'cam-clock' }]);
  t.is(rigCamera.tail, 'cam-clock');
  t.throws(() => sourceChain({ kind: 'elements', elements: [] }), { message: /at least one element/ });
});
