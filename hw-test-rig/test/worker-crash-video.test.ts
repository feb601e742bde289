import test from 'ava';
import { deliveredSegment, until, videoWorld } from './helpers/harness.ts';

test.serial(
  'the media worker killed mid-recording: the open segment is kept and delivered playable, video and the recording come back by themselves',
  async (t) => {
    const { w, media, status, post } = await videoWorld(t, { segmentS: 2 });
    const started = await post('/api/v1/recordings', { seconds: 8 });
    t.is(started.status, 200);
    const first = (await started.json()) as { recordingId: number };
    await until('a segment closed', async () => (await status()).video!.recording.segments >= 1, 20_000);
    await new Promise((r) => setTimeout(r, 1000)); // into the next segment

    process.kill(media.worker.pid!, 'SIGKILL');
    await until(
      'recording ended',
      async () =>
        (await status()).video!.recording.recordingId === first.recordingId &&
        (await status()).video!.recording.state === 'idle',
      15_000,
    );
    t.regex((await status()).video!.recording.lastError ?? '', /media worker stopped/);
    t.true((await status()).notices.some((n) => n.code === 'video-interrupted'));
    await until('video back', async () => (await status()).video!.camera.state === 'live', 30_000);
    await until(
      'the recording resumed',
      async () => (await status()).video!.recording.recordingId !== first.recordingId,
      15_000,
    );
    await until(
      'resumed recording over',
      async () => (await status()).video!.recording.state === 'idle',
      30_000,
    );
    await until('everything delivered', async () => (await status()).queueDepth === 0, 60_000);

    // The cut recording: the segments it closed and the one the kill left open, all playable.
    const rows = w.daemon.store
      .inState('delivered')
      .filter((r) => r.kind === 'video' && r.recording_id === first.recordingId);
    t.true(rows.length >= 2, `${rows.length} segments of the cut recording delivered`);
    for (const row of rows) {
      const segment = await deliveredSegment(w, row.sop_uid!, `killed-${row.segment_index}`);
      t.true(segment.decodedFrames > 0);
      t.is(segment.decodedFrames, segment.numberOfFrames, `segment ${row.segment_index} plays to its end`);
    }
    t.is(w.daemon.health().media?.counters.crashes, 1);
  },
);
