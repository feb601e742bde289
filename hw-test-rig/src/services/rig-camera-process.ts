/**
 * The rig camera's process: a live test picture (a moving pattern with the wall clock as text) with
 * a machine-readable time mark burnt into its bottom edge (see call-measure/time-mark.ts), offered
 * as raw frames on a shared-memory socket.
 *
 * The mark is drawn as each frame passes, from the frame's own handoff: the time it carries is the
 * moment the frame was taken, to within the time GStreamer's streaming thread waits for this
 * process's JavaScript (nothing else runs here).
 *
 * Usage: rig-camera-process.ts --socket PATH --pattern NAME --width W --height H --fps N
 */
import { parseArgs } from 'node:util';
import gi from 'node-gtk';
import { markSvg } from '../call-measure/time-mark.ts';
import { STALLED_EXIT } from './rig-camera.ts';

interface Element {
  on(signal: 'handoff', fn: () => void): void;
  data: string;
}
interface Pipeline {
  getByName(name: string): Element | null;
  setState(state: number): number;
  getBus(): { pop(): { type: number; parseError?: () => unknown } | null };
}
interface Gst {
  init(argv: null): void;
  parseLaunch(description: string): Pipeline;
  State: { PLAYING: number; NULL: number };
  MessageType: { EOS: number; ERROR: number };
}

const { values } = parseArgs({
  options: {
    socket: { type: 'string' },
    pattern: { type: 'string', default: 'ball' },
    width: { type: 'string', default: '640' },
    height: { type: 'string', default: '360' },
    fps: { type: 'string', default: '30' },
  },
});
const width = Number(values.width);
const height = Number(values.height);
if (!values.socket || !/^[a-z0-9-]+$/.test(values.pattern ?? ''))
  throw new Error('usage: rig-camera-process --socket PATH --pattern NAME [--width W --height H --fps N]');

/** Ten frames' time at the slowest rate the rig uses, with room for a loaded machine's hiccups. */
const STALL_MS = 3000;

const Gst = gi.require('Gst', '1.0') as Gst;
Gst.init(null);
const GLib = gi.require('GLib', '2.0') as { MainLoop: new (c: null, r: boolean) => { run(): void } };

// rsvgoverlay draws on BGRA; the camera offers I420 as a UVC camera would.
const pipeline = Gst.parseLaunch(
  [
    `videotestsrc is-live=true pattern=${values.pattern}`,
    `video/x-raw,format=BGRA,width=${width},height=${height},framerate=${Number(values.fps)}/1`,
    'clockoverlay time-format=%H:%M:%S font-desc="Sans 24"',
    'identity name=mark-time signal-handoffs=true',
    'rsvgoverlay name=mark',
    'videoconvert',
    `video/x-raw,format=I420,width=${width},height=${height}`,
    // Room for a few frames: a reader that falls behind drops frames, the camera never waits.
    `shmsink socket-path=${values.socket} wait-for-connection=false sync=true shm-size=${width * height * 2 * 8}`,
  ].join(' ! '),
);
const mark = pipeline.getByName('mark');
const handoff = pipeline.getByName('mark-time');
if (!mark || !handoff) throw new Error('the camera pipeline lacks its mark elements');
let lastFrame = Date.now();
handoff.on('handoff', () => {
  lastFrame = Date.now();
  mark.data = markSvg(Date.now(), width, height);
});
pipeline.setState(Gst.State.PLAYING);
setInterval(() => {
  const message = pipeline.getBus().pop();
  if (message?.type === Gst.MessageType.ERROR || message?.type === Gst.MessageType.EOS) {
    console.error('the rig camera pipeline stopped', message.type);
    process.exit(1);
  }
  // A camera never stops filming by itself. Seen a few times in a hundred calls: the picture stood
  // still with this process idle (its streaming thread blocked, the cause not yet found), and every
  // call measured after it got no picture. The process ends, saying so, and the rig starts it again
  // (RigCamera): the firmware sees the camera go and come back, as after a loose cable.
  const still = Date.now() - lastFrame;
  if (still > STALL_MS) {
    console.error(
      `${new Date().toISOString()} rig camera: no frame for ${still} ms; ending to be started again`,
    );
    process.exit(STALLED_EXIT);
  }
}, 200);
process.on('SIGTERM', () => {
  pipeline.setState(Gst.State.NULL);
  process.exit(0);
});
// Outside the module's evaluation: node-gtk runs JavaScript callbacks from inside the GLib loop.
setImmediate(() => new GLib.MainLoop(null, false).run());
