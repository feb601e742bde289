import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';

/** A child process of the rig with its output in a log file, stopped with SIGTERM then SIGKILL. */
export class RigProcess {
  private child: ChildProcess | null = null;

  constructor(
    readonly name: string,
    private readonly command: string,
    private readonly args: string[],
    private readonly logFile: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
    /**
     * Run it in its own process group and, once it exits, kill whatever of the group is left, as
     * systemd's KillMode=control-group does on the board: a firmware killed mid-scan must not leave
     * its scanimage (or its media worker) running and holding the device (found by the kill test).
     */
    private readonly ownGroup = false,
  ) {}

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(onExit?: (code: number | null, signal: NodeJS.Signals | null) => void): void {
    const log = createWriteStream(this.logFile, { flags: 'a' });
    const child = spawn(this.command, this.args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: this.env,
      detached: this.ownGroup,
    });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    child.once('error', (error) => log.write(`${this.name}: ${error.message}\n`));
    child.once('exit', (code, signal) => {
      if (this.ownGroup && child.pid) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // nothing of the group was left
        }
      }
      onExit?.(code, signal);
    });
    this.child = child;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}
