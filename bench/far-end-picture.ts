import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Row } from './scp-decode.ts';
import { fmt, median } from './stats.ts';

/*
 * Where the specialist's picture is decoded and drawn on the board (issue 15): the CPU each way of
 * getting decoded frames onto the screen costs, at 30 frames/s, for what the call receives. Every
 * path plays the same H.264 file in real time (sync) through bare gst-launch-1.0, so the rows
 * differ only in what follows the decoder:
 *
 *   decode only          the frames end where an overlay plane would scan them out (on the board
 *                        the VPU decodes into buffers the display plane reads: no copy, no CPU)
 *   + RGB for a renderer the frames converted to the BGRx a compositor or renderer texture takes
 *   + JPEG at 5 fps      today's kiosk path: the newest frame as JPEG five times a second
 *   + JPEG at 30 fps     every frame into the renderer as JPEG, as a full-rate picture there needs
 *   + the renderer's decode  the same, with the JPEG decoded back (what the renderer then does)
 */

const SIZES = [
  { name: '640×480', width: 640, height: 480 },
  { name: '1280×720', width: 1280, height: 720 },
];
const SECONDS = 10;

const PATHS: Array<{ what: string; tail: string[] }> = [
  { what: 'decode only (overlay plane)', tail: ['fakesink', 'sync=true'] },
  {
    what: '+ RGB for a renderer',
    tail: ['videoconvert', '!', 'video/x-raw,format=BGRx', '!', 'fakesink', 'sync=true'],
  },
  {
    what: "+ JPEG at 5 fps (today's kiosk picture)",
    tail: [
      'videorate',
      '!',
      'video/x-raw,framerate=5/1',
      '!',
      'videoconvert',
      '!',
      'jpegenc',
      '!',
      'fakesink',
      'sync=true',
    ],
  },
  { what: '+ JPEG at 30 fps', tail: ['videoconvert', '!', 'jpegenc', '!', 'fakesink', 'sync=true'] },
  {
    what: "+ JPEG at 30 fps and the renderer's decode",
    tail: [
      'videoconvert',
      '!',
      'jpegenc',
      '!',
      'jpegdec',
      '!',
      'videoconvert',
      '!',
      'video/x-raw,format=BGRx',
      '!',
      'fakesink',
      'sync=true',
    ],
  },
];

/** gst-launch-1.0 under /usr/bin/time: wall seconds and CPU seconds. */
function timed(args: string[]): { wallS: number; cpuS: number } {
  const run = spawnSync('/usr/bin/time', ['-f', 'TIME %e %U %S', 'gst-launch-1.0', '-q', ...args], {
    encoding: 'utf8',
  });
  const line = /TIME ([\d.]+) ([\d.]+) ([\d.]+)/.exec(run.stderr);
  if (run.status !== 0 || !line) throw new Error(`gst-launch-1.0 failed: ${run.stderr.slice(-400)}`);
  return { wallS: Number(line[1]), cpuS: Number(line[2]) + Number(line[3]) };
}

/** A picture with detail that moves (colour bars scrolling) as H.264 in MP4, SECONDS long. */
function farEndFile(dir: string, size: { width: number; height: number }): string {
  const file = join(dir, `far-end-${size.width}x${size.height}.mp4`);
  timed([
    'videotestsrc',
    'pattern=smpte',
    'horizontal-speed=4',
    `num-buffers=${SECONDS * 30}`,
    '!',
    `video/x-raw,width=${size.width},height=${size.height},framerate=30/1`,
    '!',
    'x264enc',
    'tune=zerolatency',
    'speed-preset=ultrafast',
    'bitrate=1500',
    'key-int-max=60',
    '!',
    'video/x-h264,profile=constrained-baseline',
    '!',
    'h264parse',
    '!',
    'mp4mux',
    '!',
    'filesink',
    `location=${file}`,
  ]);
  return file;
}

export interface FarEndPictureResult {
  rows: Row[];
  notes: string[];
}

/** CPU share (% of a core) of each path at each size; ratios against decoding alone. */
export function benchFarEndPicture(dir: string, runs = 3): FarEndPictureResult {
  mkdirSync(dir, { recursive: true });
  // gst-launch-1.0's own start (registry, plugins) is taken off each run: it is not drawing.
  const starts = Array.from({ length: runs }, () => timed(['fakesrc', 'num-buffers=1', '!', 'fakesink']));
  const start = { wallS: median(starts.map((s) => s.wallS)), cpuS: median(starts.map((s) => s.cpuS)) };
  const rows: Row[] = [];
  for (const size of SIZES) {
    const file = farEndFile(dir, size);
    const head = ['filesrc', `location=${file}`, '!', 'qtdemux', '!', 'h264parse', '!', 'avdec_h264', '!'];
    let baseline = Number.NaN;
    for (const path of PATHS) {
      const shares = Array.from({ length: runs }, () => {
        const r = timed([...head, ...path.tail]);
        return (100 * Math.max(0, r.cpuS - start.cpuS)) / (r.wallS - start.wallS);
      });
      const share = median(shares);
      if (Number.isNaN(baseline)) baseline = share;
      rows.push({ what: `${size.name}, ${path.what}`, median: fmt(share, 1), ratio: fmt(share / baseline) });
    }
  }
  return {
    rows,
    notes: [
      "Each row plays 10 s of H.264 (scrolling colour bars, 1.5 Mbit/s) at 30 frames/s through bare `gst-launch-1.0` with the software decoder (`avdec_h264`), under `/usr/bin/time`, less gst-launch-1.0's own start; the ratio is against decoding alone at the same size.",
      "The renderer's own drawing and the local API's transfer of each JPEG are not in these figures: the renderer path costs at least the last row.",
      'On the board the decode itself moves to the VPU (`v4l2h264dec`, `mppvideodec`, …): the first row falls to a few % of a core, and frames in DMA buffers reach an overlay plane without a copy; every other row still converts or encodes each frame on the CPU (download from the VPU included).',
    ],
  };
}
