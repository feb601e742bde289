import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { RigUsbCameras } from '../src/services/rig-usb-cameras.ts';
import { deliveredSegment, until, videoWorld } from './helpers/harness.ts';

test.serial(
  'camera unplugged mid-recording: the segment closes cleanly and is delivered playable, staff and NOC are told, and video and recording resume when it is plugged back',
  async (t) => {
    const { w, status, post } = await videoWorld(t, { segmentS: 1 });

    const started = await post('/api/v1/recordings', { seconds: 8 });
    t.is(started.status, 200);
    const first = (await started.json()) as { recordingId: number; studyUid: string };
    await until('two segments closed', async () => (await status()).video!.recording.segments >= 2, 20_000);
    const measured = (await status()).video!.camera.measured;
    t.truthy(measured, 'the encoder output is measured');
    t.true(measured!.fps >= 20 && measured!.fps <= 40, `${measured!.fps} frames/s at the encoder`);
    t.true(measured!.kbps > 100, `${measured!.kbps} kbit/s at the encoder`);

    await w.rig.camera.unplug();
    await until('camera waiting', async () => (await status()).video!.camera.state === 'waiting', 10_000);
    await until('recording ended', async () => (await status()).video!.recording.state === 'idle', 10_000);
    const lost = await status();
    t.regex(lost.video!.recording.lastError ?? '', /camera was disconnected/);
    t.true(lost.notices.some((n) => n.code === 'camera-lost'));
    const health = w.daemon.health();
    t.is(health.media?.camera.state, 'waiting');
    t.is(health.media?.camera.counters.losses, 1);
    const refused = await post('/api/v1/video/start');
    t.is(refused.status, 503);
    t.regex(((await refused.json()) as { error: string }).error, /plug it in again/);

    // Every segment of the cut recording, the last one included, arrives and plays to its end.
    const firstRows = () =>
      w.daemon.store
        .inState('delivered')
        .filter((r) => r.kind === 'video' && r.recording_id === first.recordingId);
    const cutSegments = lost.video!.recording.segments;
    t.true(cutSegments >= 2);
    await until('the cut recording delivered', () => firstRows().length === cutSegments, 60_000);
    for (const row of firstRows()) {
      const segment = await deliveredSegment(w, row.sop_uid!, `cut-${row.segment_index}`);
      t.is(segment.decodedFrames, segment.numberOfFrames, `segment ${row.segment_index} plays`);
    }

    await w.rig.camera.plug();
    await until('camera live again', async () => (await status()).video!.camera.state === 'live', 15_000);
    await until(
      'recording resumed',
      async () => (await status()).video!.recording.state === 'recording',
      10_000,
    );
    const resumed = await status();
    t.not(resumed.video!.recording.recordingId, first.recordingId, 'a new series after the gap');
    t.true(resumed.notices.some((n) => n.code === 'camera-back'));
    await until(
      'resumed recording over',
      async () => (await status()).video!.recording.state === 'idle',
      20_000,
    );
    await until('camera off again', async () => (await status()).video!.camera.state === 'off', 10_000);
    const second = w.daemon.store
      .inState('delivered')
      .concat(w.daemon.store.inState('queued'))
      .filter((r) => r.kind === 'video' && r.recording_id === resumed.video!.recording.recordingId);
    t.true(second.length >= 1, 'the resumed recording made segments');
    const studies = new Set(
      w.daemon.store.db
        .prepare('SELECT study_uid FROM recordings')
        .all()
        .map((r) => (r as { study_uid: string }).study_uid),
    );
    t.deepEqual([...studies], [first.studyUid], 'both series are in the one consultation study');
    t.is(w.daemon.health().media?.camera.counters.returns, 1);
  },
);

test.serial(
  'a camera offering no usable mode (found by the device monitor, as on the board): video refuses to start and says which camera offers what; a usable one is opened on its device node',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'usb-cameras-'));
    const cameras = RigUsbCameras.start(dir);
    // A machine-vision camera offering only raw Bayer: nothing the terminal's pipeline can take.
    cameras.set([
      { name: 'Rig Bayer camera', caps: 'video/x-bayer,format=rggb,width=1920,height=1080,framerate=30/1' },
    ]);
    const { w, status, post } = await videoWorld(t, {
      discoverCameras: true,
      deps: { mediaEnv: cameras.env },
    });

    const refused = await post('/api/v1/video/start');
    t.is(refused.status, 503);
    const { error } = (await refused.json()) as { error: string };
    t.regex(error, /no camera offers a usable mode: Rig Bayer camera \(video\/x-bayer\)/);
    t.regex(error, /connect a UVC camera/);
    t.is((await status()).video!.camera.state, 'off');
    t.regex((await status()).video!.camera.lastError ?? '', /Rig Bayer camera/);

    cameras.set([]);
    const none = await post('/api/v1/video/start');
    t.regex(((await none.json()) as { error: string }).error, /no camera is connected/);

    // A webcam with a usable mode: discovery takes it and builds v4l2src on the device's node —
    // which does not exist on this machine, so the start fails there, naming the device.
    cameras.set([
      {
        name: 'Rig USB webcam',
        caps: 'video/x-raw,format=YUY2,width=1920,height=1080,framerate=5/1;image/jpeg,width=1920,height=1080,framerate=30/1',
      },
    ]);
    const tried = await post('/api/v1/video/start');
    t.is(tried.status, 503);
    const triedError = ((await tried.json()) as { error: string }).error;
    t.regex(triedError, /\/dev\/video40/);
    t.regex(w.daemon.health().media!.camera.lastError ?? '', /Cannot identify device '\/dev\/video40'/);
  },
);
