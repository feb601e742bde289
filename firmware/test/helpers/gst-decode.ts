import { spawnSync } from 'node:child_process';

/**
 * Decodes a file with a separate gst-launch-1.0 (as a viewer at the province would): an MP4
 * segment or a bare H.264 byte stream. Returns the frames decoded and the decoder's output caps.
 */
export function decode(
  file: string,
  container: 'mp4' | 'h264',
  decoder: 'openh264dec' | 'avdec_h264' = 'openh264dec',
): { frames: number; caps: string | null } {
  const demux = container === 'mp4' ? ['qtdemux', '!'] : [];
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
  return {
    frames: (run.stdout.match(/last-message = chain/g) ?? []).length,
    caps: new RegExp(`${decoder}-?0\\.GstPad:src: caps = ([^\\n]*)`).exec(run.stdout)?.[1] ?? null,
  };
}

export function decodedFrames(file: string, container: 'mp4' | 'h264'): number {
  return decode(file, container).frames;
}
