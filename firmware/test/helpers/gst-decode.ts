import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Decodes a file with a separate gst-launch-1.0 (as a viewer at the province would): an MP4
 * segment or a bare H.264 byte stream. Returns the frames decoded and the decoder's output caps.
 */
export function decode(
  file: string,
  container: 'mp4' | 'ts' | 'h264',
  decoder: 'openh264dec' | 'avdec_h264' = 'openh264dec',
): { frames: number; caps: string | null; sizes: string[]; longestGapS: number } {
  // Only the video: a file with sound has an audio pad too, left unlinked (tsdemux's pad names
  // carry the PID, so there the link goes by caps).
  const demux =
    container === 'mp4'
      ? ['qtdemux', 'name=demux', 'demux.video_0', '!']
      : container === 'ts'
        ? ['tsdemux', '!']
        : [];
  const run = spawnSync(
    'gst-launch-1.0',
    [
      '-v',
      'filesrc',
      `location=${file}`,
      '!',
      ...demux,
      'h264parse',
      '!',
      decoder,
      '!',
      'fakesink',
      'silent=false',
    ],
    { encoding: 'utf8', timeout: 30_000 },
  );
  const pts = [...run.stdout.matchAll(/last-message = chain .*?pts: (\d+):(\d+):([\d.]+)/g)].map(
    (m) => Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]),
  );
  return {
    frames: (run.stdout.match(/last-message = chain/g) ?? []).length,
    // The longest stretch of the timeline without a picture: a stall shows here, however many
    // frames a loaded machine dropped evenly elsewhere.
    longestGapS: pts.slice(1).reduce((gap, t, i) => Math.max(gap, t - (pts[i] as number)), 0),
    caps: new RegExp(`${decoder}-?0\\.GstPad:src: caps = ([^\\n]*)`).exec(run.stdout)?.[1] ?? null,
    // Every picture size the decoder was set to, in order (a stream that changed resolution).
    sizes: [
      ...new Set(
        [
          ...run.stdout.matchAll(
            new RegExp(
              `${decoder}-?0\\.GstPad:src: caps = [^\\n]*?width=\\(int\\)(\\d+), height=\\(int\\)(\\d+)`,
              'g',
            ),
          ),
        ].map((m) => `${m[1]}x${m[2]}`),
      ),
    ],
  };
}

export function decodedFrames(file: string, container: 'mp4' | 'ts' | 'h264'): number {
  return decode(file, container).frames;
}

/**
 * Decodes the sound of a file (MP4 or MPEG-TS) with FFmpeg's AAC decoder: how many frames
 * decode, and where the first one sits on the file's timeline (seconds, or null).
 */
export function decodedAudio(file: string): { buffers: number; firstPtsS: number | null } {
  const demux = file.endsWith('.ts') ? ['tsdemux', '!'] : ['qtdemux', 'name=demux', 'demux.audio_0', '!'];
  const run = spawnSync(
    'gst-launch-1.0',
    [
      '-v',
      ...['filesrc', `location=${file}`, '!', ...demux],
      ...['aacparse', '!', 'avdec_aac', '!', 'fakesink', 'silent=false'],
    ],
    { encoding: 'utf8', timeout: 30_000 },
  );
  const chains = [...run.stdout.matchAll(/last-message = chain .*?pts: (\d+):(\d+):([\d.]+)/g)];
  const first = chains[0];
  return {
    buffers: chains.length,
    firstPtsS: first ? Number(first[1]) * 3600 + Number(first[2]) * 60 + Number(first[3]) : null,
  };
}

/**
 * The pictures of an MP4's video track, two a second, as JPEG files in `dir` (frame-000.jpg, …),
 * in order: what a viewer at the province would see, to look at.
 */
export function framesAsJpeg(file: string, dir: string): string[] {
  const run = spawnSync(
    'gst-launch-1.0',
    [
      ...['filesrc', `location=${file}`, '!', 'qtdemux', 'name=demux', 'demux.video_0', '!'],
      ...['h264parse', '!', 'avdec_h264', '!', 'videorate', '!', 'video/x-raw,framerate=2/1', '!'],
      ...['videoconvert', '!', 'jpegenc', '!', 'multifilesink', `location=${dir}/frame-%03d.jpg`],
    ],
    { encoding: 'utf8', timeout: 30_000 },
  );
  if (run.status !== 0) throw new Error(`decoding ${file} failed: ${run.stderr}`);
  return readdirSync(dir)
    .filter((name) => /^frame-\d+\.jpg$/.test(name))
    .sort()
    .map((name) => join(dir, name));
}
