export interface UntilOptions {
  /** A probe that throws means "not yet" (a service that is restarting refuses connections). */
  errorsMeanNotYet?: boolean;
  /** Poll at this fixed interval: where the wait itself is measured (a benchmark's latency). */
  everyMs?: number;
}

/**
 * The one polling wait of the project's tests and benchmarks (device-drivers imports nothing of
 * ours, and everything else may import device-drivers, so it lives here).
 *
 * Polls `probe` until it returns something truthy, and returns that; fails naming `what` after
 * `ms`. The interval starts at 5 ms and doubles to 100 ms: quick conditions are seen quickly, and
 * slow ones (a rig's HTTP status) are not asked for hundreds of times a second on a loaded machine.
 * A probe that throws fails the wait at once, unless `errorsMeanNotYet`.
 */
export async function until<T>(
  what: string,
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  ms = 30_000,
  options: UntilOptions = {},
): Promise<T> {
  const deadline = Date.now() + ms;
  const ask = options.errorsMeanNotYet
    ? () =>
        Promise.resolve()
          .then(probe)
          .catch(() => null)
    : probe;
  for (let interval = options.everyMs ?? 5; ; interval = options.everyMs ?? Math.min(interval * 2, 100)) {
    const value = await ask();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}
