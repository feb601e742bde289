/** Cumulative sender statistics, as SRT reports them (srtsink `stats`). */
export interface SenderTotals {
  packetsSent: number;
  /** Packets sent again after a NAK or timeout: the link lost them. */
  retransmitted: number;
  /** Packets the sender gave up on. */
  lost: number;
  rttMs: number | null;
}

export interface AdaptiveBitrateOptions {
  /** The configured bitrate: the ceiling, and where a consultation starts. */
  maxKbps: number;
  minKbps: number;
  /** Loss above this share of a second's packets steps down (default 2 %). */
  lossDown?: number;
  /** Loss below this share counts as a calm second (default 0.5 %). */
  lossUp?: number;
  /** Calm seconds in a row before stepping up (default 5). */
  calmSeconds?: number;
  stepDown?: number;
  stepUp?: number;
}

/**
 * Adapts the live encoder's bitrate to the link, from SRT's own statistics once a second:
 * multiplicative decrease when loss or queueing delay (RTT well above the link's best) rises,
 * cautious increase after calm seconds, between a floor and the configured rate. Pure: the
 * caller applies the rate through the encoder table, so every encoder gets the same policy.
 */
export class AdaptiveBitrate {
  current: number;
  readonly counters = { stepsDown: 0, stepsUp: 0 };
  lastLoss = 0;
  lastRttMs: number | null = null;
  private previous: SenderTotals | null = null;
  private bestRttMs: number | null = null;
  private calm = 0;

  constructor(private readonly options: AdaptiveBitrateOptions) {
    this.current = options.maxKbps;
  }

  /** Feeds this second's totals; returns the new rate when it should change, else null. */
  update(totals: SenderTotals): number | null {
    const previous = this.previous;
    this.previous = totals;
    if (!previous) return null;
    const sent = totals.packetsSent - previous.packetsSent;
    // A restarted connection starts its counters again; too few packets decide nothing.
    if (sent < 10) return null;
    const lossPackets =
      Math.max(0, totals.retransmitted - previous.retransmitted) + Math.max(0, totals.lost - previous.lost);
    const loss = lossPackets / sent;
    this.lastLoss = loss;
    this.lastRttMs = totals.rttMs;
    const rtt = totals.rttMs;
    if (rtt !== null && rtt > 0)
      this.bestRttMs = this.bestRttMs === null ? rtt : Math.min(this.bestRttMs, rtt);
    const best = this.bestRttMs;
    const queueing = rtt !== null && best !== null && rtt > Math.max(best * 2, best + 100);
    const o = this.options;
    if (loss > (o.lossDown ?? 0.02) || queueing) {
      this.calm = 0;
      const next = Math.max(o.minKbps, Math.round(this.current * (o.stepDown ?? 0.7)));
      if (next === this.current) return null;
      this.current = next;
      this.counters.stepsDown++;
      return next;
    }
    if (loss >= (o.lossUp ?? 0.005)) {
      this.calm = 0;
      return null;
    }
    if (++this.calm < (o.calmSeconds ?? 5) || this.current >= o.maxKbps) return null;
    this.calm = 0;
    this.current = Math.min(o.maxKbps, Math.round(this.current * (o.stepUp ?? 1.15)));
    this.counters.stepsUp++;
    return this.current;
  }

  /** A new connection: its counters start from zero. */
  reconnected(): void {
    this.previous = null;
    this.calm = 0;
  }
}
