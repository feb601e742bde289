import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCE = resolve(dirname(fileURLToPath(import.meta.url)), '../../gst-plugins/c/rig-camera-provider.c');

/** A USB camera as the rig describes it: its name and the caps text its V4L2 device would offer. */
export interface RigUsbCamera {
  name: string;
  caps: string;
}

/**
 * USB cameras for the GStreamer device monitor on a machine without /dev/video*: a small device
 * provider (`hw-test-rig/gst-plugins/c/rig-camera-provider.c`, built here with gcc once per source
 * version) lists what `set()` describes. The firmware's media worker finds it through its
 * environment, as it would find the board's V4L2 provider, so discovery, mode choice and the
 * messages staff see run for real.
 */
export class RigUsbCameras {
  private constructor(
    private readonly pluginDir: string,
    private readonly devicesFile: string,
  ) {}

  static start(dir: string): RigUsbCameras {
    const source = readFileSync(SOURCE);
    const pluginDir = join(
      tmpdir(),
      'telemed-rig-plugins',
      createHash('sha256').update(source).digest('hex').slice(0, 16),
    );
    const library = join(pluginDir, 'libgstrigcameraprovider.so');
    if (!existsSync(library)) {
      mkdirSync(pluginDir, { recursive: true });
      const flags = execFileSync('pkg-config', ['--cflags', '--libs', 'gstreamer-1.0'], { encoding: 'utf8' })
        .trim()
        .split(/\s+/);
      // Built beside, then renamed: a test world started in parallel never loads half a library.
      const partial = `${library}.${process.pid}.tmp`;
      execFileSync('gcc', ['-shared', '-fPIC', '-O2', '-o', partial, SOURCE, ...flags]);
      renameSync(partial, library);
    }
    const cameras = new RigUsbCameras(pluginDir, join(dir, 'usb-cameras'));
    cameras.set([]);
    return cameras;
  }

  /** What the device monitor lists from now on (it probes on every discovery). */
  set(cameras: readonly RigUsbCamera[]): void {
    writeFileSync(this.devicesFile, cameras.map((c) => `${c.name}|${c.caps}\n`).join(''));
  }

  /** What the media worker's environment needs to see these cameras. */
  get env(): Record<string, string> {
    return {
      GST_PLUGIN_PATH: [this.pluginDir, process.env['GST_PLUGIN_PATH']].filter(Boolean).join(':'),
      RIG_CAMERA_DEVICES: this.devicesFile,
    };
  }
}
