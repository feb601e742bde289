import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import pino from 'pino';
import { until } from '../../device-drivers/test/helpers/until.ts';
import { AUDIO_ENCODERS, audioChain } from '../src/media/audio.ts';
import { sourceChain } from '../src/media/camera-source.ts';
import { consultationSpec } from '../src/media/consultation-pipeline.ts';
import { encoderEntry } from '../src/media/encoders.ts';
import {
  type BusEvent,
  MediaWorker,
  MediaWorkerError,
  type MediaWorkerState,
} from '../src/media/media-worker.ts';
import { mp4TrackHandlers } from '../src/media/mp4-boxes.ts';
import { testEncodeSpec } from '../src/media/pipeline-spec.ts';
import { recordingBranch, recordingPipeline } from '../src/media/recording.ts';
import { annexBSpec, runToEos } from '../src/media/run-to-eos.ts';
import { decodedAudio, decodedFrames } from './helpers/gst-decode.ts';

const log = pino({ level: process.env['TELEMED_TEST_LOG'] ?? 'silent' });

function worker(options: { heartbeatTimeoutMs?: number } = {}) {
  const bus: BusEvent[] = [];
  const states: MediaWorkerState[] = [];
  const w = new MediaWorker({
    log,
    heartbeatIntervalMs: 200,
    heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? 3000,
    onState: (s) => states.push(s),
  });
  w.onBusEvent((e) => bus.push(e));
  return { w, bus, states };
}

const target = {
  bitrateKbps: 1000,
  fps: 30,
  keyFrameIntervalS: 1,
  cpu: 'weak' as const,
  width: 320,
  height: 240,
};

test.serial(
  'the worker runs GStreamer 1.22 in its own process and finds the software encoders',
  async (t) => {
    const { w } = worker();
    t.teardown(() => w.stop());
    w.start();
    await w.ready();
    t.not(w.pid, process.pid);
    const probe = await w.probe();
    t.regex(probe.gstVersion, /^1\.22\./);
    t.true(probe.encoders.includes('x264enc'));
    t.true(probe.encoders.includes('openh264enc'));
    t.false(probe.encoders.includes('v4l2h264enc'), 'no hardware encoder on this machine');
    // The device monitor runs; this machine has no /dev/video*, so it finds none (the rig's cameras
    // are test sources configured as elements, not devices).
    const cameras = await w.cameras();
    t.true(Array.isArray(cameras));
    for (const c of cameras) t.is(typeof c.caps, 'string');
  },
);

test.serial('a one-second test encode ends in EOS for each software encoder', async (t) => {
  const { w, bus } = worker();
  t.teardown(() => w.stop());
  w.start();
  await w.ready();
  const dir = mkdtempSync(join(tmpdir(), 'enc-'));
  for (const name of ['x264enc', 'openh264enc']) {
    const out = join(dir, `${name}.h264`);
    const spec = testEncodeSpec(encoderEntry(name), target, out);
    await w.startPipeline(spec);
    const eos = await until('eos', () => bus.find((e) => e.pipeline === spec.name && e.kind === 'eos'));
    t.is(eos.element, spec.name);
    t.true(bus.some((e) => e.pipeline === spec.name && e.kind === 'state-changed' && e.state === 'PLAYING'));
    t.false(bus.some((e) => e.pipeline === spec.name && e.kind === 'error'));
    const stream = readFileSync(out);
    t.true(stream.length > 1000, `${name} wrote ${stream.length} bytes`);
    t.deepEqual([...stream.subarray(0, 4)], [0, 0, 0, 1], `${name}: an Annex B byte stream`);
  }
});

test.serial(
  'building refuses a missing element, an unknown property and unlinkable caps, naming the element',
  async (t) => {
    const { w } = worker();
    t.teardown(() => w.stop());
    w.start();
    await w.ready();
    const base = testEncodeSpec(encoderEntry('x264enc'), target, join(tmpdir(), 'unused.h264'));
    const missing = await t.throwsAsync(
      w.startPipeline({
        ...base,
        name: 'missing',
        elements: base.elements.map((e) =>
          e.id === 'encoder' ? { id: 'encoder', factory: 'mpph264enc' } : e,
        ),
      }),
    );
    t.true(missing instanceof MediaWorkerError);
    t.is((missing as MediaWorkerError).element, 'encoder');
    t.regex(missing!.message, /encoder: no element "mpph264enc"/);
    const badProp = await t.throwsAsync(
      w.startPipeline({
        ...base,
        name: 'bad-prop',
        elements: base.elements.map((e) => (e.id === 'encoder' ? { ...e, props: { 'no-such-prop': 1 } } : e)),
      }),
    );
    t.regex(badProp!.message, /encoder: x264enc has no property "no-such-prop"/);
    const badCaps = await t.throwsAsync(
      w.startPipeline({
        ...base,
        name: 'bad-caps',
        links: base.links.map((l) => (l.to === 'sink' ? { ...l, caps: 'audio/x-raw' } : l)),
      }),
    );
    t.regex(badCaps!.message, /cannot link parse → sink with audio\/x-raw/);
    // The worker is still there and still works.
    t.truthy(await w.probe());
  },
);

