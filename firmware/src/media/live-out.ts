import type { Logger } from 'pino';
import { Backoff } from '#device-drivers';
import { AdaptiveBitrate } from './adaptive-bitrate.ts';
import { ELEMENTS, type LiveOutConfig, livePipeline } from './consultation-pipeline.ts';
import { numberField, type ParsedStructure, parseStructure } from './gst-structure.ts';
import type { ElementRef } from './ipc.ts';
import type { BusEvent } from './media-worker.ts';
import type { PipelineSpec } from './pipeline-spec.ts';

/** 'connecting' until SRT's handshake is done and packets are acknowledged; 'retrying' between attempts. */
export type LiveOutState = 'off' | 'connecting' | 'live' | 'retrying';

export interface LiveOutWorker {
  stats(pipeline: string, element: string): Promise<string>;
  startPipeline(spec: PipelineSpec): Promise<void>;
  stopPipeline(name: string): Promise<void>;
  pump(from: ElementRef, to: ElementRef, start?: 'last-key-frame' | 'next-key-frame'): Promise<void>;
  onBusEvent(listener: (event: BusEvent) => void): () => void;
}

export interface LiveOutOptions {
  worker: LiveOutWorker;
  live: LiveOutConfig;
  log: Logger;
  onChange(): void;
  /** The adapted rate for the encoder (the consultation applies it through the encoder table). */
  onBitrate(kbps: number): Promise<void>;
  /** The configured encoder rate: where live out starts and the most it steps up to. */
  maxKbps: number;
  /** How often SRT's statistics are read (default 1 s). */
  statsIntervalMs?: number;
  /** No handshake with the media server within this: the attempt failed (default 8 s). */
  connectTimeoutMs?: number;
  backoff?: Backoff;
}

export const LIVE_PIPELINE = 'live';

/**
 * Live consultation video to the province's media server, as its own pipeline fed from the
 * consultation's encoded tap. The media server being unreachable, refusing the passphrase or
 * dropping the connection ends this pipeline only; it is started again with capped exponential
 * back-off for as long as the consultation video runs. While connected, SRT's statistics drive
 * the encoder's bitrate (`AdaptiveBitrate`).
 *
 * INVARIANTS: one live pipeline at a time; `state` is 'off' exactly when no attempt is wanted; at
 * most one retry timer and one statistics timer are pending, and neither outlives stop().
 */
export class LiveOut {
  state: LiveOutState = 'off';
  lastError: string | null = null;
  readonly counters = { attempts: 0, connected: 0, failures: 0 };
  /** The bitrate policy, fed from SRT's statistics while live. */
  readonly bitrate: AdaptiveBitrate;
  private tap: ElementRef | null = null;
  private audioTap: ElementRef | null = null;
  private timer: NodeJS.Timeout | null = null;
  private statsTimer: NodeJS.Timeout | null = null;
  private attemptStartedAt = 0;
  private readonly backoff: Backoff;

  constructor(private readonly options: LiveOutOptions) {
    this.bitrate = new AdaptiveBitrate({ maxKbps: options.maxKbps, minKbps: Math.min(300, options.maxKbps) });
    const maxMs = options.live.transport === 'srt' ? (options.live.retryMaxMs ?? 30_000) : 30_000;
    this.backoff = options.backoff ?? new Backoff({ initialMs: 1000, maxMs });
    options.worker.onBusEvent((event) => this.onBus(event));
  }

  get enabled(): boolean {
    return this.options.live.transport !== 'none';
  }

  get transport(): LiveOutConfig['transport'] {
    return this.options.live.transport;
  }

  /**
   * Starts sending from `tap` (the consultation's encoded tap) and, when the consultation has
   * sound, its AAC tap; a no-op without live out.
   */
  async start(tap: ElementRef, audioTap: ElementRef | null = null): Promise<void> {
    this.audioTap = audioTap;
    if (!this.enabled || this.state !== 'off') return;
    this.tap = tap;
    this.backoff.reset();
    await this.attempt();
  }

  async stop(): Promise<void> {
    if (this.state === 'off') return;
    this.clearTimer();
    this.state = 'off';
    this.tap = null;
    await this.options.worker.stopPipeline(LIVE_PIPELINE).catch(() => {});
    this.options.onChange();
  }

