import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import type { StatusResponse } from '../../firmware/src/api/types.ts';
import { jpegInfo } from '../../firmware/src/dicom/jpeg-header.ts';
import { decode, decodedAudio } from '../../firmware/test/helpers/gst-decode.ts';
import { freePort } from '../src/services/free-port.ts';
import { SrtListener } from '../src/services/srt-listener.ts';
import { UdpLink } from '../src/services/udp-link.ts';
import { deliveredSegment, localApi, until, videoWorld, world } from './helpers/harness.ts';

test.serial(
  'consultation video without a recording: SRT live out at 640×360/30 unbroken through bitrate and resolution steps, kiosk preview frames, a still',
  async (t) => {
    // The rig's own province media server stand-in, as `telemed-rig up` runs it.
    const srt = await SrtListener.start(mkdtempSync(join(tmpdir(), 'srt-')));
    // Through the rig's stand-in for the board's hardware encoder (vpuenc_h264, kbit/s bitrate):
    // rate and size steps go through the table's hardware entry, as `telemed-rig up` runs.
    const w = await world({
      media: true,
      hwEncoder: true,
      segmentS: 2,
      live: { uri: srt.uri, passphrase: srt.passphrase },
    });
    t.teardown(async () => {
      await srt.stop();
      await w.stop();
    });
    const media = w.daemon.media!;
    await until('encoder ready', () => media.encoders.status().state === 'ready', 30_000);
    t.is(media.encoders.status().element, 'vpuenc_h264');
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
    // Uploads yield to the consultation while it is live (dataCentres.duringLiveKbps).
    await until('the upload cap lowered', () => w.daemon.uplink.flow().live, 5000);
    t.is(w.daemon.uplink.flow().capKbps, w.config.dataCentres.duringLiveKbps);

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
    await media.consultation.requestBitrate('live', 400);
    t.deepEqual(
      (await status()).video!.live.resolution,
      { width: 640, height: 360 },
      '400 kbit/s holds 360p',
    );
    await new Promise((r) => setTimeout(r, 2000));
    // The adaptive floor: too few bits for 640×360, so the picture steps down a rung.
    await media.consultation.requestBitrate('live', 300);
    t.deepEqual((await status()).video!.live.resolution, { width: 424, height: 240 });
    await new Promise((r) => setTimeout(r, 2000));
    await media.consultation.requestBitrate('live', 1500);
    t.deepEqual((await status()).video!.live.resolution, { width: 640, height: 360 });
    await new Promise((r) => setTimeout(r, 2000));
    t.is((await post('/api/v1/video/stop')).status, 200);
    t.is((await status()).video!.camera.state, 'off');
    await srt.stop(); // EOS: the listener finishes its file

    const received = decode(srt.receivedFile, 'ts');
    t.regex(received.caps ?? '', /width=\(int\)640, height=\(int\)360/);
    t.regex(received.caps ?? '', /framerate=\(fraction\)30\/1/);
    t.deepEqual(received.sizes, ['640x360', '424x240'], 'the receiver followed the resolution steps');
    // 8 s at 30 fps through three bitrate steps and two resolution changes: a stall at any would
    // leave a second or more without a picture. (The count allows for a loaded CI machine whose
    // encoder drops frames here and there; the gap does not.)
    t.true(received.longestGapS < 0.5, `a ${received.longestGapS.toFixed(2)} s gap in the pictures`);
    t.true(received.frames >= 180, `${received.frames} frames decoded at the listener`);
    // The rig microphone's ticks as AAC in the same transport stream: ~47 frames a second.
    const sound = decodedAudio(srt.receivedFile).buffers;
    t.true(
      sound >= (received.frames / 30) * 46.9 * 0.7,
      `${sound} AAC frames for ${received.frames} pictures`,
    );
    t.is(
      (w.daemon.store.db.prepare('SELECT count(*) AS n FROM recordings').get() as { n: number }).n,
      0,
      'nothing was recorded',
    );
    t.is((await post('/api/v1/video/stop')).status, 200);
    await until('the upload cap back', () => !w.daemon.uplink.flow().live, 10_000);
    t.is(w.daemon.uplink.flow().capKbps, w.config.dataCentres.uploadKbps);
  },
);

