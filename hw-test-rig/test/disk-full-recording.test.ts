import { readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { testWhen } from '../../device-drivers/test/helpers/test-when.ts';
import { localApi, until, world } from './helpers/harness.ts';

const rootTest = testWhen(
  process.getuid?.() === 0,
  'a real small file system for the firmware needs root (mount -t tmpfs)',
  true,
);
const RESERVE = 4 * 1048576;

rootTest(
  'storage running low during a recording: it stops cleanly with a clear message, the camera keeps running, what was recorded is kept and delivered',
  async (t) => {
    const w = await world({ media: true, segmentS: 1, diskMb: 32, minFreeBytes: RESERVE });
    t.teardown(() => w.stop());
    const media = w.daemon.media!;
    await until('encoder ready', () => media.encoders.status().state === 'ready', 30_000);
    const { status, post } = localApi(w);
    const filler = join(w.config.dataDir, 'filler.bin');
    /** Leaves `bytes` free on the firmware's file system. */
    const fillLeaving = (bytes: number) => {
      rmSync(filler, { force: true });
      const fs = statfsSync(w.config.dataDir);
      writeFileSync(filler, Buffer.alloc(Math.max(0, fs.bavail * fs.bsize - bytes)));
    };
    const segmentFilesLeft = () =>
      readdirSync(join(w.config.dataDir, 'recordings'), { recursive: true }).filter((f) =>
        String(f).endsWith('.mp4'),
      ).length;

    t.is((await post('/api/v1/video/start')).status, 200);
    const firstStart = await post('/api/v1/recordings');
    t.is(firstStart.status, 200);
    const first = (await firstStart.json()) as { recordingId: number };
    await until('two segments', async () => (await status()).video!.recording.segments >= 2, 20_000);

    // Free space crosses the watermark: room above the reserve for just under what a recording
    // needs (3 segments of 1 s at 1 Mbit/s, 375 KB). The terminal stops the recording itself while
    // there is still room to save what it made.
    fillLeaving(RESERVE + 360 * 1000);
    await until('recording stopped', async () => (await status()).video!.recording.state === 'idle', 10_000);
    const stopped = await status();
    t.regex(stopped.video!.recording.lastError ?? '', /storage nearly full/);
    t.true(stopped.notices.some((n) => n.code === 'recording-stopped'));
    t.is(stopped.video!.camera.state, 'live', 'live video is not touched');
    const refused = await post('/api/v1/recordings');
    t.is(refused.status, 507);
    t.regex(((await refused.json()) as { error: string }).error, /storage nearly full/);
    await until('the recording delivered', async () => (await status()).queueDepth === 0, 30_000);
    /** Delivered segments of one recording (counted per recording: a count taken between two
     * polls would race the uplink, which delivers a segment within a second of its closing).
     * With the disk this full, the local copy of a delivered one may be gone already: 'purgeable'. */
    const delivered = (recordingId: number) =>
      [...w.daemon.store.inState('delivered'), ...w.daemon.store.inState('purgeable')].filter(
        (r) => r.kind === 'video' && r.recording_id === recordingId,
      ).length;
    t.is(
      delivered(first.recordingId),
      stopped.video!.recording.segments,
      'every segment recorded is delivered',
    );
    t.is(segmentFilesLeft(), 0);

    // Space gone below the reserve while recording: the segments cannot be taken into the store
    // now; they are kept where they are and saved and delivered once there is room again.
    rmSync(filler, { force: true });
    const secondStart = await post('/api/v1/recordings');
    t.is(secondStart.status, 200);
    const second = (await secondStart.json()) as { recordingId: number };
    await until('a segment', async () => (await status()).video!.recording.segments >= 1, 20_000);
    fillLeaving(RESERVE / 2);
    await until(
      'recording stopped again',
      async () => (await status()).video!.recording.state === 'idle',
      10_000,
    );
    const cut = (await status()).video!.recording.segments;
    t.true(media.ingest.waitingSegments > 0, 'segments wait for room');
    t.is(segmentFilesLeft(), media.ingest.waitingSegments, 'kept where the recorder wrote them');
    rmSync(filler, { force: true });
    await until('the kept segments saved and delivered', () => delivered(second.recordingId) === cut, 60_000);
    t.is(media.ingest.waitingSegments, 0);
    t.is(segmentFilesLeft(), 0);
    t.is((await post('/api/v1/video/stop')).status, 200);
  },
);
