import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { RigProcess } from '../services/process.ts';

/**
 * The serial cable between the terminal and a simulated cart: a socat pty pair. The firmware
 * opens `terminalEnd`; the cart simulator opens `cartEnd`. Unplugging kills socat, so both ends
 * vanish as a USB-serial adapter's device node does.
 */
export class PtyCable {
  readonly terminalEnd: string;
  readonly cartEnd: string;
  private readonly process: RigProcess;

  constructor(dir: string, name: string) {
    this.terminalEnd = join(dir, `${name}-terminal`);
    this.cartEnd = join(dir, `${name}-cart`);
    this.process = new RigProcess(
      `socat-${name}`,
      'socat',
      [`pty,raw,echo=0,link=${this.terminalEnd}`, `pty,raw,echo=0,link=${this.cartEnd}`],
      join(dir, `socat-${name}.log`),
    );
  }

  get plugged(): boolean {
    return this.process.running;
  }

  async plug(): Promise<void> {
    if (this.plugged) return;
    this.process.start();
    for (let i = 0; i < 300; i++) {
      if (existsSync(this.terminalEnd) && existsSync(this.cartEnd)) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`socat did not create ${this.terminalEnd}`);
  }

  async unplug(): Promise<void> {
    await this.process.stop('SIGKILL');
    for (const path of [this.terminalEnd, this.cartEnd]) rmSync(path, { force: true });
  }
}
