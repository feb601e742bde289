import { PriorityRateLimiter } from './rate-limiter.ts';
import type { StowTarget } from './stow-client.ts';

/** The uplink's use of the clinic link, for health and the kiosk. */
export interface UplinkFlow {
  /** The cap on upload bandwidth now (kbit/s), null: none. */
  capKbps: number | null;
  /** A live consultation is running: the cap is the lower one. */
  live: boolean;
  inFlight: number;
  /** Uploads allowed in flight now (grows while uploads succeed, one again after a failure). */
  allowedInFlight: number;
  /** Bytes of upload bodies sent, and of bodies whose upload failed and must be sent again. */
  sentBytes: number;
  resentBytes: number;
}

/** Uploads that succeed in a row before one more may be in flight. */
const SUCCESSES_PER_STEP = 2;

/**
 * How hard the uplink may use the link: the bandwidth cap (lower while a live consultation runs),
 * drawn on chunk by chunk in priority order, and how many uploads may be in flight — one at first,
 * one more after uploads succeed in a row, one again after any failure (additive increase,
 * multiplicative decrease, as TCP does for its window).
 */
export class FlowControl {
  private readonly limiter: PriorityRateLimiter;
  private live = false;
  private allowed = 1;
  private successesInARow = 0;
  private readonly counters = { sentBytes: 0, resentBytes: 0 };

  constructor(
    private readonly bandwidth: { uploadKbps: number | null; duringLiveKbps: number | null } | null,
    private readonly maxInFlight: number,
  ) {
    this.limiter = new PriorityRateLimiter(bandwidth?.uploadKbps ?? null);
  }

  get allowedInFlight(): number {
    return this.allowed;
  }

  flow(inFlight: number): UplinkFlow {
    return {
      capKbps: this.limiter.kbps,
      live: this.live,
      inFlight,
      allowedInFlight: this.allowed,
      ...this.counters,
    };
  }

  setLive(live: boolean): void {
    if (live === this.live) return;
    this.live = live;
    this.limiter.setKbps((live ? this.bandwidth?.duringLiveKbps : this.bandwidth?.uploadKbps) ?? null);
  }

  /** Resolves when `bytes` more of an upload of this priority may go on the link. */
  pace(bytes: number, priority: number): Promise<void> {
    return this.limiter.take(bytes, priority);
  }

  /**
   * The request timeout grows by the time the body needs at the lowest cap, shared with every
   * other upload in flight: a 15 MB segment at 1.5 Mbit/s takes 80 s and must not time out at 30.
   */
  timed<T extends StowTarget>(target: T, bytes: number): T {
    const caps = [this.bandwidth?.uploadKbps, this.bandwidth?.duringLiveKbps].filter(
      (k): k is number => typeof k === 'number',
    );
    if (caps.length === 0) return target;
    // kbit/s is bits per millisecond.
    const transferMs = ((bytes * 8) / Math.min(...caps)) * (this.maxInFlight + 1);
    return { ...target, timeoutMs: target.timeoutMs + Math.ceil(transferMs) };
  }

  /** An upload ended: stored or rejected (`ok`), or to be retried (the link or the server said no). */
  finished(bytes: number, ok: boolean): void {
    this.counters.sentBytes += bytes;
    if (!ok) {
      this.counters.resentBytes += bytes;
      this.allowed = 1;
      this.successesInARow = 0;
    } else if (++this.successesInARow >= SUCCESSES_PER_STEP) {
      this.successesInARow = 0;
      this.allowed = Math.min(this.allowed + 1, this.maxInFlight);
    }
  }
}
