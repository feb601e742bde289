import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** How the rig's scanner misbehaves, if at all. */
export type ScannerFault =
  /** Every page read fails with SANE_STATUS_IO_ERROR ("Error during device I/O"). */
  | 'io-error'
  /** One byte per read: a 200 dpi page takes seconds, long enough to cancel or unplug mid-page. */
  | 'slow'
  | null;

/**
 * The document scanner on the rig: SANE's own `test` backend (sane-backends), enabled through a
 * SANE configuration directory of the rig's (the firmware gets it as `scanner.saneConfigDir`).
 * The firmware drives it with the real scanimage, as it would a USB scanner. Its feeder takes
 * pages until it is empty (the backend's feeder holds ten); `telemed-rig scan --pages N` asks for N.
 *
 * Unplugging removes the backend from the configuration (SANE then lists no scanner) and ends a
 * scan in progress the way a vanished USB device does: the backend process dies mid-page.
 */
export class RigScanner {
  readonly configDir: string;
  plugged = true;
  fault: ScannerFault = null;

  constructor(dir: string) {
    this.configDir = join(dir, 'sane.d');
    mkdirSync(this.configDir, { recursive: true });
    this.write();
  }

  plug(): void {
    this.plugged = true;
    this.write();
  }

  unplug(): void {
    this.plugged = false;
    this.write();
    this.killRunningScans();
  }

  setFault(fault: ScannerFault): void {
    this.fault = fault;
    this.write();
  }

  /** scanimage processes started with this rig's configuration (the firmware's scans). */
  runningScans(): number[] {
    const pids: number[] = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
        if (!cmdline.split('\0')[0]?.endsWith('scanimage')) continue;
        const environ = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
        if (environ.includes(`SANE_CONFIG_DIR=${this.configDir}`)) pids.push(Number(entry));
      } catch {
        // the process ended while we looked
      }
    }
    return pids;
  }

  private killRunningScans(): void {
    for (const pid of this.runningScans()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  private write(): void {
    // dll.conf lists the backends SANE loads: none while "unplugged".
    writeFileSync(join(this.configDir, 'dll.conf'), this.plugged ? 'test\n' : '');
    const lines = [
      'number_of_devices 1',
      'mode Gray',
      'depth 8',
      'hand-scanner false',
      'three-pass false',
      'three-pass-order RGB',
      'resolution_min 1.0',
      'resolution_max 1200.0',
      'resolution_quant 1.0',
      'resolution 50.0',
      // A black/white grid of 10 mm squares: like printed text, it compresses as a document does.
      'test-picture "Grid"',
      'invert-endianess false',
      `read-limit ${this.fault === 'slow' ? 'true' : 'false'}`,
      'read-limit-size 1',
      'read-delay false',
      'read-delay-duration 1000',
      `read-status-code "${this.fault === 'io-error' ? 'SANE_STATUS_IO_ERROR' : 'Default'}"`,
      'fuzzy-parameters false',
      'ppl-loss 0',
      'non-blocking false',
      'select-fd false',
      'enable-test-options false',
      'geometry_min 0.0',
      'geometry_max 200.0',
      'geometry_quant 1.0',
      'tl_x 0.0',
      'tl_y 0.0',
      'br_x 80.0',
      'br_y 100.0',
    ];
    writeFileSync(join(this.configDir, 'test.conf'), `${lines.join('\n')}\n`);
  }
}
