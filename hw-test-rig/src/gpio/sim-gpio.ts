import { rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { RelayLineReader } from '#device-drivers';

/** The rig board's GPIO wiring (BCM-style numbers; polarity as a real panel is wired). */
export const RIG_GPIO = {
  /** Push button to ground with a pull-up: pressed reads low. */
  callButton: { line: 17, activeLow: true },
  statusLed: { line: 27, activeLow: false },
  /** Door switch closed (door shut) pulls low; opening the door lets it float high. */
  tamper: { line: 22, activeLow: false },
  /** The UPS's open-collector "on battery" output: low while on battery. */
  powerFail: { line: 23, activeLow: true },
} as const;

/**
 * The rig's GPIO chip: physical line levels the rig sets (a bouncing button, a door, the UPS) and
 * reads back (the LED), served over the GPIO relay socket to the firmware's `GpioRelayOpener`.
 * Lines listed in `unavailable` refuse to open, as a line claimed by another driver does.
 */
export class SimGpioChip {
  private readonly levels = new Map<number, 0 | 1>();
  private readonly watchers = new Map<number, Set<Socket>>();
  readonly unavailable = new Set<number>();
  /** LED level changes seen, with times (ms since the chip started). */
  readonly ledTrace: Array<{ level: 0 | 1; atMs: number }> = [];
  private server: Server | null = null;
  private readonly started = performance.now();

  constructor(readonly socketPath: string) {
    // Idle levels: button released (high), door shut (low), mains present (high).
    this.levels.set(RIG_GPIO.callButton.line, 1);
    this.levels.set(RIG_GPIO.tamper.line, 0);
    this.levels.set(RIG_GPIO.powerFail.line, 1);
  }

  async start(): Promise<void> {
    rmSync(this.socketPath, { force: true });
    this.server = createServer((socket) => this.serve(socket));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.socketPath, () => resolve());
    });
  }

  async stop(): Promise<void> {
    for (const set of this.watchers.values()) for (const s of set) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    rmSync(this.socketPath, { force: true });
  }

  level(line: number): 0 | 1 {
    return this.levels.get(line) ?? 0;
  }

  /** Drives an input line to a physical level (what the wiring does). */
  set(line: number, level: 0 | 1): void {
    if (this.levels.get(line) === level) return;
    this.levels.set(line, level);
    for (const socket of this.watchers.get(line) ?? []) socket.write(`${JSON.stringify({ level })}\n`);
  }

  /**
   * The call button pressed for `holdMs`, with contact bounce at both edges (a few flips 1–3 ms
   * apart, as a tactile switch does).
   */
  async press(holdMs: number, bounce = true): Promise<void> {
    const line = RIG_GPIO.callButton.line;
    const flip = async (to: 0 | 1) => {
      if (bounce)
        for (let i = 0; i < 4; i++) {
          this.set(line, to);
          await sleep(1 + (i % 3));
          this.set(line, (1 - to) as 0 | 1);
          await sleep(1);
        }
      this.set(line, to);
    };
    await flip(0);
    await sleep(holdMs);
    await flip(1);
  }

  setDoorOpen(open: boolean): void {
    this.set(RIG_GPIO.tamper.line, open ? 1 : 0);
  }

  setPowerFailing(failing: boolean): void {
    this.set(RIG_GPIO.powerFail.line, failing ? 0 : 1);
  }

  get ledOn(): boolean {
    return this.level(RIG_GPIO.statusLed.line) === 1;
  }

  private serve(socket: Socket): void {
    const reader = new RelayLineReader();
    let line: number | null = null;
    socket.setEncoding('utf8');
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      if (line !== null) this.watchers.get(line)?.delete(socket);
    });
    socket.on('data', (chunk: string) => {
      let messages: ReturnType<RelayLineReader['push']>;
      try {
        messages = reader.push(chunk);
      } catch {
        return void socket.destroy();
      }
      for (const m of messages) {
        if ('open' in m) {
          if (this.unavailable.has(m.open.line)) {
            socket.end(
              `${JSON.stringify({ error: `line ${m.open.line} is busy: claimed by another driver` })}\n`,
            );
            return;
          }
          line = m.open.line;
          if (!this.watchers.has(line)) this.watchers.set(line, new Set());
          this.watchers.get(line)!.add(socket);
          socket.write(`${JSON.stringify({ level: this.level(line) })}\n`);
        } else if ('write' in m && line !== null) {
          if (this.levels.get(line) !== m.write) {
            this.levels.set(line, m.write);
            if (line === RIG_GPIO.statusLed.line)
              this.ledTrace.push({ level: m.write, atMs: performance.now() - this.started });
          }
        }
      }
    });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
