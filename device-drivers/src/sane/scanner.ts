import { type ChildProcess, spawn as nodeSpawn } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  backendError,
  capabilities,
  DEVICE_LIST_FORMAT,
  lastProgress,
  parseDeviceList,
  parseOptions,
  type SaneDevice,
  type ScannerCapabilities,
} from './parser.ts';

/**
 * Document scanners through SANE's own command-line frontend, `scanimage` (sane-utils): the same
 * program a technician uses to test a scanner, it speaks to every backend (USB, and `net` to a
 * `saned`), and a wedged backend dies with its process, never with the daemon.
 *
 * Contract (what callers rely on):
 * - `scan()` reports each finished page through `onPage` as soon as it is complete on disk, with
 *   its 1-based number in this scan; a page that did not finish is never reported, and its partial
 *   file is removed.
 * - Cancelling (`signal`) asks the backend to stop (SIGINT: scanimage calls sane_cancel), then
 *   kills it after `cancelGraceMs` (1 s); `scan()` then resolves with `ended: 'cancelled'`, pages finished
 *   before the cancel kept.
 * - `scan()` never rejects for a scanner fault: a backend error, an unplugged scanner or a killed
 *   backend resolve with `ended: 'failed'` and the backend's own words. It rejects only for
 *   programming errors (bad settings) and when scanimage is missing (`SaneError` NO_FRONTEND).
 */

export class SaneError extends Error {
  constructor(
    readonly code: 'NO_FRONTEND' | 'LIST_FAILED' | 'OPTIONS_FAILED' | 'BAD_SETTINGS',
    message: string,
  ) {
    super(message);
    this.name = 'SaneError';
  }
}

export interface ScanSettings {
  device: string;
  resolution: number;
  mode: string;
  /** Source name as the backend spells it; null leaves the backend's default (flatbed). */
  source: string | null;
  /** Scan area, mm; null leaves the backend's default. */
  widthMm: number | null;
  heightMm: number | null;
  /** Pages to take; null takes pages until the feeder reports it is empty. */
  maxPages: number | null;
}

export interface ScannedPage {
  /** 1-based number in this scan. */
  number: number;
  /** The page as PNM (the directory is the caller's `workDir`). */
  file: string;
}

export interface ScanOutcome {
  ended: 'done' | 'cancelled' | 'failed';
  pages: number;
  /** The backend's message when it failed. */
  error: string | null;
}

export interface ScanCallbacks {
  signal?: AbortSignal;
  /** `page` is the page being scanned (1-based), `fraction` its progress 0..1. */
  onProgress?(page: number, fraction: number): void;
  onPage?(page: ScannedPage): void;
}

export interface ScannerBackend {
  listDevices(): Promise<SaneDevice[]>;
  capabilities(device: string): Promise<ScannerCapabilities>;
  scan(settings: ScanSettings, workDir: string, callbacks?: ScanCallbacks): Promise<ScanOutcome>;
}

type Spawn = (command: string, args: string[], options: { env: NodeJS.ProcessEnv }) => ChildProcess;

export interface ScanimageOptions {
  /** Path of scanimage (default: `scanimage` on PATH). */
  command?: string;
  /** Environment for scanimage: the rig sets SANE_CONFIG_DIR to enable SANE's test backend. */
  env?: NodeJS.ProcessEnv;
  spawn?: Spawn;
  /** How long a cancelled backend gets to stop before it is killed (default 1 s). */
  cancelGraceMs?: number;
  /** Longest a device list or option query may take (default 20 s: `net` backends time out slowly). */
  queryTimeoutMs?: number;
  /**
   * Longest a scan may go without a word from the backend (no progress, no page) before it is
   * taken for hung and stopped (default 90 s: a lamp warming up is silent for up to a minute).
   */
  stallTimeoutMs?: number;
  /**
   * How long scanimage may take to exit once it has printed the end of its batch before it is
   * killed (default 3 s). sane-backends 1.1.1's test backend deadlocks at exit after an I/O error
   * (its reader thread waits on a lock the main thread, joining it, holds): 8 runs in 100 here.
   */
  exitGraceMs?: number;
}

