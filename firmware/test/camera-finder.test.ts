import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { findCameras, matchesCamera } from '../src/media/camera-finder.ts';
import { sourceChain } from '../src/media/camera-source.ts';
import { cameraPads, consultationSpec, ELEMENTS } from '../src/media/consultation-pipeline.ts';
import { ENCODERS } from '../src/media/encoders.ts';
import type { CameraInfo } from '../src/media/ipc.ts';
import { specProblems } from '../src/media/pipeline-spec.ts';
import { VideoError } from '../src/media/video-error.ts';

const MJPEG_720P =
  'image/jpeg, width=(int)1280, height=(int)720, pixel-aspect-ratio=(fraction)1/1, framerate=(fraction){ 30/1, 15/1 }';
const WEBCAM: CameraInfo = {
  name: 'HD USB Camera',
  path: '/dev/video0',
  busPath: 'platform-xhci-hcd.0-usb-0:1:1.0',
  serial: 'SN-ROOM-1',
  caps: MJPEG_720P,
};
const DOCUMENT: CameraInfo = {
  name: 'Eloam S1000 Document Camera',
  path: '/dev/video2',
  busPath: 'platform-xhci-hcd.0-usb-0:2:1.0',
  serial: 'ELOAM-77',
  caps: MJPEG_720P,
};
const TARGET = { width: 1280, height: 720, fps: 30 };

test('a document camera is picked by serial, bus path or part of its name; the room camera is then the other one', async (t) => {
  t.true(matchesCamera(DOCUMENT, 'ELOAM-77'));
  t.true(matchesCamera(DOCUMENT, 'platform-xhci-hcd.0-usb-0:2:1.0'));
  t.true(matchesCamera(DOCUMENT, 'Eloam'));
  t.false(matchesCamera(WEBCAM, 'Eloam'));
  t.false(matchesCamera(DOCUMENT, 'ELOAM'), 'a serial matches whole, a name in part (case as listed)');

  // The document camera listed first: 'auto' for the room still passes it over.
  const found = await findCameras({
    room: { kind: 'auto' },
    document: { kind: 'usb', match: 'Eloam' },
    target: TARGET,
    list: async () => [DOCUMENT, WEBCAM],
  });
  t.deepEqual(
    found.map((c) => [c.role, c.name, c.source.kind === 'v4l2' ? c.source.devicePath : null]),
    [
      ['room', 'HD USB Camera', '/dev/video0'],
      ['document', 'Eloam S1000 Document Camera', '/dev/video2'],
    ],
  );
  // Without a document camera configured, the first usable camera is the room's.
  const plain = await findCameras({
    room: { kind: 'auto' },
    document: { kind: 'none' },
    target: TARGET,
    list: async () => [DOCUMENT, WEBCAM],
  });
  t.deepEqual(
    plain.map((c) => c.name),
    ['Eloam S1000 Document Camera'],
  );
  // Only the document camera plugged in: video runs on it alone.
  const alone = await findCameras({
    room: { kind: 'auto' },
    document: { kind: 'usb', match: 'ELOAM-77' },
    target: TARGET,
    list: async () => [DOCUMENT],
  });
  t.deepEqual(
    alone.map((c) => c.role),
    ['document'],
  );
});

