import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { RigProcess } from './services/process.ts';

/** 'held': it exited and is not restarted until released (the kill test checks its disk then). */
export type FirmwareState = 'starting' | 'running' | 'restarting' | 'held' | 'stopped';

export interface SupervisorOptions {
  /** The firmware's command line, e.g. [node, telemed.js, 'daemon', '--config', FILE]. */
  command: string;
  args: string[];
  dir: string;
  logFile: string;
  /** As the unit's WatchdogSec=: no WATCHDOG=1 for this long and the firmware is aborted. */
  watchdogSec: number;
  /** As TimeoutStartSec=: no READY=1 within this and the start counts as failed. */
  startTimeoutSec: number;
  onChange(): void;
  log(line: string): void;
  /** Added to the firmware's environment (the rig's stand-in hardware encoder). */
  env?: Record<string, string>;
}

/**
 * Runs the firmware as systemd runs it on the board (Type=notify, WatchdogSec, Restart=always with
 * a back-off): it owns a notify socket (socat on a Unix datagram socket, since Node cannot bind
 * one), passes NOTIFY_SOCKET and WATCHDOG_USEC, aborts a firmware that stops feeding the watchdog,
 * and restarts whatever exits.
 *
 * INVARIANTS: at most one firmware process at a time; `pid` is that process's pid or null;
 * a restart is scheduled only from the exit handler, so a kill never races a start.
 */
export class FirmwareSupervisor {
  state: FirmwareState = 'stopped';
  pid: number | null = null;
  restarts = 0;
  watchdogAborts = 0;
  lastExit: string | null = null;
  private firmware: RigProcess | null = null;
  private notify: ChildProcess | null = null;
  private readonly socket: string;
  private startedAt = 0;
  private lastFeedAt = 0;
  private ready = false;
  private delayMs = 500;
  private stopping = false;
  private check: NodeJS.Timeout | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private holding = false;

  constructor(private readonly options: SupervisorOptions) {
    this.socket = join(options.dir, 'notify.sock');
  }

  async start(): Promise<void> {
    rmSync(this.socket, { force: true });
    const notify = spawn('socat', ['-u', `UNIX-RECV:${this.socket}`, 'STDOUT'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    notify.stdout?.setEncoding('utf8');
    // Datagrams arrive back to back on socat's stdout; the keys are all that matter here.
    notify.stdout?.on('data', (text: string) => {
      if (text.includes('READY=1')) {
        this.ready = true;
        this.state = 'running';
        this.options.log(`firmware ${this.pid} ready`);
        this.options.onChange();
      }
      if (text.includes('WATCHDOG=1') || text.includes('READY=1')) this.lastFeedAt = Date.now();
    });
    this.notify = notify;
    this.check = setInterval(() => this.checkWatchdog(), 250);
    this.launch();
  }

  /** Send a signal to the running firmware (the rig's kill-firmware command). */
  kill(signal: NodeJS.Signals): boolean {
    if (!this.pid) return false;
    process.kill(this.pid, signal);
    return true;
  }

  /**
   * From now on an exit is not followed by a restart: the firmware stays down ('held') until
   * {@link release}. The kill test uses this to look at the disk exactly as the crash left it.
   */
  hold(): void {
    this.holding = true;
    if (this.restartTimer && !this.pid) {
      clearTimeout(this.restartTimer);
      this.restartTimer = null;
      this.state = 'held';
      this.options.onChange();
    }
  }

  /**
   * Starts a held firmware now, with `env` added for this start only. With `keepHolding` its next
   * exit is held again; otherwise restarts are automatic again.
   */
  release(env: Record<string, string> = {}, keepHolding = false): void {
    this.holding = keepHolding;
    if (this.pid || this.stopping) return;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    this.restarts++;
    this.launch(env);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.check) clearInterval(this.check);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    await this.firmware?.stop('SIGTERM', 10_000);
    this.notify?.kill();
    rmSync(this.socket, { force: true });
    this.state = 'stopped';
  }

  private launch(extraEnv: Record<string, string> = {}): void {
    const o = this.options;
    const firmware = new RigProcess(
      'firmware',
      o.command,
      o.args,
      o.logFile,
      {
        ...process.env,
        ...o.env,
        ...extraEnv,
        NOTIFY_SOCKET: this.socket,
        WATCHDOG_USEC: String(o.watchdogSec * 1_000_000),
      },
      true,
    );
    this.ready = false;
    this.startedAt = Date.now();
    this.lastFeedAt = Date.now();
    this.state = 'starting';
    firmware.start((code, signal) => this.exited(code, signal));
    this.firmware = firmware;
    this.pid = firmware.pid;
    o.onChange();
  }

  private exited(code: number | null, signal: NodeJS.Signals | null): void {
    this.lastExit = signal ? `signal ${signal}` : `exit code ${code}`;
    this.pid = null;
    if (this.stopping) return;
    if (this.holding) {
      this.state = 'held';
      this.options.log(`firmware exited (${this.lastExit}); held for inspection`);
      this.options.onChange();
      return;
    }
    this.state = 'restarting';
    // Like Restart=always with RestartSec growing: quick after a long run, slower when it keeps dying.
    this.delayMs = Date.now() - this.startedAt > 10_000 ? 500 : Math.min(this.delayMs * 2, 10_000);
    this.options.log(`firmware exited (${this.lastExit}); restarting in ${this.delayMs} ms`);
    this.options.onChange();
    this.restartTimer = setTimeout(() => {
      this.restarts++;
      this.launch();
    }, this.delayMs);
  }

  private checkWatchdog(): void {
    if (!this.pid || this.stopping) return;
    const now = Date.now();
    const o = this.options;
    if (!this.ready && now - this.startedAt > o.startTimeoutSec * 1000) {
      o.log(`firmware ${this.pid} not ready after ${o.startTimeoutSec} s: killing it`);
      this.kill('SIGKILL');
    } else if (this.ready && now - this.lastFeedAt > o.watchdogSec * 1000) {
      // systemd's WatchdogSignal= defaults to SIGABRT; SIGKILL follows if that is ignored
      // (a process stopped with SIGSTOP only dies of SIGKILL).
      this.watchdogAborts++;
      this.ready = false;
      this.state = 'restarting';
      o.log(`firmware ${this.pid} missed its watchdog (${o.watchdogSec} s): aborting it`);
      const pid = this.pid;
      this.kill('SIGABRT');
      setTimeout(() => {
        if (this.pid === pid) this.kill('SIGKILL');
      }, 2000);
      o.onChange();
    }
  }
}
