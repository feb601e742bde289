import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { AUDIO_ENCODERS, type AudioEncoderEntry } from './audio.ts';
import { type EncoderEntry, type EncodeTarget, encoderCandidates } from './encoders.ts';
import { testEncodeSpec } from './pipeline-spec.ts';
import { type PipelineRunner, runToEos } from './run-to-eos.ts';

/** The parts of the media worker the selector needs (the real one, or a test's). */
export interface EncoderWorker extends PipelineRunner {
  probe(): Promise<{ encoders: string[]; audioEncoders?: string[] }>;
}

export interface EncoderStatus {
  state: 'unknown' | 'ready' | 'none';
  element: string | null;
  kind: 'hardware' | 'software' | null;
  family: string | null;
  /** Why the encoder in use is not the table's first choice on this board, for health and kiosk. */
  fallbackReason: string | null;
  /** Encoders this board's registry offers (from the table). */
  available: string[];
  /** Hardware encoders given up on until the next restart. */
  failedHardware: string[];
}

export interface SelectorOptions {
  worker: EncoderWorker;
  log: Logger;
  /** 'auto' or an element name. */
  pinned: string;
  scratchDir: string;
  hardwareFailuresBeforeFallback: number;
  testTimeoutMs?: number;
}

/** The test encode's size: small, so the check costs well under a second of a board's CPU. */
const TEST_TARGET: EncodeTarget & { width: number; height: number } = {
  bitrateKbps: 1000,
  fps: 30,
  keyFrameIntervalS: 1,
  cpu: 'weak',
  width: 640,
  height: 360,
};

/**
 * Chooses the H.264 encoder: probe the registry, then try the table's candidates best first, each
 * proven by a one-second test encode. A hardware encoder that keeps failing at run time is dropped
 * for the rest of this boot (the next start tries it again), and health says so.
 */
export class EncoderSelector {
  private chosen: EncoderEntry | null = null;
  private available: string[] = [];
  private readonly runtimeFailures = new Map<string, number>();
  private audioAvailable: string[] = [];
  private readonly failedHardware = new Set<string>();
  private reason: string | null = null;
  private state: EncoderStatus['state'] = 'unknown';
  private settle: () => void = () => {};
  /** Resolves once the first choice is made, whatever it was (an encoder, or none). */
  readonly settled = new Promise<void>((resolve) => {
    this.settle = resolve;
  });

  constructor(private readonly options: SelectorOptions) {}

  /** The AAC encoder for the microphone: the table's best that the registry has, or null. */
  get audioEncoder(): AudioEncoderEntry | null {
    return AUDIO_ENCODERS.find((e) => this.audioAvailable.includes(e.element)) ?? null;
  }

  /** The encoder in use, once one was chosen and verified. */
  get current(): EncoderEntry | null {
    return this.state === 'ready' ? this.chosen : null;
  }

  status(): EncoderStatus {
    return {
      state: this.state,
      element: this.chosen?.element ?? null,
      kind: this.chosen?.kind ?? null,
      family: this.chosen?.family ?? null,
      fallbackReason: this.reason,
      available: [...this.available],
      failedHardware: [...this.failedHardware],
    };
  }

  async select(): Promise<EncoderEntry | null> {
    const { log, pinned } = this.options;
    const probed = await this.options.worker.probe();
    this.available = probed.encoders;
    this.audioAvailable = probed.audioEncoders ?? [];
    const candidates = encoderCandidates(new Set(this.available), {
      pinned: pinned === 'auto' ? null : pinned,
      failedHardware: this.failedHardware,
    });
    const problems: string[] = [];
    if (candidates.length === 0) {
      problems.push(
        pinned === 'auto'
          ? 'no H.264 encoder in the GStreamer registry'
          : `pinned encoder ${pinned} is not installed`,
      );
    }
    for (const entry of candidates) {
      const problem = await this.testEncode(entry);
      if (problem === null) {
        this.chosen = entry;
        this.state = 'ready';
        const best = encoderCandidates(new Set(this.available), {
          pinned: pinned === 'auto' ? null : pinned,
        })[0];
        const lost = [...problems, ...[...this.failedHardware].map((e) => `${e} failed at run time`)];
        this.reason = best && best.element !== entry.element ? lost.join('; ') || null : null;
        log.info({ encoder: entry.element, kind: entry.kind, fallback: this.reason }, 'H.264 encoder chosen');
        this.settle();
        return entry;
      }
      problems.push(`${entry.element}: ${problem}`);
      log.warn({ encoder: entry.element, problem }, 'encoder failed its test encode');
    }
    this.chosen = null;
    this.state = 'none';
    this.reason = problems.join('; ');
    log.error({ problems }, 'no working H.264 encoder: video is unavailable');
    this.settle();
    return null;
  }

  /**
   * A run-time failure of the encoder in use. Returns true when it is hardware that has now failed
   * too often: the caller reselects (software), and the next restart tries hardware again.
   */
  reportRuntimeFailure(element: string): boolean {
    const count = (this.runtimeFailures.get(element) ?? 0) + 1;
    this.runtimeFailures.set(element, count);
    const entry = this.chosen?.element === element ? this.current : null;
    if (entry?.kind === 'hardware' && count >= this.options.hardwareFailuresBeforeFallback) {
      this.failedHardware.add(element);
      return true;
    }
    return false;
  }

  /** Returns null when the encoder produced an H.264 byte stream within the time, else why not. */
  private async testEncode(entry: EncoderEntry): Promise<string | null> {
    const { worker } = this.options;
    const file = join(this.options.scratchDir, `test-encode-${entry.element}.h264`);
    rmSync(file, { force: true });
    const problem = await runToEos(
      worker,
      testEncodeSpec(entry, TEST_TARGET, file),
      this.options.testTimeoutMs ?? 10_000,
    );
    if (problem) return problem;
    let head: Buffer;
    try {
      head = readFileSync(file).subarray(0, 4);
    } catch {
      return 'wrote no output';
    }
    rmSync(file, { force: true });
    return head.length === 4 && head.readUInt32BE(0) === 1 ? null : 'output is not an H.264 byte stream';
  }
}
