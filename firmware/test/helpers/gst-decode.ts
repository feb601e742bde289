import { spawnSync } from 'node:child_process';

/**
 * Frames a file decodes to, counted by a separate gst-launch-1.0 (as a viewer at the province
 * would decode it): an MP4 segment, or a bare H.264 byte stream.
 */
export function decodedFrames(file: string, container: 'mp4' | 'h264'): number {
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
      'openh264dec',
      '!',
      'fakesink',
      'silent=false',
    ],
    { encoding: 'utf8', timeout: 30_000 },
  );
  return (run.stdout.match(/last-message = chain/g) ?? []).length;
}
