/** Two data centres for an Uplink under test (its stow and probe are the test's), A at home. */
export const TWO_DATA_CENTRES = {
  targets: {
    A: { name: 'A', dicomWebUrl: 'http://dc-a', timeoutMs: 1000 },
    B: { name: 'B', dicomWebUrl: 'http://dc-b', timeoutMs: 1000 },
  },
  home: 'A',
} as const;

/** Polls `probe` every 5 ms until it holds, or fails naming `what` after `ms`. */
export async function until(what: string, probe: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
