import test from 'ava';
import { localApi, until, world } from './helpers/harness.ts';

// The rig's stand-in for the board's hardware encoder (vpuenc_h264, x264enc inside) fails on
// demand; everything else is the firmware as it runs on a board.

async function hwWorld() {
  const w = await world({ media: true, segmentS: 1, hwEncoder: true, hardwareFailuresBeforeFallback: 1 });
  const media = w.daemon.media!;
  await until('encoder ready', () => media.encoders.status().state === 'ready', 60_000);
  const { status, post } = localApi(w);
  return { w, status, post };
}

test.serial(
  'the hardware encoder is chosen first; when it fails mid-stream the terminal falls back to software, says why, and video and the recording carry on',
  async (t) => {
    const { w, status, post } = await hwWorld();
    t.teardown(() => w.stop());
    const before = (await status()).video!;
    t.is(before.encoder, 'vpuenc_h264');
    t.is(before.encoderKind, 'hardware');
    t.is(before.fallbackReason, null);

    const started = await post('/api/v1/recordings', { seconds: 6 });
    t.is(started.status, 200);
    const first = (await started.json()) as { recordingId: number };
    await until(
      'a hardware-encoded segment',
      async () => (await status()).video!.recording.segments >= 1,
      20_000,
    );

    w.rig.hwEncoder.setFault('stream');
    await until('software encoder in use', async () => (await status()).video!.encoder === 'x264enc', 30_000);
    const after = (await status()).video!;
    t.is(after.encoderKind, 'software');
    t.regex(after.fallbackReason ?? '', /vpuenc_h264 failed at run time/);
    t.deepEqual(w.daemon.health().media?.encoder.failedHardware, ['vpuenc_h264']);
    await until('video live again', async () => (await status()).video!.camera.state === 'live', 15_000);
    await until(
      'the recording resumed',
      async () => {
        const rec = (await status()).video!.recording;
        return rec.state === 'recording' && rec.recordingId !== first.recordingId;
      },
      15_000,
    );
    t.true((await status()).notices.some((n) => n.code === 'video-interrupted' && /encoder/.test(n.message)));
    await until('recording over', async () => (await status()).video!.recording.state === 'idle', 30_000);
    const encoders = w.daemon.store.db
      .prepare('SELECT encoder FROM recordings ORDER BY id')
      .all()
      .map((r) => (r as { encoder: string }).encoder);
    t.deepEqual(encoders, ['vpuenc_h264', 'x264enc'], 'one series per encoder, both in the study');
    await until('everything delivered', async () => (await status()).queueDepth === 0, 60_000);
    const segments = w.daemon.store.inState('delivered').filter((r) => r.kind === 'video');
    t.true(
      segments.some((r) => r.recording_id === first.recordingId),
      'the hardware-encoded part arrived',
    );
  },
);

test.serial(
  'a hardware encoder that refuses to start is passed over and the video starts on software',
  async (t) => {
    const { w, status, post } = await hwWorld();
    t.teardown(() => w.stop());
    t.is((await status()).video!.encoder, 'vpuenc_h264');
    w.rig.hwEncoder.setFault('start');
    const started = await post('/api/v1/video/start');
    t.is(started.status, 200, await started.clone().text());
    const video = (await status()).video!;
    t.is(video.camera.state, 'live');
    t.is(video.encoder, 'x264enc');
    t.regex(video.fallbackReason ?? '', /vpuenc_h264/);
    t.is((await post('/api/v1/video/stop')).status, 200);
  },
);
