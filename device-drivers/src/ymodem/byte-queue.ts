/** Thrown by ByteQueue reads that time out. */
export class ReadTimeout extends Error {
  readonly code = 'READ_TIMEOUT';
  constructor(ms: number) {
    super(`no data for ${ms} ms`);
  }
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * A read's timeout fires in the timers phase, before the I/O that arrived while the event loop was
 * busy has been handed over: after a stall longer than the timeout (a page encode, a slow fsync on
 * a loaded board) the bytes are in the kernel's buffer but not yet in the queue, and the read
 * would fail although the sender was on time. A timeout that fires late therefore takes effect
 * one turn later (setImmediate runs after the poll phase), and data already there settles the read.
 * Found by the kill test: a false timeout mid-block made the receiver NAK a good block, the cart
 * resend it, the receiver ACK it twice — and the cart, one ACK ahead from then on, took an ACK for
 * an earlier block as the acknowledgement of a file the terminal had not saved.
 */
export const realTimers: Timers = {
  setTimeout: (fn, ms) => {
    const handle: { timer: NodeJS.Timeout | null; immediate: NodeJS.Immediate | null } = {
      timer: null,
      immediate: null,
    };
    const due = Date.now() + ms;
    handle.timer = setTimeout(() => {
      // On time: the line really was silent. Late (the loop was stalled): first let the I/O that
      // waited behind the stall through.
      if (Date.now() - due > 20) handle.immediate = setImmediate(fn);
      else fn();
    }, ms);
    return handle;
  },
  clearTimeout: (handle) => {
    const h = handle as { timer: NodeJS.Timeout | null; immediate: NodeJS.Immediate | null };
    if (h.timer) clearTimeout(h.timer);
    if (h.immediate) clearImmediate(h.immediate);
  },
};

/**
 * Bytes arriving from a link, read with timeouts by a protocol's linear code.
 * INVARIANTS: at most one read is pending at a time (protocols are sequential); a pending read is
 * settled exactly once — by data, by its timeout, or by the abort signal.
 */
export class ByteQueue {
  private chunks: Uint8Array[] = [];
  private length = 0;
  private waiter: (() => void) | null = null;

  constructor(
    private readonly signal: AbortSignal,
    private readonly timers: Timers = realTimers,
  ) {
    signal.addEventListener('abort', () => this.waiter?.(), { once: true });
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
    this.waiter?.();
  }

  /** Puts bytes back at the head of the queue (a resync rescans what a bogus block swallowed). */
  unshift(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.unshift(chunk);
    this.length += chunk.length;
    this.waiter?.();
  }

  get buffered(): number {
    return this.length;
  }

  /** Drops everything buffered (line noise after an error), returning how many bytes. */
  purge(): number {
    const dropped = this.length;
    this.chunks = [];
    this.length = 0;
    return dropped;
  }

  /**
   * Drops what is buffered and whatever else arrives, until nothing has come for `quietMs` (or
   * `maxMs` of it has passed); returns how many bytes were dropped.
   */
  async drainUntilQuiet(quietMs: number, maxMs: number): Promise<number> {
    let dropped = this.purge();
    for (let round = Math.ceil(maxMs / quietMs); round > 0; round--) {
      try {
        await this.read(1, quietMs);
      } catch (error) {
        if (error instanceof ReadTimeout) return dropped;
        throw error;
      }
      dropped += 1 + this.purge();
    }
    return dropped;
  }

  private take(count: number): Uint8Array {
    const out = new Uint8Array(count);
    let filled = 0;
    while (filled < count) {
      const head = this.chunks[0]!;
      const part = Math.min(head.length, count - filled);
      out.set(head.subarray(0, part), filled);
      filled += part;
      if (part === head.length) this.chunks.shift();
      else this.chunks[0] = head.subarray(part);
    }
    this.length -= count;
    return out;
  }

  /** Resolves with exactly `count` bytes, or rejects with ReadTimeout / the abort reason. */
  async read(count: number, timeoutMs: number): Promise<Uint8Array> {
    if (this.signal.aborted) throw this.signal.reason;
    if (this.length >= count) return this.take(count);
    await new Promise<void>((resolve, reject) => {
      const handle = this.timers.setTimeout(() => {
        this.waiter = null;
        reject(new ReadTimeout(timeoutMs));
      }, timeoutMs);
      this.waiter = () => {
        if (this.signal.aborted) {
          this.timers.clearTimeout(handle);
          this.waiter = null;
          reject(this.signal.reason);
        } else if (this.length >= count) {
          this.timers.clearTimeout(handle);
          this.waiter = null;
          resolve();
        }
      };
    });
    return this.take(count);
  }

  async readByte(timeoutMs: number): Promise<number> {
    return (await this.read(1, timeoutMs))[0]!;
  }
}