test('no usable camera: NO_CAMERA saying what is connected and what each offers; element cameras by their presence path', async (t) => {
  const none = await t.throwsAsync(
    findCameras({ room: { kind: 'auto' }, document: { kind: 'none' }, target: TARGET, list: async () => [] }),
  );
  t.true(none instanceof VideoError && none.code === 'NO_CAMERA');
  t.is(none?.message, 'no camera is connected');
  const audioOnly = await t.throwsAsync(
    findCameras({
      room: { kind: 'auto' },
      document: { kind: 'none' },
      target: TARGET,
      list: async () => [{ ...WEBCAM, caps: 'audio/x-raw, rate=(int)48000' }],
    }),
  );
  t.regex(audioOnly?.message ?? '', /no camera offers a usable mode: HD USB Camera \(audio\/x-raw\)/);

  const dir = mkdtempSync(join(tmpdir(), 'cameras-'));
  const present = join(dir, 'room.sock');
  writeFileSync(present, '');
  const elements = [{ id: 'src', factory: 'videotestsrc' }];
  let listed = 0;
  const found = await findCameras({
    room: { kind: 'elements', elements, presencePath: present },
    document: { kind: 'elements', elements, presencePath: join(dir, 'unplugged.sock') },
    target: TARGET,
    list: async () => {
      listed++;
      return [];
    },
  });
  t.deepEqual(
    found.map((c) => [c.role, c.name]),
    [['room', 'rig test camera']],
  );
  t.is(listed, 0, 'the device monitor is not asked when nothing is to be discovered');
});

test('two cameras in one pipeline: each gated right behind its source, into a selector with the shown one first, one timeline after it', (t) => {
  const room = sourceChain(
    {
      kind: 'v4l2',
      devicePath: '/dev/video0',
      mode: { media: 'mjpeg', format: null, width: 1280, height: 720, fps: [30] },
      fps: 30,
    },
    'cam',
  );
  const document = sourceChain(
    { kind: 'elements', elements: [{ id: 'pattern', factory: 'videotestsrc', props: { 'is-live': true } }] },
    'doc',
  );
  const x264 = ENCODERS.find((e) => e.element === 'x264enc')!;
  const spec = consultationSpec({
    name: 'consultation',
    chain: room,
    document,
    active: 'document',
    encoder: x264,
    target: { ...TARGET, bitrateKbps: 2000, keyFrameIntervalS: 2 },
  });
  t.deepEqual(specProblems(spec), []);
  const byId = new Map(spec.elements.map((e) => [e.id, e]));
  // The MJPEG mode is asked between the device and its gate; decoding happens only behind it.
  t.deepEqual(
    spec.links.filter((l) => l.from.startsWith('cam-') || l.to.startsWith('cam-')),
    [
      { from: 'cam-src', to: 'cam-gate', caps: 'image/jpeg,width=1280,height=720,framerate=30/1' },
      { from: 'cam-gate', to: 'cam-dec' },
      { from: 'cam-dec', to: ELEMENTS.cameraSelect, toPad: 'sink_1' },
    ],
  );
  t.deepEqual(byId.get('cam-gate')?.props, { drop: true }, 'the room camera is not shown at start');
  t.deepEqual(byId.get('doc-gate')?.props, { drop: false });
  const intoSelector = spec.links.filter((l) => l.to === ELEMENTS.cameraSelect);
  t.deepEqual(
    intoSelector.map((l) => [l.from, l.toPad]),
    [
      ['doc-gate', 'sink_0'],
      ['cam-dec', 'sink_1'],
    ],
    'the camera shown at start is linked first (input-selector shows its first pad)',
  );
  t.deepEqual(cameraPads('document'), { document: 'sink_0', room: 'sink_1' });
  t.deepEqual(cameraPads('room'), { room: 'sink_0', document: 'sink_1' });
  t.true(spec.links.some((l) => l.from === ELEMENTS.cameraSelect && l.to === 'camera-timeline'));
  t.true(spec.links.some((l) => l.from === 'camera-timeline' && l.to === 'convert'));
  t.deepEqual(byId.get('camera-timeline')?.props, { 'single-segment': true });

  // One camera: no selector, no gate.
  const single = consultationSpec({
    name: 'consultation',
    chain: room,
    encoder: x264,
    target: { ...TARGET, bitrateKbps: 2000, keyFrameIntervalS: 2 },
  });
  t.false(single.elements.some((e) => e.factory === 'input-selector' || e.factory === 'valve'));
  t.true(single.links.some((l) => l.from === 'cam-dec' && l.to === 'convert'));
});
