import { sleep } from './backoff.ts';

/**
 * A back-off wait that can be cut short: a driver sleeping before it looks for its device again
 * is woken when the device manager sees the device arrive, instead of waiting out the back-off.
 */
export class Waker {
  private current: AbortController | null = null;

  /** Resolves after `ms`, or at once on {@link wake}; rejects when `signal` aborts (stop). */
  async sleep(ms: number, signal: AbortSignal): Promise<void> {
    const woken = new AbortController();
    this.current = woken;
    const both = AbortSignal.any([signal, woken.signal]);
    try {
      await sleep(ms, both);
    } catch (error) {
      if (signal.aborted) throw error;
    } finally {
      if (this.current === woken) this.current = null;
    }
  }

  /** Ends the wait in progress, if any. */
  wake(): void {
    this.current?.abort(new Error('woken'));
  }
}