test.serial('an element failing at run time becomes a typed error event naming it', async (t) => {
  const { w, bus } = worker();
  t.teardown(() => w.stop());
  w.start();
  await w.ready();
  await t.throwsAsync(
    w.startPipeline({
      name: 'no-file',
      elements: [
        { id: 'source', factory: 'filesrc', props: { location: '/nonexistent/segment.mp4' } },
        { id: 'sink', factory: 'fakesink' },
      ],
      links: [{ from: 'source', to: 'sink' }],
    }),
    { message: /^source: .*(nonexistent|not found|No such file)/i },
  );
  const error = await until('bus error', () => bus.find((e) => e.kind === 'error'));
  t.is(error.element, 'source');
  t.regex(error.message, /nonexistent|not found|No such file/i);
});

test.serial(
  'an element that refuses to start without saying why is still named (the board display missing)',
  async (t) => {
    const { w, bus } = worker();
    t.teardown(() => w.stop());
    w.start();
    await w.ready();
    // waylandsink with no compositor to reach fails its state change and posts no error.
    const failure = await t.throwsAsync(
      w.startPipeline({
        name: 'no-display',
        elements: [
          { id: 'source', factory: 'videotestsrc' },
          { id: 'display', factory: 'waylandsink', props: { display: 'telemed-no-such-display' } },
        ],
        links: [{ from: 'source', to: 'display' }],
      }),
    );
    t.is((failure as MediaWorkerError).element, 'display');
    t.regex(failure?.message ?? '', /^display: waylandsink refused to start/);
    const error = await until('bus error', () => bus.find((e) => e.kind === 'error'));
    t.is(error.element, 'display');
  },
);

test.serial(
  'a worker killed with SIGKILL is restarted; what was pending fails as worker-lost; the caller lives on',
  async (t) => {
    const { w, states } = worker();
    t.teardown(() => w.stop());
    w.start();
    await w.ready();
    const first = w.pid!;
    process.kill(first, 'SIGKILL');
    await until('restarted', () => w.state === 'ready' && w.pid !== first && w.pid);
    t.is(w.counters.crashes, 1);
    t.true(states.includes('restarting'));
    t.truthy(await w.probe());
  },
);

test.serial(
  'a wedged worker (main loop stopped) misses its heartbeat, is killed and restarted',
  async (t) => {
    const { w } = worker({ heartbeatTimeoutMs: 1500 });
    t.teardown(() => w.stop());
    w.start();
    await w.ready();
    const first = w.pid!;
    process.kill(first, 'SIGSTOP');
    const pending = w.probe().catch((e: unknown) => e);
    await until(
      'restarted after the heartbeat stopped',
      () => w.state === 'ready' && w.pid !== first,
      20_000,
    );
    t.is(w.counters.heartbeatKills, 1);
    const lost = await pending;
    t.true(lost instanceof MediaWorkerError && lost.workerLost);
    t.truthy(await w.probe());
  },
);

test.serial(
  'a request to a worker whose channel just closed fails as worker-lost; the daemon is not taken down',
  async (t) => {
    // A worker that dies leaves a moment in which it is still 'ready' here but its channel is
    // gone; a request then failed with an 'error' event nobody handled, which ended the daemon
    // (found by the kill test, as EPIPE). This worker closes its channel and lingers, so the
    // moment lasts.
    const dir = mkdtempSync(join(tmpdir(), 'worker-'));
    const module = join(dir, 'closing-worker.mjs');
    writeFileSync(
      module,
      "process.send({ type: 'ready', pid: process.pid, gstVersion: '1.22.0' });\n" +
        'setTimeout(() => process.disconnect(), 100);\nsetTimeout(() => {}, 5000);\n',
    );
    const w = new MediaWorker({ log, entry: { module, execArgv: [] }, heartbeatTimeoutMs: 60_000 });
    t.teardown(() => w.stop());
    w.start();
    await w.ready();
    await new Promise((r) => setTimeout(r, 400));
    t.is(w.state, 'ready');
    const lost = await w.probe().catch((e: unknown) => e);
    t.true(lost instanceof MediaWorkerError && lost.workerLost, String(lost));
  },
);

