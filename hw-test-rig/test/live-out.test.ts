import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import type { StatusResponse } from '../../firmware/src/api/types.ts';
import { jpegInfo } from '../../firmware/src/dicom/jpeg-header.ts';
import { decode } from '../../firmware/test/helpers/gst-decode.ts';
import { SrtListener } from '../src/services/srt-listener.ts';
import { until, world } from './helpers/harness.ts';

test.serial(
  'consultation video without a recording: SRT live out at 640×360/30 unbroken through bitrate steps, kiosk preview frames, a still',
  async (t) => {
    // The rig's own province media server stand-in, as `telemed-rig up` runs it.
    const srt = await SrtListener.start(mkdtempSync(join(tmpdir(), 'srt-')));
    const w = await world({ media: true, segmentS: 2, live: { uri: srt.uri, passphrase: srt.passphrase } });
    t.teardown(async () => {
      await srt.stop();
      await w.stop();
    });
    const media = w.daemon.media!;
    await until('encoder ready', () => media.encoders.status().state === 'ready', 30_000);
    const api = new URL(w.rig.kioskUrl).origin;
    const headers = { authorization: `Bearer ${w.config.api.token}` };
    const post = (path: string) => fetch(`${api}${path}`, { method: 'POST', headers });
    const status = async () =>
      (await (await fetch(`${api}/api/v1/status`, { headers })).json()) as StatusResponse;

    const noPreview = await fetch(`${api}/api/v1/video/preview.jpg`, { headers });
    t.is(noPreview.status, 409, 'no camera, no preview');
    const started = await post('/api/v1/video/start');
    t.is(started.status, 200, await started.clone().text());
    const video = (await status()).video!;
    t.is(video.camera.state, 'live');
    t.is(video.camera.name, 'rig test camera');
    t.is(video.recording.state, 'idle', 'live out runs without a recording');

    await until(
      'a preview frame',
      async () => (await fetch(`${api}/api/v1/video/preview.jpg`, { headers })).status === 200,
      10_000,
    );
    const preview = await fetch(`${api}/api/v1/video/preview.jpg`, { headers });
    t.is(preview.headers.get('content-type'), 'image/jpeg');
    const info = jpegInfo(new Uint8Array(await preview.arrayBuffer()));
    t.deepEqual([info.width, info.height], [320, 180], 'the preview is the small branch, not the full frame');

    const still = await post('/api/v1/stills');
    t.is(still.status, 200, 'a still needs the camera, not a recording');

    await new Promise((r) => setTimeout(r, 2000));
    await media.consultation.setBitrate(400);
    await new Promise((r) => setTimeout(r, 2000));
    await media.consultation.setBitrate(1500);
    await new Promise((r) => setTimeout(r, 2000));
    t.is((await post('/api/v1/video/stop')).status, 200);
    t.is((await status()).video!.camera.state, 'off');
    await srt.stop(); // EOS: the listener finishes its file

    const received = decode(srt.receivedFile, 'h264');
    t.regex(received.caps ?? '', /width=\(int\)640, height=\(int\)360/);
    t.regex(received.caps ?? '', /framerate=\(fraction\)30\/1/);
    // 6 s at 30 fps through two bitrate steps: a stall at either step would cost a second or more.
    t.true(received.frames >= 150, `${received.frames} frames decoded at the listener`);
    t.is(
      (w.daemon.store.db.prepare('SELECT count(*) AS n FROM recordings').get() as { n: number }).n,
      0,
      'nothing was recorded',
    );
  },
);