test.serial(
  'live out to a media server that is unreachable, then refuses the passphrase: camera, preview and recording carry on, live retries with back-off and resumes when the server takes it',
  async (t) => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'srt-'));
    const passphrase = 'terminal-passphrase-1';
    const w = await world({ media: true, segmentS: 1, live: { uri: `srt://127.0.0.1:${port}`, passphrase } });
    let listener: SrtListener | null = null;
    t.teardown(async () => {
      await listener?.stop();
      await w.stop();
    });
    await until('encoder ready', () => w.daemon.media!.encoders.status().state === 'ready', 30_000);
    const { status, post, get } = localApi(w);
    t.is((await post('/api/v1/video/start')).status, 200);
    t.is((await post('/api/v1/recordings', { seconds: 3 })).status, 200);

    // Nobody listens: live out fails and retries; nothing else notices.
    await until('live retrying', async () => (await status()).video!.live.state === 'retrying', 15_000);
    const down = (await status()).video!;
    t.truthy(down.live.lastError);
    t.is(down.camera.state, 'live');
    await until(
      'a preview frame',
      async () => (await get('/api/v1/video/preview.jpg')).status === 200,
      10_000,
    );
    await until('recording finished', async () => (await status()).video!.recording.state === 'idle', 20_000);
    t.true((await status()).video!.recording.segments >= 2, 'the recording went on without live out');
    t.is((await status()).video!.recording.lastError, null);

    // A server that refuses the passphrase: still no live video, still retrying.
    listener = await SrtListener.start(dir, 'another-passphrase-9', port);
    const failuresBefore = w.daemon.health().media!.live.counters.failures;
    await until(
      'refused attempts',
      () => w.daemon.health().media!.live.counters.failures >= failuresBefore + 2,
      20_000,
    );
    t.not((await status()).video!.live.state, 'live');
    t.is(w.daemon.health().media!.live.counters.connected, 0);
    await listener.stop();

    // The right server: live out connects by itself and frames arrive.
    listener = await SrtListener.start(dir, passphrase, port);
    await until('live', async () => (await status()).video!.live.state === 'live', 20_000);
    await new Promise((r) => setTimeout(r, 3000));
    t.is((await status()).video!.live.state, 'live');
    t.is((await post('/api/v1/video/stop')).status, 200);
    await listener.stop();
    const received = decode(listener.receivedFile, 'ts');
    t.true(received.frames >= 60, `${received.frames} frames arrived after the reconnect`);
  },
);

test.serial(
  'adaptive bitrate: loss on the link steps the encoder down while frames keep arriving; a clean link steps it back up',
  async (t) => {
    const srt = await SrtListener.start(mkdtempSync(join(tmpdir(), 'srt-')));
    const link = await UdpLink.start(srt.port);
    const w = await world({
      media: true,
      segmentS: 2,
      live: { uri: `srt://127.0.0.1:${link.port}`, passphrase: srt.passphrase },
    });
    t.teardown(async () => {
      link.stop();
      await srt.stop();
      await w.stop();
    });
    await until('encoder ready', () => w.daemon.media!.encoders.status().state === 'ready', 30_000);
    const { status, post } = localApi(w);
    t.is((await post('/api/v1/video/start')).status, 200);
    await until('live', async () => (await status()).video!.live.state === 'live', 20_000);
    t.is((await status()).video!.live.bitrateKbps, 1000, 'starts at the configured rate');

    link.loss = 0.1;
    let worstLoss = 0;
    await until(
      'stepped down',
      async () => {
        const live = (await status()).video!.live;
        worstLoss = Math.max(worstLoss, live.lossPercent);
        return live.bitrateKbps < 1000;
      },
      20_000,
    );
    const lossy = (await status()).video!;
    // The step down came from SRT's own loss figures (resent packets), and health counts it.
    t.true(worstLoss > 2, `loss seen: ${worstLoss} %`);
    t.true(w.daemon.health().media!.live.bitrateSteps.stepsDown >= 1);
    t.true(w.daemon.health().media!.live.counters.connected >= 1);
    t.is(lossy.live.state, 'live', 'SRT rides out the loss');
    await until(
      'the encoder follows',
      async () => ((await status()).video!.camera.measured?.kbps ?? 2000) < 1000,
      15_000,
    );
    const low = (await status()).video!.live.bitrateKbps;

    link.loss = 0;
    await until('stepped back up', async () => (await status()).video!.live.bitrateKbps > low, 30_000);
    t.is((await post('/api/v1/video/stop')).status, 200);
    await srt.stop();
    const received = decode(srt.receivedFile, 'ts');
    t.regex(received.caps ?? '', /width=\(int\)640, height=\(int\)360/);
    t.true(received.frames >= 150, `${received.frames} frames decoded through the lossy link`);
    t.true(link.counters.dropped > 0);
  },
);