  private async attempt(): Promise<void> {
    const live = this.options.live;
    if (live.transport === 'none' || !this.tap) return;
    this.clearTimer();
    this.counters.attempts++;
    this.state = 'connecting';
    this.options.onChange();
    try {
      await this.options.worker.startPipeline(livePipeline(LIVE_PIPELINE, live, this.audioTap !== null));
      await this.options.worker.pump(
        this.tap,
        { pipeline: LIVE_PIPELINE, element: 'live-src' },
        'next-key-frame',
      );
      if (this.audioTap) {
        await this.options.worker.pump(
          this.audioTap,
          { pipeline: LIVE_PIPELINE, element: 'live-audio-src' },
          'next-key-frame',
        );
      }
    } catch (error) {
      await this.options.worker.stopPipeline(LIVE_PIPELINE).catch(() => {});
      this.failed((error as Error).message);
      return;
    }
    this.attemptStartedAt = Date.now();
    this.bitrate.reconnected();
    // RTP over UDP has no handshake and no statistics: sending is all there is to know.
    if (live.transport === 'rtp') this.connected();
    else this.watchStats();
  }

  /**
   * Reads SRT's statistics once a second: the handshake shows as sender fields and acknowledged
   * packets (an unreachable server or a refused passphrase never gets there), then loss and RTT
   * drive the bitrate.
   */
  private watchStats(): void {
    this.statsTimer = setTimeout(async () => {
      this.statsTimer = null;
      if (this.state !== 'connecting' && this.state !== 'live') return;
      let stats: ParsedStructure | null = null;
      try {
        stats = parseStructure(await this.options.worker.stats(LIVE_PIPELINE, ELEMENTS.liveSink));
      } catch (error) {
        this.options.log.debug({ err: (error as Error).message }, 'no SRT statistics');
      }
      if (this.state !== 'connecting' && this.state !== 'live') return;
      const acked = stats ? (numberField(stats, 'packet-ack-received') ?? 0) : 0;
      if (this.state === 'connecting') {
        if (acked > 0) this.connected();
        else if (Date.now() - this.attemptStartedAt > (this.options.connectTimeoutMs ?? 8000)) {
          this.failed('the media server does not answer (unreachable, or it refused the passphrase)');
          return;
        }
      } else if (stats) {
        const next = this.bitrate.update({
          packetsSent: numberField(stats, 'packets-sent') ?? 0,
          retransmitted: numberField(stats, 'packets-retransmitted') ?? 0,
          lost: numberField(stats, 'packets-sent-lost') ?? 0,
          rttMs: numberField(stats, 'rtt-ms'),
        });
        if (next !== null) {
          this.options.log.info(
            { kbps: next, loss: this.bitrate.lastLoss, rttMs: this.bitrate.lastRttMs },
            'live bitrate adapted to the link',
          );
          await this.options
            .onBitrate(next)
            .catch((error: unknown) =>
              this.options.log.warn({ err: (error as Error).message }, 'the bitrate could not be changed'),
            );
          this.options.onChange();
        }
      }
      this.watchStats();
    }, this.options.statsIntervalMs ?? 1000);
  }

  private connected(): void {
    this.state = 'live';
    this.counters.connected++;
    this.backoff.reset();
    this.lastError = null;
    const live = this.options.live;
    const to =
      live.transport === 'srt'
        ? live.uri
        : live.transport === 'rtp'
          ? `rtp://${live.host}:${live.port}`
          : null;
    this.options.log.info({ to }, 'live video is sent to the media server');
    this.options.onChange();
  }

  private failed(reason: string): void {
    if (this.state === 'off') return;
    this.clearTimer();
    this.counters.failures++;
    this.lastError = reason;
    this.state = 'retrying';
    const delay = this.backoff.next();
    this.options.log.warn({ reason, retryInMs: delay }, 'live video cannot reach the media server');
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.state === 'retrying') void this.attempt();
    }, delay);
    this.options.onChange();
  }

  private onBus(event: BusEvent): void {
    if (event.pipeline !== LIVE_PIPELINE || event.kind !== 'error') return;
    if (this.state === 'connecting' || this.state === 'live')
      this.failed(`${event.element}: ${event.message}`);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.statsTimer) clearTimeout(this.statsTimer);
    this.timer = null;
    this.statsTimer = null;
  }
}
