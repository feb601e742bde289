import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './free-port.ts';
import { RigProcess } from './process.ts';

/** The unprivileged user the compositor runs as: cage refuses to run as root. */
const USER = 'nobody';

/**
 * The kiosk's display as the board has it: Debian's `cage` (the kiosk shell, a wlroots Wayland
 * compositor) on wlroots' headless backend with the pixman renderer, so a machine without a
 * screen, DRM or GPU still has a real compositor for the firmware's overlay sink (`waylandsink`)
 * to draw the specialist into. cage runs as `nobody` (it will not run as root); the firmware's
 * media worker, root, reaches its socket by path (`display` below).
 *
 * Needs root (to hand the runtime directory to `nobody`), `cage` and `xwayland` (Debian's cage
 * will not start without Xwayland).
 */
export class KioskCompositor {
  private readonly process: RigProcess;

  private constructor(
    private readonly runtimeDir: string,
    logFile: string,
  ) {
    this.process = new RigProcess(
      'cage',
      'runuser',
      ['-u', USER, '--', 'cage', '--', 'sleep', 'infinity'],
      logFile,
      {
        ...process.env,
        HOME: runtimeDir,
        XDG_RUNTIME_DIR: runtimeDir,
        WLR_BACKENDS: 'headless',
        WLR_RENDERER: 'pixman',
        WLR_LIBINPUT_NO_DEVICES: '1',
      },
      true,
    );
  }

  /** Whether this machine can run it (cage and Xwayland installed, running as root). */
  static available(): boolean {
    return existsSync('/usr/bin/cage') && existsSync('/usr/bin/Xwayland') && process.getuid?.() === 0;
  }

  /** Starts cage, its log in `dir`; its runtime directory is its own (a rig's directory is root's alone). */
  static async start(dir: string): Promise<KioskCompositor> {
    const runtimeDir = mkdtempSync(join(tmpdir(), 'kiosk-display-'));
    const id = (flag: string) => Number(execFileSync('id', [flag, USER], { encoding: 'utf8' }).trim());
    chownSync(runtimeDir, id('-u'), id('-g'));
    const compositor = new KioskCompositor(runtimeDir, join(dir, 'cage.log'));
    compositor.process.start();
    await waitFor(async () => existsSync(compositor.display), 'cage (the kiosk compositor)');
    return compositor;
  }

  /** The Wayland socket, by path: waylandsink's `display` property. */
  get display(): string {
    return join(this.runtimeDir, 'wayland-0');
  }

  async stop(): Promise<void> {
    await this.process.stop();
    rmSync(this.runtimeDir, { recursive: true, force: true });
  }
}