export class ScanimageBackend implements ScannerBackend {
  private readonly command: string;
  private readonly spawn: Spawn;

  constructor(private readonly options: ScanimageOptions = {}) {
    this.command = options.command ?? 'scanimage';
    this.spawn =
      options.spawn ?? ((command, args, opts) => nodeSpawn(command, args, { ...opts, stdio: 'pipe' }));
  }

  async listDevices(): Promise<SaneDevice[]> {
    const result = await this.run(['-f', DEVICE_LIST_FORMAT]);
    if (result.code !== 0)
      throw new SaneError(
        'LIST_FAILED',
        `listing scanners failed: ${backendError(result.stderr) ?? `exit ${result.code}`}`,
      );
    return parseDeviceList(result.stdout);
  }

  async capabilities(device: string): Promise<ScannerCapabilities> {
    const result = await this.run(['-d', device, '-A']);
    if (result.code !== 0)
      throw new SaneError(
        'OPTIONS_FAILED',
        `cannot read the options of scanner ${device}: ${backendError(result.stderr) ?? `exit ${result.code}`}`,
      );
    return capabilities(parseOptions(result.stdout));
  }

  scan(settings: ScanSettings, workDir: string, callbacks: ScanCallbacks = {}): Promise<ScanOutcome> {
    if (!(settings.resolution > 0)) throw new SaneError('BAD_SETTINGS', 'resolution must be positive');
    if (settings.maxPages !== null && !(Number.isInteger(settings.maxPages) && settings.maxPages > 0))
      throw new SaneError('BAD_SETTINGS', 'maxPages must be a positive whole number or null');
    mkdirSync(workDir, { recursive: true });
    const args = [
      '-d',
      settings.device,
      '--format=pnm',
      `--batch=${join(workDir, 'page-%d.pnm')}`,
      '--batch-print',
      '-p',
      '--mode',
      settings.mode,
      '--resolution',
      String(settings.resolution),
    ];
    if (settings.source !== null) args.push('--source', settings.source);
    if (settings.widthMm !== null) args.push('-x', String(settings.widthMm));
    if (settings.heightMm !== null) args.push('-y', String(settings.heightMm));
    if (settings.maxPages !== null) args.push(`--batch-count=${settings.maxPages}`);
    const child = this.spawn(this.command, args, { env: this.env() });
    return new Promise<ScanOutcome>((resolve, reject) => {
      let stderr = '';
      let stdoutRest = '';
      let page = 1;
      let pages = 0;
      let cancelled = false;
      let stalled = false;
      let killTimer: NodeJS.Timeout | null = null;
      const reported = new Set<string>();
      const stop = () => {
        // scanimage's SIGINT handler calls sane_cancel, which some backends only honour at the
        // end of the page — and while it runs, further signals wait (SANE's test backend in its
        // one-byte-read mode takes seconds). The page is lost either way: after a short grace the
        // backend is killed, and the device is released with its process.
        child.kill('SIGINT');
        killTimer = setTimeout(() => child.kill('SIGKILL'), this.options.cancelGraceMs ?? 1_000);
      };
      const onAbort = () => {
        cancelled = true;
        stop();
      };
      // A backend that neither progresses nor exits would hold the scanner, and the kiosk's job,
      // for ever: seen once under heavy load, with the test backend's I/O-error mode.
      const stallMs = this.options.stallTimeoutMs ?? 90_000;
      let stallTimer: NodeJS.Timeout | null = null;
      const heardFrom = () => {
        if (stallTimer) clearTimeout(stallTimer);
        stallTimer = setTimeout(() => {
          stalled = true;
          stop();
        }, stallMs);
      };
      heardFrom();
      // The batch is over once scanimage says so; a process still there after that is hung.
      let batchEnded = false;
      let hungAtExit = false;
      let exitTimer: NodeJS.Timeout | null = null;
      const settle = () => {
        callbacks.signal?.removeEventListener('abort', onAbort);
        if (killTimer) clearTimeout(killTimer);
        if (stallTimer) clearTimeout(stallTimer);
        if (exitTimer) clearTimeout(exitTimer);
      };
      if (callbacks.signal?.aborted) onAbort();
      else callbacks.signal?.addEventListener('abort', onAbort, { once: true });
      child.stdout?.setEncoding('utf8');
      child.stdout?.on('data', (chunk: string) => {
        heardFrom();
        // --batch-print prints each page's file name once the page is complete.
        const lines = (stdoutRest + chunk).split('\n');
        stdoutRest = lines.pop() ?? '';
        for (const line of lines) {
          const file = line.trim();
          if (!file || reported.has(file)) continue;
          reported.add(file);
          pages++;
          callbacks.onPage?.({ number: pages, file });
        }
      });
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (chunk: string) => {
        heardFrom();
        stderr = (stderr + chunk).slice(-8192);
        if (!batchEnded && /Batch terminated/.test(stderr)) {
          batchEnded = true;
          exitTimer = setTimeout(() => {
            hungAtExit = true;
            child.kill('SIGKILL');
          }, this.options.exitGraceMs ?? 3_000);
        }
        // In the order printed: a chunk can end one page and start the next.
        for (const part of chunk.split(/(?=Scanning page \d+)/)) {
          const started = /^Scanning page (\d+)/.exec(part);
          if (started) page = Number(started[1]);
          const fraction = lastProgress(part);
          if (fraction !== null) callbacks.onProgress?.(page, fraction);
        }
      });
      child.on('error', (error: NodeJS.ErrnoException) => {
        settle();
        if (error.code === 'ENOENT')
          reject(
            new SaneError('NO_FRONTEND', `${this.command} is not installed (Debian package sane-utils)`),
          );
        else resolve({ ended: 'failed', pages, error: `could not run ${this.command}: ${error.message}` });
      });
      child.on('close', (code, signal) => {
        settle();
        // A page the backend did not finish is not a page: its partial file goes.
        for (const name of readdirSync(workDir))
          if (!reported.has(join(workDir, name))) rmSync(join(workDir, name), { force: true });
        if (cancelled) return resolve({ ended: 'cancelled', pages, error: null });
        if (stalled)
          return resolve({
            ended: 'failed',
            pages,
            error: `the scanner stopped answering (nothing for ${stallMs / 1000} s) and was stopped: switch it off and on again`,
          });
        const message = backendError(stderr);
        // An empty feeder after at least one page is how a batch from the feeder ends.
        const feederEmpty =
          message !== null && /out of documents|no more documents|no documents/i.test(message);
        // Killed after its batch had ended: judged by what it printed, as if it had exited.
        if (hungAtExit) code = message === null || (feederEmpty && pages > 0) ? 0 : 1;
        if (code === 0 && (message === null || feederEmpty || pages > 0))
          return resolve({ ended: 'done', pages, error: null });
        if (feederEmpty && pages === 0)
          return resolve({ ended: 'failed', pages, error: 'the document feeder is empty' });
        resolve({
          ended: 'failed',
          pages,
          error:
            message ??
            (signal ? `the scanner backend was killed (${signal})` : `scanimage exited with ${code}`),
        });
      });
    });
  }

  private env(): NodeJS.ProcessEnv {
    return { ...process.env, ...this.options.env };
  }

  private run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = this.spawn(this.command, args, { env: this.env() });
      let stdout = '';
      let stderr = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), this.options.queryTimeoutMs ?? 20_000);
      child.stdout?.setEncoding('utf8');
      child.stdout?.on('data', (chunk: string) => {
        stdout += chunk;
      });
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (chunk: string) => {
        stderr = (stderr + chunk).slice(-8192);
      });
      child.on('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(
          error.code === 'ENOENT'
            ? new SaneError('NO_FRONTEND', `${this.command} is not installed (Debian package sane-utils)`)
            : error,
        );
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? -1, stdout, stderr });
      });
    });
  }
}