test.serial(
  'live out as RTP over UDP (the second transport): a plain RTP receiver decodes 640×360 at 30 fps',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'rtp-'));
    const port = await freePort();
    const file = join(dir, 'rtp-received.h264');
    const receiver = spawn(
      'gst-launch-1.0',
      [
        '-e',
        'udpsrc',
        `port=${port}`,
        'caps=application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96',
        '!',
        'rtph264depay',
        '!',
        'h264parse',
        '!',
        'video/x-h264,stream-format=byte-stream',
        '!',
        'filesink',
        `location=${file}`,
      ],
      { stdio: 'ignore' },
    );
    const w = await world({ media: true, rtp: { host: '127.0.0.1', port } });
    t.teardown(async () => {
      receiver.kill('SIGKILL');
      await w.stop();
    });
    await until('encoder ready', () => w.daemon.media!.encoders.status().state === 'ready', 30_000);
    const { status, post } = localApi(w);
    t.is((await post('/api/v1/video/start')).status, 200);
    const live = (await status()).video!.live;
    t.is(live.transport, 'rtp');
    t.is(live.state, 'live');
    await new Promise((r) => setTimeout(r, 4000));
    t.is((await post('/api/v1/video/stop')).status, 200);
    const exited = new Promise((r) => receiver.once('exit', r));
    receiver.kill('SIGINT');
    await exited;
    // FFmpeg's decoder, as a media server's: openh264's rejects x264's multi-slice (sliced-threads)
    // frames once they went through RTP payloading and back, though the stream is valid.
    const received = decode(file, 'h264', 'avdec_h264');
    t.regex(received.caps ?? '', /width=\(int\)640, height=\(int\)360/);
    t.true(received.frames >= 90, `${received.frames} frames over RTP`);
  },
);

test.serial(
  'a recording on a weak link keeps the stepped-down picture size to its end (its DICOM says so); the size steps back up after it',
  async (t) => {
    const { w, media, status, post } = await videoWorld(t, { segmentS: 1 });
    t.is((await post('/api/v1/video/start')).status, 200);
    await media.consultation.requestBitrate('live', 300);
    t.deepEqual((await status()).video!.live.resolution, { width: 424, height: 240 });

    const started = await post('/api/v1/recordings', { seconds: 2.5 });
    t.is(started.status, 200, await started.clone().text());
    const { recordingId } = (await started.json()) as { recordingId: number };
    await new Promise((r) => setTimeout(r, 800));
    // The link recovers mid-recording: the rate goes up, the size waits for the recording's end.
    await media.consultation.requestBitrate('live', 1500);
    t.deepEqual((await status()).video!.live.resolution, { width: 424, height: 240 }, 'held while recording');
    await until('recording over', async () => (await status()).video!.recording.state === 'idle', 20_000);
    await until(
      'back to full size',
      async () => (await status()).video!.live.resolution.width === 640,
      5_000,
    );

    await until(
      'segments delivered',
      () =>
        w.daemon.store.inState('delivered').filter((r) => r.recording_id === recordingId).length >= 2 &&
        w.daemon.store.inState('captured').length === 0,
      60_000,
    );
    for (const row of w.daemon.store.inState('delivered').filter((r) => r.recording_id === recordingId)) {
      const segment = await deliveredSegment(w, row.sop_uid!, `weak-${row.segment_index}`);
      t.deepEqual([segment.ds['Columns'], segment.ds['Rows']], [424, 240]);
      t.is(segment.decodedFrames, segment.numberOfFrames, `segment ${row.segment_index} plays whole`);
    }
  },
);
