import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { RigProcess } from './process.ts';

const CAMERA_PROCESS = join(import.meta.dirname, 'rig-camera-process.ts');
/** rig-camera-process.ts's exit code when its picture stood still (EX_TEMPFAIL): started again. */
export const STALLED_EXIT = 75;

/** What the rig camera sends: the firmware's chain must declare the same raw format. */
export const RIG_CAMERA_FORMAT = { format: 'I420', width: 640, height: 360, fps: 30 };
/**
 * The rig's document camera: 4:3 at 15 frames/s as such cameras film a page, in colour bars so a
 * test tells its picture from the room camera's at a glance (and the switch makes the firmware
 * scale a different size and rate into the same encode).
 */
export const RIG_DOCUMENT_CAMERA = { format: 'I420', width: 640, height: 480, fps: 15, pattern: 'smpte' };

export interface RigCameraOptions {
  /** videotestsrc's pattern (default `ball`); `snow` (noise) makes every frame cost the encoder's full bitrate. */
  pattern?: string;
  /** Its socket's name in `dir` (default `rig-camera`): two cameras share a folder. */
  name?: string;
  format?: { format: string; width: number; height: number; fps: number };
}

/**
 * The rig's camera: a separate process that films a moving ball with the wall clock burnt in (as
 * text, and as a machine-readable time mark along the bottom edge for measuring a call's delay) and
 * offers raw frames on a shared-memory socket, as a USB camera offers them on its device node.
 * Unplugging ends the process and the socket disappears (like /dev/videoN); the firmware's camera
 * pipeline loses its source exactly as it would when a cable is pulled, and a replug brings the
 * socket back for the firmware to find.
 */
export class RigCamera {
  private readonly process: RigProcess;
  readonly socketPath: string;
  /** Wanted plugged in (not unplugged by a test or the rig's CLI). */
  private pluggedIn = false;
  /** Times the camera stalled and was started again. */
  restarts = 0;

  private readonly format: { format: string; width: number; height: number; fps: number };

  constructor(dir: string, options: RigCameraOptions = {}) {
    const { pattern = 'ball', name = 'rig-camera', format = RIG_CAMERA_FORMAT } = options;
    if (!/^[a-z0-9-]+$/.test(pattern))
      throw new Error(`the rig camera's pattern must be a videotestsrc pattern name, got ${pattern}`);
    if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`a rig camera's name is lower-case words, got ${name}`);
    mkdirSync(dir, { recursive: true });
    this.socketPath = join(dir, `${name}.sock`);
    this.format = format;
    const f = format;
    this.process = new RigProcess(
      name,
      process.execPath,
      [
        '--import',
        'tsx',
        CAMERA_PROCESS,
        '--socket',
        this.socketPath,
        '--pattern',
        pattern,
        '--width',
        String(f.width),
        '--height',
        String(f.height),
        '--fps',
        String(f.fps),
      ],
      join(dir, `${name}.log`),
    );
  }

  get plugged(): boolean {
    return this.process.running;
  }

  /** Starts the camera and resolves once its socket exists (a device node appearing). */
  async plug(): Promise<void> {
    if (this.process.running) return;
    this.pluggedIn = true;
    rmSync(this.socketPath, { force: true });
    this.process.start((code) => {
      // It ended by itself (it stalled: rig-camera-process.ts): plugged in again, as a technician would.
      if (this.pluggedIn && code === STALLED_EXIT) {
        this.restarts++;
        setTimeout(() => void this.plug().catch(() => {}), 500);
      }
    });
    const deadline = Date.now() + 10_000;
    while (!existsSync(this.socketPath)) {
      if (Date.now() > deadline) throw new Error(`the rig camera did not start (see ${this.socketPath}.log)`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Pulls the cable: the process ends at once and its socket goes, as a device node would. */
  async unplug(): Promise<void> {
    this.pluggedIn = false;
    await this.process.stop('SIGKILL');
    rmSync(this.socketPath, { force: true });
  }

  /** The firmware's camera configuration for this camera (provisioning writes the same shape). */
  firmwareCamera() {
    const f = this.format;
    return {
      kind: 'elements' as const,
      presencePath: this.socketPath,
      elements: [
        {
          id: 'shm',
          factory: 'shmsrc',
          props: { 'socket-path': this.socketPath, 'is-live': true, 'do-timestamp': true },
        },
        {
          id: 'caps',
          factory: 'capsfilter',
          props: {
            caps: `video/x-raw,format=${f.format},width=${f.width},height=${f.height},framerate=${f.fps}/1`,
          },
        },
      ],
    };
  }
}
