import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { decode } from '../../firmware/test/helpers/gst-decode.ts';
import { SrtListener } from '../src/services/srt-listener.ts';
import { until, world } from './helpers/harness.ts';

test.serial(
  'live out over SRT: the rig’s listener gets 640×360 at 30 fps, unbroken through bitrate steps down and up',
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
    await media.recorder.start(null);
    await new Promise((r) => setTimeout(r, 2000));
    await media.recorder.setBitrate(400);
    await new Promise((r) => setTimeout(r, 2000));
    await media.recorder.setBitrate(1500);
    await new Promise((r) => setTimeout(r, 2000));
    await media.recorder.stop();
    await srt.stop(); // EOS: the listener finishes its file

    const received = decode(srt.receivedFile, 'h264');
    t.regex(received.caps ?? '', /width=\(int\)640, height=\(int\)360/);
    t.regex(received.caps ?? '', /framerate=\(fraction\)30\/1/);
    // 6 s at 30 fps through two bitrate steps: a stall at either step would cost a second or more.
    t.true(received.frames >= 150, `${received.frames} frames decoded at the listener`);
  },
);
