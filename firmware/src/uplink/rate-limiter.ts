/**
 * The uplink's share of the clinic link: a token bucket that the upload bodies draw from, chunk
 * by chunk, with the waiting chunks served in priority order (a STAT ECG's bytes go before a video
 * segment's that waits too, though the segment's upload began first).
 *
 * INVARIANTS: tokens never exceed the burst; waiters are served strictly by (priority, arrival);
 * at most one timer is pending; a rate of null lets every chunk through at once (no cap).
 */
export class PriorityRateLimiter {
  private bytesPerSecond: number | null;
  private tokens: number;
  private refilledAt: number;
  private readonly waiters: Array<{ bytes: number; priority: number; seq: number; go: () => void }> = [];
  private seq = 0;
  private timer: NodeJS.Timeout | null = null;
  /** Bytes let through, for the uplink's counters. */
  passed = 0;

  constructor(
    kbps: number | null,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.bytesPerSecond = kbps === null ? null : (kbps * 1000) / 8;
    this.tokens = this.burst();
    this.refilledAt = this.now();
  }

  /** The cap now, in kbit/s (null: none). */
  get kbps(): number | null {
    return this.bytesPerSecond === null ? null : (this.bytesPerSecond * 8) / 1000;
  }

  /** A new cap (a live consultation starting or ending); waiting chunks are re-timed at once. */
  setKbps(kbps: number | null): void {
    this.refill();
    this.bytesPerSecond = kbps === null ? null : (kbps * 1000) / 8;
    // No cap: the bucket is bottomless; a cap again: it starts from at most one burst.
    this.tokens = kbps === null ? Number.POSITIVE_INFINITY : Math.min(this.tokens, this.burst());
    this.reschedule();
  }

  /** 100 ms worth of the rate (at least one 16 KiB chunk): short bursts, smooth on a 10 Mbit/s link. */
  private burst(): number {
    return this.bytesPerSecond === null
      ? Number.POSITIVE_INFINITY
      : Math.max(16_384, this.bytesPerSecond / 10);
  }

  private refill(): void {
    const t = this.now();
    if (this.bytesPerSecond !== null)
      this.tokens = Math.min(
        this.burst(),
        this.tokens + ((t - this.refilledAt) / 1000) * this.bytesPerSecond,
      );
    this.refilledAt = t;
  }

  /** Resolves when `bytes` may go on the link; lower `priority` numbers go first. */
  take(bytes: number, priority: number): Promise<void> {
    return new Promise((go) => {
      this.waiters.push({ bytes, priority, seq: this.seq++, go });
      this.waiters.sort((a, b) => a.priority - b.priority || a.seq - b.seq);
      this.reschedule();
    });
  }

  private reschedule(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.refill();
    for (;;) {
      const first = this.waiters[0];
      if (!first) return;
      // A chunk larger than the burst goes once the bucket is full (it would never fit otherwise).
      const need = Math.min(first.bytes, this.burst());
      if (this.tokens < need) {
        const waitMs = ((need - this.tokens) / (this.bytesPerSecond as number)) * 1000;
        this.timer = setTimeout(
          () => {
            this.timer = null;
            this.reschedule();
          },
          Math.max(1, Math.ceil(waitMs)),
        );
        return;
      }
      this.waiters.shift();
      this.tokens -= first.bytes;
      this.passed += first.bytes;
      first.go();
    }
  }
}
