import test from 'ava';
import { ENCODERS, encoderCandidates, encoderEntry } from '../src/media/encoders.ts';
import { specProblems, testEncodeSpec } from '../src/media/pipeline-spec.ts';

const target = { bitrateKbps: 2500, fps: 30, keyFrameIntervalS: 2, cpu: 'normal' as const };

/** What each element's bitrate property means (from each plugin's documentation). */
const BITRATE: Record<string, { prop: string; unit: 'bit/s' | 'kbit/s' }> = {
  mpph264enc: { prop: 'bps', unit: 'bit/s' },
  vpuenc_h264: { prop: 'bitrate', unit: 'kbit/s' },
  nvv4l2h264enc: { prop: 'bitrate', unit: 'bit/s' },
  vah264enc: { prop: 'bitrate', unit: 'kbit/s' },
  vaapih264enc: { prop: 'bitrate', unit: 'kbit/s' },
  x264enc: { prop: 'bitrate', unit: 'kbit/s' },
  openh264enc: { prop: 'bitrate', unit: 'bit/s' },
};

test('the table is hardware first, in the order the issue names, software last', (t) => {
  t.deepEqual(
    ENCODERS.map((e) => e.element),
    [
      'v4l2h264enc',
      'mpph264enc',
      'vpuenc_h264',
      'nvv4l2h264enc',
      'vah264enc',
      'vaapih264enc',
      'x264enc',
      'openh264enc',
    ],
  );
  t.true(ENCODERS.slice(0, 6).every((e) => e.kind === 'hardware'));
});

test('every encoder gets the target bitrate in its own unit, live and when adapting', (t) => {
  for (const entry of ENCODERS) {
    for (const kbps of [300, 2500]) {
      const live = entry.properties({ ...target, bitrateKbps: kbps });
      const step = entry.bitrate(kbps);
      if (entry.element === 'v4l2h264enc') {
        t.regex(
          String(live['extra-controls']),
          new RegExp(`video_bitrate=${kbps * 1000},video_bitrate_mode=1`),
        );
        t.regex(String(step['extra-controls']), new RegExp(`video_bitrate=${kbps * 1000}`));
        continue;
      }
      const { prop, unit } = BITRATE[entry.element]!;
      const want = unit === 'bit/s' ? kbps * 1000 : kbps;
      t.is(live[prop], want, `${entry.element} live`);
      t.is(step[prop], want, `${entry.element} step`);
    }
  }
});

test('a key frame at least every 2 s and no B-frames, for every encoder that has the setting', (t) => {
  const keyProps = ['key-int-max', 'gop-size', 'gop', 'iframeinterval', 'keyframe-period'];
  for (const entry of ENCODERS) {
    const props = entry.properties(target);
    const key = keyProps.find((k) => k in props);
    const frames = key
      ? Number(props[key])
      : Number(/h264_i_frame_period=(\d+)/.exec(String(props['extra-controls']))?.[1]);
    t.true(frames > 0 && frames <= 60, `${entry.element}: key frame every ${frames} frames at 30 fps`);
    for (const b of ['bframes', 'b-frames', 'max-bframes']) if (b in props) t.is(props[b], 0, entry.element);
  }
  t.is(encoderEntry('x264enc').properties({ ...target, cpu: 'weak' })['speed-preset'], 'ultrafast');
});

test('candidates: what the registry has, best first; a pin is honoured; failed hardware skipped this boot', (t) => {
  const available = new Set(['x264enc', 'openh264enc', 'v4l2h264enc']);
  t.deepEqual(
    encoderCandidates(available).map((e) => e.element),
    ['v4l2h264enc', 'x264enc', 'openh264enc'],
  );
  t.deepEqual(
    encoderCandidates(available, { failedHardware: new Set(['v4l2h264enc']) }).map((e) => e.element),
    ['x264enc', 'openh264enc'],
  );
  t.deepEqual(
    encoderCandidates(available, { pinned: 'openh264enc' }).map((e) => e.element),
    ['openh264enc'],
  );
  t.deepEqual(encoderCandidates(available, { pinned: 'mpph264enc' }), []);
  t.throws(() => encoderCandidates(available, { pinned: 'h265enc' }), {
    message: /unknown H.264 encoder h265enc/,
  });
});

test('pipeline specs: problems are named; the test encode spec is well formed for every encoder', (t) => {
  t.deepEqual(
    specProblems({
      name: 'Live',
      elements: [
        { id: 'a', factory: 'videotestsrc' },
        { id: 'a', factory: 'x264enc ! fakesink' },
      ],
      links: [{ from: 'a', to: 'b' }],
    }),
    [
      'pipeline name "Live" must be lower-case letters, digits, -',
      'element id "a" is used twice',
      'a: "x264enc ! fakesink" is not an element factory name',
      'link a → b: no element "b"',
    ],
  );
  t.deepEqual(
    specProblems({
      name: 'orphan',
      elements: [
        { id: 'a', factory: 'videotestsrc' },
        { id: 'b', factory: 'fakesink' },
        { id: 'c', factory: 'fakesink' },
      ],
      links: [{ from: 'a', to: 'b' }],
    }),
    ['c: not linked to anything'],
  );
  for (const entry of ENCODERS)
    t.deepEqual(
      specProblems(testEncodeSpec(entry, { ...target, width: 640, height: 360 }, '/tmp/x.h264')),
      [],
    );
});
