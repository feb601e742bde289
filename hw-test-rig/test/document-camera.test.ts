import test from 'ava';
import jpeg from 'jpeg-js';
import { RIG_ROOM } from '../src/services/janus.ts';
import { Specialist } from '../src/specialist/specialist.ts';
import { kioskWorld } from './helpers/browser.ts';
import { localApi, until, videoWorld } from './helpers/harness.ts';

/**
 * How colourful a JPEG is: the mean over its pixels of max(R,G,B) − min(R,G,B). The rig's room
 * camera films a white ball on black (grey: near 0); its document camera colour bars (far above).
 */
function colourfulness(bytes: Uint8Array): number {
  const { data, width, height } = jpeg.decode(bytes, { useTArray: true });
  let sum = 0;
  for (let i = 0; i < width * height * 4; i += 4) {
    const r = data[i]!;
    const g = data[i + 1]!;
    const b = data[i + 2]!;
    sum += Math.max(r, g, b) - Math.min(r, g, b);
  }
  return sum / (width * height);
}

const GREY = 20;
const COLOUR = 60;

test.serial(
  'two cameras: staff switch to the document camera and back while recording, one recording carries on; an unplugged document camera leaves the room camera running, and plugged back it is taken in by starting the video again (not under a recording)',
  async (t) => {
    const { w, status, get, post } = await videoWorld(t, { documentCamera: true, segmentS: 1 });
    // NaN (neither grey nor colourful) until the preview has its first frame.
    const preview = async () => {
      const response = await get('/api/v1/video/preview.jpg');
      return response.ok ? colourfulness(new Uint8Array(await response.arrayBuffer())) : Number.NaN;
    };

    const start = await post('/api/v1/video/start');
    t.is(start.status, 200, await start.clone().text());
    const live = (await status()).video!.camera;
    t.is(live.state, 'live');
    t.deepEqual(live.available, ['room', 'document'], 'both cameras in the running video');
    t.is(live.active, 'room');
    t.true(live.documentCamera);
    await until('the room camera previewed', async () => (await preview()) < GREY, 10_000);

    const started = await post('/api/v1/recordings', { seconds: 8 });
    t.is(started.status, 200);
    const { recordingId } = (await started.json()) as { recordingId: number };

    const toDocument = await post('/api/v1/video/camera', { camera: 'document' });
    t.deepEqual(await toDocument.json(), { camera: 'document', live: true });
    await until('the document camera previewed', async () => (await preview()) > COLOUR, 10_000);
    const shown = await status();
    t.is(shown.video!.camera.active, 'document');
    t.is(shown.video!.camera.name, 'rig document camera');
    t.is(w.daemon.health().media?.camera.active, 'document', 'health says which camera is shown');
    t.is(shown.video!.recording.recordingId, recordingId, 'the recording carries on across the switch');
    t.is(shown.video!.recording.state, 'recording');
    await until(
      'the encoder at its rate on the document camera (15 frames/s in, 30 out)',
      async () => ((await status()).video!.camera.measured?.fps ?? 0) >= 20,
      10_000,
    );

    t.is((await post('/api/v1/video/camera', { camera: 'room' })).status, 200);
    await until('the room camera again', async () => (await preview()) < GREY, 10_000);
    t.is((await status()).video!.recording.recordingId, recordingId);
    await until('the recording over', async () => (await status()).video!.recording.state === 'idle', 20_000);
    t.is((await status()).video!.recording.lastError, null, 'no segment was lost to the switches');

    // Pulled while not shown: the video comes back on the room camera alone; asking for the
    // document camera then says what to do.
    await w.rig.documentCamera!.unplug();
    await until(
      'the video back on the room camera alone',
      async () => {
        const c = (await status()).video!.camera;
        return c.state === 'live' && c.available.length === 1;
      },
      15_000,
    );
    const missing = await post('/api/v1/video/camera', { camera: 'document' });
    t.is(missing.status, 503);
    t.regex(
      ((await missing.json()) as { error: string }).error,
      /document camera is not connected: plug it in/,
    );
    await w.rig.documentCamera!.plug();
    // Plugged in while a recording runs: refused until it ends (its segments are not cut).
    t.is((await post('/api/v1/recordings', { seconds: 3 })).status, 200);
    const during = await post('/api/v1/video/camera', { camera: 'document' });
    t.is(during.status, 409);
    t.regex(((await during.json()) as { error: string }).error, /connected during the recording/);
    await until('the recording over', async () => (await status()).video!.recording.state === 'idle', 20_000);
    // Then the video starts again with both cameras, the document camera shown.
    t.deepEqual(await (await post('/api/v1/video/camera', { camera: 'document' })).json(), {
      camera: 'document',
      live: true,
    });
    const restarted = (await status()).video!.camera;
    t.is(restarted.active, 'document');
    t.deepEqual(restarted.available, ['room', 'document']);
    await until('the document camera after the restart', async () => (await preview()) > COLOUR, 10_000);
    // The choice stands across a stop and start.
    t.is((await post('/api/v1/video/stop')).status, 200);
    t.deepEqual(await (await post('/api/v1/video/camera', { camera: 'room' })).json(), {
      camera: 'room',
      live: false,
    });
    t.is((await post('/api/v1/video/start')).status, 200);
    t.is((await status()).video!.camera.active, 'room');
  },
);

test.serial(
  'in a call: 文档摄像头 on the kiosk and the specialist sees the document camera, with no renegotiation; 诊室摄像头 brings the room back',
  async (t) => {
    t.timeout(180_000);
    const { w, page, pageErrors } = await kioskWorld(t, { media: true, call: true, documentCamera: true });
    await until('encoder ready', () => w.daemon.media?.encoders.status().state === 'ready', 30_000);
    const specialist = await Specialist.join({ ws: w.rig.janus!.A.ws, room: RIG_ROOM, display: '李医生' });
    t.teardown(() => specialist.close().catch(() => {}));
    const seen = async () =>
      Object.values(await specialist.stats()).find((f) => f.display === w.config.device.id)?.video
        ?.colourfulness ?? Number.NaN;

    await page.locator('#call-start').click();
    await page.locator('#call[data-state="in-call"][data-remote="yes"]').waitFor({ timeout: 60_000 });
    await until('the room camera at the specialist', async () => (await seen()) < GREY, 30_000);
    const switchButton = page.locator('#call-switch-camera');
    t.is(await switchButton.textContent(), '文档摄像头');
    const { status } = localApi(w);
    const joined = (await status()).call!.counters;
    await switchButton.click();
    await until('the document camera at the specialist', async () => (await seen()) > COLOUR, 20_000);
    await page.locator('#call-switch-camera', { hasText: '诊室摄像头' }).waitFor({ timeout: 10_000 });
    await page.locator('#camera-switch', { hasText: '切换到诊室摄像头' }).waitFor({ timeout: 10_000 });
    const call = (await status()).call!;
    t.is(call.controls.camera, 'document');
    t.deepEqual(call.counters, joined, 'the call was not rejoined or renegotiated');
    await page.locator('#call-switch-camera').click();
    await until('the room camera again', async () => (await seen()) < GREY, 20_000);

    await page.locator('#call-end').click();
    await page.locator('#call[data-state="idle"]').waitFor({ timeout: 20_000 });
    t.deepEqual(pageErrors, []);
  },
);
