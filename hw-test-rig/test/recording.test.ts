import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import dcmjs from 'dcmjs';
import type { StatusResponse } from '../../firmware/src/api/types.ts';
import { mp4TrackHandlers } from '../../firmware/src/media/mp4-boxes.ts';
import { decodedAudio, decodedFrames } from '../../firmware/test/helpers/gst-decode.ts';
import { until, world } from './helpers/harness.ts';

const VIDEO_PHOTOGRAPHIC = '1.2.840.10008.5.1.4.1.1.77.1.4.1';

test.serial(
  'a recording from the rig camera arrives at the data centre as one series of playable DICOM video segments',
  async (t) => {
    const w = await world({ media: true, segmentS: 1 });
    t.teardown(() => w.stop());
    await until('encoder ready', () => w.daemon.media!.encoders.status().state === 'ready', 30_000);
    const api = new URL(w.rig.kioskUrl).origin;
    const auth = { authorization: `Bearer ${w.config.api.token}`, 'content-type': 'application/json' };
    const started = await fetch(`${api}/api/v1/recordings`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ seconds: 3.5 }),
    });
    t.is(started.status, 200);
    const { recordingId, studyUid } = (await started.json()) as { recordingId: number; studyUid: string };
    const busy = await fetch(`${api}/api/v1/recordings`, { method: 'POST', headers: auth, body: '{}' });
    t.is(busy.status, 409, 'one recording at a time');
    await new Promise((r) => setTimeout(r, 1000));
    const still = await fetch(`${api}/api/v1/stills`, { method: 'POST', headers: auth });
    t.is(still.status, 200, await still.clone().text());
    const { instanceId: stillId } = (await still.json()) as { instanceId: number };

    const status = async () =>
      (await (await fetch(`${api}/api/v1/status`, { headers: auth })).json()) as StatusResponse;
    await until('recording over', async () => (await status()).video?.recording.state === 'idle', 30_000);
    const segments = (await status()).video!.recording.segments;
    t.true(segments >= 3 && segments <= 5, `${segments} segments of 1 s in 3.5 s`);
    await until(
      'every segment delivered',
      () => w.daemon.store.inState('delivered').filter((r) => r.kind === 'video').length === segments,
      60_000,
    );
    const rows = w.daemon.store.inState('delivered').filter((r) => r.kind === 'video');
    t.deepEqual(
      rows.map((r) => r.segment_index),
      Array.from({ length: segments }, (_, i) => i),
    );
    t.true(rows.every((r) => r.recording_id === recordingId));

    for (const row of rows) {
      const bytes = await w.rig.dcs.A.instanceFile(row.sop_uid!);
      const read = dcmjs.data.DicomMessage.readFile(
        bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
      );
      const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(read.dict);
      t.is(ds['SOPClassUID'], VIDEO_PHOTOGRAPHIC);
      t.is(ds['StudyInstanceUID'], studyUid);
      t.is(ds['InstanceNumber'], (row.segment_index ?? 0) + 1);
      t.is(ds['Rows'], 360);
      const container = new Uint8Array((ds['PixelData'] as ArrayBuffer[])[0]!);
      const file = join(w.dir, `segment-${row.segment_index}.mp4`);
      writeFileSync(file, container);
      t.deepEqual(mp4TrackHandlers(container), ['vide', 'soun'], 'picture and the rig microphone');
      const frames = decodedFrames(file, 'mp4');
      t.is(frames, Number(ds['NumberOfFrames']), `segment ${row.segment_index}: every counted frame decodes`);
      t.true(frames > 0);
      // 46.9 AAC frames (1024 samples at 48 kHz) a second: sound as long as the picture, within 30 %.
      const sound = decodedAudio(file).buffers;
      t.true(
        sound >= (frames / 30) * 46.9 * 0.7,
        `segment ${row.segment_index}: ${sound} AAC frames decode for ${frames} pictures`,
      );
    }
    const series = new Set(rows.map((r) => r.series_uid));
    t.is(series.size, 1, 'one recording is one series');
    t.true(w.daemon.status().studiesToday.some((s) => s.kind === 'video' && s.segment === 1));

    // The still, taken mid-recording without interrupting it: a full-resolution frame as a photo.
    await until('still delivered', () => w.daemon.store.get(stillId).state === 'delivered', 30_000);
    const photo = await w.rig.dcs.A.instanceFile(w.daemon.store.get(stillId).sop_uid!);
    const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(
      dcmjs.data.DicomMessage.readFile(
        photo.buffer.slice(photo.byteOffset, photo.byteOffset + photo.byteLength) as ArrayBuffer,
      ).dict,
    );
    t.is(ds['SOPClassUID'], '1.2.840.10008.5.1.4.1.1.77.1.4');
    t.is(ds['StudyInstanceUID'], studyUid);
    t.deepEqual([ds['Rows'], ds['Columns']], [360, 640]);
    const jpeg = new Uint8Array((ds['PixelData'] as ArrayBuffer[])[0]!);
    t.deepEqual([jpeg[0], jpeg[1]], [0xff, 0xd8]);
    const after = await fetch(`${api}/api/v1/stills`, { method: 'POST', headers: auth });
    t.is(after.status, 409, 'no camera running, no still');
    t.regex(((await after.json()) as { error: string }).error, /start the consultation video first/);
  },
);
