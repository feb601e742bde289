/**
 * Capped exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff and
 * Jitter"): delay = random(0, min(cap, base · 2^attempt)), never below `floorMs`.
 * A server's Retry-After wins when it is longer. Reset after a success.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly options: { initialMs: number; maxMs: number; floorMs?: number },
    private readonly random: () => number = Math.random,
  ) {}

  get attempts(): number {
    return this.attempt;
  }

  next(retryAfterMs?: number): number {
    const ceiling = Math.min(this.options.maxMs, this.options.initialMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    const jittered = Math.max(
      this.options.floorMs ?? this.options.initialMs / 2,
      Math.round(this.random() * ceiling),
    );
    return Math.max(jittered, retryAfterMs ?? 0);
  }

  reset(): void {
    this.attempt = 0;
  }
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
