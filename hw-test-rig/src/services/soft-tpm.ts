import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { canConnect, freePort, waitFor } from './free-port.ts';
import { RigProcess } from './process.ts';

/**
 * A TPM 2.0 for terminals on the rig: swtpm (libtpms) on a loopback port, with its state in a
 * directory so that it keeps its sealed objects across firmware restarts as a board's TPM does.
 * The firmware reaches it through tpm2-tools' swtpm TCTI (storage.encryption.tpmTcti); a board
 * reaches its own through the kernel's resource manager, /dev/tpmrm0.
 */
export class SoftTpm {
  private readonly process: RigProcess;

  private constructor(
    readonly port: number,
    dir: string,
  ) {
    // tpm2-tools' swtpm TCTI takes one port and finds the control channel on the next one.
    const controlPort = port + 1;
    const state = join(dir, 'tpm');
    mkdirSync(state, { recursive: true });
    this.process = new RigProcess(
      'swtpm',
      'swtpm',
      [
        'socket',
        '--tpm2',
        '--tpmstate',
        `dir=${state}`,
        '--server',
        `type=tcp,port=${port},bindaddr=127.0.0.1`,
        '--ctrl',
        `type=tcp,port=${controlPort},bindaddr=127.0.0.1`,
        // Started up as firmware on a board finds it (TPM2_Startup done by the boot chain).
        '--flags',
        'not-need-init,startup-clear',
      ],
      join(dir, 'swtpm.log'),
    );
  }

  static async start(dir: string): Promise<SoftTpm> {
    const tpm = new SoftTpm(await freePortPair(), dir);
    tpm.process.start();
    // Probed on the control port: the command port serves one client at a time.
    await waitFor(() => canConnect(tpm.port + 1), 'swtpm');
    return tpm;
  }

  /** TPM2TOOLS_TCTI for the firmware's config. */
  get tcti(): string {
    return `swtpm:host=127.0.0.1,port=${this.port}`;
  }

  async stop(): Promise<void> {
    await this.process.stop();
  }
}

/** A free port whose successor is free too (the swtpm TCTI's command and control ports). */
async function freePortPair(): Promise<number> {
  for (let tries = 0; tries < 20; tries++) {
    const port = await freePort();
    const nextFree = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port + 1, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (nextFree) return port;
  }
  throw new Error('no two free loopback ports in a row for swtpm');
}
