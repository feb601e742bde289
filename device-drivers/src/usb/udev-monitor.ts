import { type ChildProcess, spawn as nodeSpawn } from 'node:child_process';
import { Backoff, sleep } from '../util/backoff.ts';
import { UdevEventReader, type UsbEvent, usbEvent } from './udev-events.ts';

/**
 * Where device arrivals and departures come from. `start` delivers events until `stop` resolves;
 * a source that cannot run says so once through `onProblem` and delivers nothing (drivers still
 * find their devices by polling, only later).
 */
export interface UsbEventSource {
  start(onEvent: (event: UsbEvent) => void, onProblem: (message: string) => void): void;
  stop(): Promise<void>;
}

type Spawn = (command: string, args: string[]) => ChildProcess;

/**
 * udev's own event stream, through `udevadm monitor --udev --property` (systemd-udevd is on
 * every image with systemd; no native binding to build for the board). Restarted with back-off
 * if it exits.
 */
export class UdevadmMonitor implements UsbEventSource {
  private child: ChildProcess | null = null;
  private readonly stopper = new AbortController();
  private loop: Promise<void> | null = null;

  constructor(private readonly options: { command?: string; spawn?: Spawn; backoff?: Backoff } = {}) {}

  start(onEvent: (event: UsbEvent) => void, onProblem: (message: string) => void): void {
    if (this.loop) return;
    const spawn = this.options.spawn ?? ((c, a) => nodeSpawn(c, a, { stdio: ['ignore', 'pipe', 'pipe'] }));
    const backoff = this.options.backoff ?? new Backoff({ initialMs: 1000, maxMs: 60_000 });
    const command = this.options.command ?? 'udevadm';
    const args = [
      'monitor',
      '--udev',
      '--property',
      '--subsystem-match=usb',
      '--subsystem-match=tty',
      '--subsystem-match=hidraw',
    ];
    this.loop = (async () => {
      while (!this.stopper.signal.aborted) {
        const child = spawn(command, args);
        this.child = child;
        const reader = new UdevEventReader();
        child.stdout?.setEncoding('utf8');
        child.stdout?.on('data', (chunk: string) => {
          for (const raw of reader.push(chunk)) {
            const event = usbEvent(raw);
            if (event) onEvent(event);
          }
        });
        const ended = await new Promise<string>((resolve) => {
          child.on('error', (error: NodeJS.ErrnoException) =>
            resolve(
              error.code === 'ENOENT'
                ? `${command} is not installed: device arrivals are found by polling only`
                : error.message,
            ),
          );
          child.on('close', (code) => resolve(`udevadm monitor exited (${code})`));
        });
        this.child = null;
        if (this.stopper.signal.aborted) return;
        onProblem(ended);
        await sleep(backoff.next(), this.stopper.signal).catch(() => undefined);
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopper.abort(new Error('stopped'));
    this.child?.kill('SIGTERM');
    await this.loop;
  }
}
