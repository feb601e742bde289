import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import jpeg from 'jpeg-js';
import { pictureInPicture } from '../../firmware/src/media/call-recording.ts';
import { decodedAudio, framesAsJpeg } from '../../firmware/test/helpers/gst-decode.ts';
import { RIG_ROOM } from '../src/services/janus.ts';
import { Specialist } from '../src/specialist/specialist.ts';
import { deliveredSegment, until, videoWorld } from './helpers/harness.ts';

/**
 * Over a rectangle of a JPEG: how colourful it is (mean max(R,G,B) − min(R,G,B): near 0 for grey,
 * high for colour), and the share of bright pixels (the rig camera's white ball and clock on black;
 * none in the black a missing picture leaves).
 */
function look(
  file: string,
  area: { x: number; y: number; width: number; height: number },
): { colourfulness: number; bright: number } {
  const { data, width } = jpeg.decode(readFileSync(file), { useTArray: true });
  let sum = 0;
  let bright = 0;
  for (let y = area.y; y < area.y + area.height; y++)
    for (let x = area.x; x < area.x + area.width; x++) {
      const i = (y * width + x) * 4;
      const [r, g, b] = [data[i]!, data[i + 1]!, data[i + 2]!];
      sum += Math.max(r, g, b) - Math.min(r, g, b);
      if (r > 200 && g > 200 && b > 200) bright++;
    }
  const n = area.width * area.height;
  return { colourfulness: sum / n, bright: bright / n };
}

test.serial(
  'a recording made during a call holds both sides: the specialist in the top right corner of our camera, both voices; after the call, the camera alone again',
  async (t) => {
    t.timeout(240_000);
    const { w, status, post } = await videoWorld(t, { call: true, segmentS: 2 });
    const specialist = await Specialist.join({ ws: w.rig.janus!.A.ws, room: RIG_ROOM, display: '李医生' });
    t.teardown(() => specialist.close().catch(() => {}));
    const called = await post('/api/v1/call', {});
    t.is(called.status, 200, await called.clone().text());
    await until(
      'the specialist received',
      async () => ((await status()).call?.received?.framesRendered ?? 0) > 30,
      60_000,
    );

    const started = await post('/api/v1/recordings', { seconds: 6 });
    t.is(started.status, 200);
    const { recordingId } = (await started.json()) as { recordingId: number };
    t.is((await status()).video!.recording.holds, 'call');
    await until('the recording over', async () => (await status()).video!.recording.state === 'idle', 30_000);
    t.is((await status()).video!.recording.lastError, null);
    const rows = () =>
      w.daemon.store
        .inState('delivered')
        .filter((r) => r.kind === 'video' && r.recording_id === recordingId)
        .sort((a, b) => (a.segment_index ?? 0) - (b.segment_index ?? 0));
    const closed = (await status()).video!.recording.segments;
    t.true(closed >= 3, `${closed} segments of 2 s for 6 s`);
    await until('every segment delivered', () => rows().length === closed, 60_000);

    // Every segment plays, with its sound; the fullest is looked at. (A loaded machine may end
    // the recording with a short last segment of a few frames.)
    let fullest: { file: string; frames: number; ds: Record<string, unknown> } | null = null;
    for (const row of rows()) {
      const name = `segment-${row.segment_index}`;
      const segment = await deliveredSegment(w, row.sop_uid!, name);
      t.regex(String(segment.ds['SeriesDescription']), /^Consultation call video, both sides/);
      t.is(segment.decodedFrames, segment.numberOfFrames, `${name} plays to its end`);
      const file = join(w.dir, `${name}.mp4`);
      const sound = decodedAudio(file).buffers;
      // AAC-LC at 48 kHz: 46.9 frames a second of sound; pictures at 30 a second.
      const expected = (segment.numberOfFrames / 30) * 46.9;
      t.log(
        `${name}: ${segment.numberOfFrames} pictures, ${sound} AAC frames (${expected.toFixed(0)} expected)`,
      );
      t.true(sound >= 0.8 * expected - 2, `${name}: both voices, mixed, as AAC beside the picture`);
      if (!fullest || segment.numberOfFrames > fullest.frames)
        fullest = { file, frames: segment.numberOfFrames, ds: segment.ds };
    }
    const frames = join(w.dir, 'call-frames');
    mkdirSync(frames, { recursive: true });
    const picture = framesAsJpeg(fullest!.file, frames).at(-1)!;
    const size = { width: Number(fullest!.ds['Columns']), height: Number(fullest!.ds['Rows']) };
    t.deepEqual(size, { width: 640, height: 360 });
    const pip = pictureInPicture(size);
    const corner = look(picture, pip);
    const room = look(picture, { x: 0, y: 0, width: pip.x - 8, height: size.height });
    t.log(`the corner ${JSON.stringify(corner)}, the rest ${JSON.stringify(room)} (${picture})`);
    t.true(
      corner.colourfulness > 3 * room.colourfulness + 10,
      "the specialist (Chromium's coloured test picture) in the corner, on the grey room",
    );
    t.true(room.bright > 0.002, 'the room camera itself (its white ball and clock), not black');

    // After the call: a recording holds the camera alone.
    const hungUp = await fetch(`${new URL(w.rig.kioskUrl).origin}/api/v1/call`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${w.config.api.token}` },
    });
    t.is(hungUp.status, 200);
    t.is((await post('/api/v1/recordings', { seconds: 2 })).status, 200);
    t.is((await status()).video!.recording.holds, 'camera');
    await until(
      'the second recording over',
      async () => (await status()).video!.recording.state === 'idle',
      30_000,
    );
  },
);
