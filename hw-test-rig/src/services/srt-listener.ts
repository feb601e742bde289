import { join } from 'node:path';
import { freePort } from './free-port.ts';
import { RigProcess } from './process.ts';

/**
 * The province media server stand-in for live consultation video: an SRT listener (AES, the
 * passphrase provisioning would hand out) that demuxes what arrives and keeps the H.264 in a file
 * anyone can play (`gst-play-1.0 FILE` or `ffplay FILE`).
 */
export class SrtListener {
  private readonly process: RigProcess;

  private constructor(
    readonly port: number,
    readonly passphrase: string,
    readonly receivedFile: string,
    dir: string,
  ) {
    this.process = new RigProcess(
      'srt-listener',
      'gst-launch-1.0',
      [
        '-e',
        'srtsrc',
        `uri=srt://127.0.0.1:${port}?mode=listener`,
        `passphrase=${passphrase}`,
        'latency=120',
        '!',
        // The MPEG-TS as it arrives (picture and sound), as the province's media server gets it.
        'filesink',
        // Unbuffered: the file grows as video arrives, so a watcher sees it before the stream ends.
        'buffer-mode=unbuffered',
        `location=${receivedFile}`,
      ],
      join(dir, 'srt-listener.log'),
    );
  }

  static async start(dir: string, passphrase = 'rig-srt-passphrase', port?: number): Promise<SrtListener> {
    const listener = new SrtListener(
      port ?? (await freePort()),
      passphrase,
      join(dir, 'srt-received.ts'),
      dir,
    );
    listener.process.start();
    return listener;
  }

  get uri(): string {
    return `srt://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    await this.process.stop('SIGINT');
  }
}