test.serial(
  'the rig camera (moving pattern, clock overlay) plays live through the encoder; its bitrate changes while playing',
  async (t) => {
    const { w, bus } = worker();
    t.teardown(() => w.stop());
    w.start();
    await w.ready();
    const chain = sourceChain({
      kind: 'elements',
      elements: [
        { id: 'pattern', factory: 'videotestsrc', props: { 'is-live': true, pattern: 'ball' } },
        { id: 'clock', factory: 'clockoverlay', props: { 'time-format': '%H:%M:%S' } },
      ],
    });
    const encoder = encoderEntry('x264enc');
    const live = { ...target, bitrateKbps: 1500 };
    await w.startPipeline({
      name: 'live',
      elements: [
        ...chain.elements,
        { id: 'convert', factory: 'videoconvert' },
        { id: 'scale', factory: 'videoscale' },
        { id: 'encoder', factory: encoder.element, props: encoder.properties(live) },
        { id: 'parse', factory: 'h264parse' },
        { id: 'sink', factory: 'fakesink', props: { sync: true } },
      ],
      links: [
        ...chain.links,
        { from: chain.tail, to: 'convert' },
        { from: 'convert', to: 'scale' },
        { from: 'scale', to: 'encoder', caps: 'video/x-raw,format=I420,width=640,height=360' },
        { from: 'encoder', to: 'parse', caps: encoder.outputCaps },
        { from: 'parse', to: 'sink' },
      ],
    });
    await until('playing', () =>
      bus.find((e) => e.pipeline === 'live' && e.kind === 'state-changed' && e.state === 'PLAYING'),
    );
    await w.setProperties('live', 'encoder', encoder.bitrate(500));
    await new Promise((r) => setTimeout(r, 500));
    t.false(bus.some((e) => e.pipeline === 'live' && e.kind === 'error'));
    await t.throwsAsync(w.setProperties('live', 'nosuch', { bitrate: 1 }), {
      message: /no element nosuch in live/,
    });
    await w.stopPipeline('live');
  },
);

test.serial(
  'recording: one encode, a tee, fragmented MP4 segments; a worker killed mid-segment leaves it playable',
  async (t) => {
    const { w, bus } = worker();
    t.teardown(() => w.stop());
    w.start();
    await w.ready();
    const dir = mkdtempSync(join(tmpdir(), 'rec-'));
    const chain = sourceChain({
      kind: 'elements',
      elements: [
        { id: 'pattern', factory: 'videotestsrc', props: { 'is-live': true, pattern: 'ball' } },
        { id: 'clock', factory: 'clockoverlay' },
      ],
    });
    const encoder = encoderEntry('x264enc');
    const rec = recordingBranch({ dir, segmentS: 1, fragmentMs: 250 });
    await w.startPipeline({
      name: 'consult',
      elements: [
        ...chain.elements,
        { id: 'convert', factory: 'videoconvert' },
        {
          id: 'encoder',
          factory: encoder.element,
          props: encoder.properties({ ...target, keyFrameIntervalS: 1 }),
        },
        { id: 'parse', factory: 'h264parse' },
        { id: 'tee', factory: 'tee' },
        { id: 'live-queue', factory: 'queue' },
        { id: 'live-sink', factory: 'fakesink', props: { sync: false } },
        ...rec.elements,
      ],
      links: [
        ...chain.links,
        { from: chain.tail, to: 'convert', caps: 'video/x-raw,width=320,height=240,framerate=30/1' },
        { from: 'convert', to: 'encoder', caps: 'video/x-raw,format=I420' },
        { from: 'encoder', to: 'parse', caps: encoder.outputCaps },
        { from: 'parse', to: 'tee' },
        { from: 'tee', to: 'live-queue' },
        { from: 'live-queue', to: 'live-sink' },
        { from: 'tee', to: rec.head },
        ...rec.links,
      ],
    });
    const closed = await until(
      'two segments closed',
      () => {
        const done = bus.filter((e) => e.kind === 'segment-closed');
        return done.length >= 2 && done;
      },
      20_000,
    );
    t.deepEqual(
      closed.slice(0, 2).map((e) => e.location),
      [join(dir, 'segment-00000.mp4'), join(dir, 'segment-00001.mp4')],
    );
    // Kill the worker partway into a later segment, as a power cut or a segfault would.
    await new Promise((r) => setTimeout(r, 700));
    process.kill(w.pid!, 'SIGKILL');
    await until('restarted', () => w.state === 'restarting' || w.counters.crashes === 1);
    const files = readdirSync(dir).sort();
    t.true(files.length >= 3, files.join(', '));
    for (const file of files.slice(0, 2)) {
      const frames = decodedFrames(join(dir, file), 'mp4');
      t.true(frames >= 25 && frames <= 35, `${file}: ${frames} frames in a 1 s segment at 30 fps`);
    }
    const partial = files.at(-1)!;
    const partialFrames = decodedFrames(join(dir, partial), 'mp4');
    t.true(partialFrames > 0, `${partial}, cut by the kill, still plays ${partialFrames} frames`);
  },
);

