import { spawn } from 'node:child_process';
import test from 'ava';
import { freePort } from '../src/services/free-port.ts';
import { until, world } from './helpers/harness.ts';

/** The province media server stand-in: an SRT listener that decodes what arrives. */
function srtReceiver(port: number, passphrase: string) {
  // stdbuf: gst-launch's g_print output is block-buffered on a pipe; the test reads it as it comes.
  const child = spawn(
    'stdbuf',
    [
      '-oL',
      'gst-launch-1.0',
      '-v',
      'srtsrc',
      `uri=srt://127.0.0.1:${port}?mode=listener`,
      `passphrase=${passphrase}`,
      'latency=120',
      '!',
      'tsdemux',
      '!',
      'h264parse',
      '!',
      'openh264dec',
      '!',
      'fakesink',
      'silent=false',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  return {
    frames: () => (out.match(/last-message = chain/g) ?? []).length,
    caps: () => /openh264dec0\.GstPad:src: caps = ([^\n]*)/.exec(out)?.[1] ?? null,
    output: () => out,
    stop: () => child.kill('SIGINT'),
  };
}

test.serial(
  'live out over SRT: the receiver decodes 640×360 at 30 fps, and frames keep coming through a bitrate change',
  async (t) => {
    const port = await freePort();
    const passphrase = 'rig-srt-passphrase';
    const receiver = srtReceiver(port, passphrase);
    const w = await world({ media: true, segmentS: 2, live: { uri: `srt://127.0.0.1:${port}`, passphrase } });
    t.teardown(async () => {
      receiver.stop();
      await w.stop();
    });
    const media = w.daemon.media!;
    await until('encoder ready', () => media.encoders.status().state === 'ready', 30_000);
    await media.recorder.start(8);
    await until('frames at the receiver', () => receiver.frames() >= 30, 15_000).catch((error: Error) => {
      throw new Error(`${error.message}; the receiver said:\n${receiver.output().slice(-2000)}`);
    });
    const caps = receiver.caps() ?? '';
    t.regex(caps, /width=\(int\)640/);
    t.regex(caps, /height=\(int\)360/);
    t.regex(caps, /framerate=\(fraction\)30\/1/);

    const before = receiver.frames();
    await media.recorder.setBitrate(400);
    await until('frames after the bitrate step', () => receiver.frames() >= before + 30, 10_000);
    await media.recorder.setBitrate(1500);
    const after = receiver.frames();
    await until('and after stepping back up', () => receiver.frames() >= after + 30, 10_000);
    t.pass(`${receiver.frames()} frames decoded at the receiver`);
    await media.recorder.stop();
  },
);