test.serial(
  'sound: the microphone is AAC-encoded beside the picture and a recording fed from both taps has both tracks, sound starting with the picture',
  async (t) => {
    const { w, bus } = worker();
    t.teardown(() => w.stop());
    w.start();
    await w.ready();
    const probe = await w.probe();
    const aac = AUDIO_ENCODERS.find((e) => probe.audioEncoders.includes(e.element));
    if (!aac) return t.fail(`no AAC encoder in the registry (${probe.audioEncoders.join(', ')})`);
    const dir = mkdtempSync(join(tmpdir(), 'rec-audio-'));
    await w.startPipeline(
      consultationSpec({
        name: 'consultation',
        chain: sourceChain({
          kind: 'elements',
          elements: [{ id: 'pattern', factory: 'videotestsrc', props: { 'is-live': true, pattern: 'ball' } }],
        }),
        encoder: encoderEntry('x264enc'),
        target: { width: 320, height: 240, fps: 30, bitrateKbps: 800, keyFrameIntervalS: 1 },
        audio: audioChain(
          [{ id: 'tone', factory: 'audiotestsrc', props: { 'is-live': true, wave: 'ticks' } }],
          aac,
        ),
      }),
    );
    await new Promise((r) => setTimeout(r, 1500));
    await w.startPipeline(recordingPipeline({ name: 'recording', dir, segmentS: 1, audio: true }));
    await w.pump(
      { pipeline: 'consultation', element: 'encoded-tap' },
      { pipeline: 'recording', element: 'rec-src' },
    );
    await w.pump(
      { pipeline: 'consultation', element: 'audio-tap' },
      { pipeline: 'recording', element: 'rec-audio-src' },
    );
    await until(
      'two segments closed',
      () => bus.filter((e) => e.kind === 'segment-closed').length >= 2,
      20_000,
    );
    await w.finishPipeline('recording');
    await w.stopPipeline('consultation');
    t.false(
      bus.some((e) => e.kind === 'error'),
      JSON.stringify(bus.filter((e) => e.kind === 'error')),
    );
    const first = join(dir, 'segment-00000.mp4');
    t.deepEqual(mp4TrackHandlers(readFileSync(first)), ['vide', 'soun']);
    t.true(decodedFrames(first, 'mp4') >= 25, 'about a second of pictures');
    const sound = decodedAudio(first);
    t.true(sound.buffers > 20, `${sound.buffers} AAC frames decoded`);
    // The recording starts at the last key frame, which the kept sound covers: sound begins with
    // the AAC frame that spans the first picture (21 ms at most before it).
    t.true(sound.firstPtsS !== null && sound.firstPtsS <= 0.05, `sound begins at ${sound.firstPtsS} s`);

    // What the DICOM encoder checks: the segment's video as Annex B — every picture — while the
    // sound track is drained beside it; the segment itself is what the instance carries.
    const annexB = join(dir, 'segment-0.h264');
    t.is(await runToEos(w, annexBSpec('annexb-1', first, annexB, true), 20_000), null);
    t.is(decodedFrames(annexB, 'h264'), decodedFrames(first, 'mp4'), 'every picture, and all of them decode');
  },
);
