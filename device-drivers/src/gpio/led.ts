/**
 * Status LED patterns: what the terminal is doing, readable from across the room. A pattern is a
 * cycle of (level, milliseconds) steps.
 */
export type LedPattern = 'off' | 'ready' | 'recording' | 'uploading' | 'fault' | 'power-fail';

export const LED_PATTERNS: Record<LedPattern, ReadonlyArray<readonly [0 | 1, number]>> = {
  off: [[0, 1000]],
  /** Steady on: ready, nothing waiting. */
  ready: [[1, 1000]],
  /** Slow heartbeat: a backlog is being uploaded. */
  uploading: [
    [1, 150],
    [0, 1850],
  ],
  /** 1 Hz even blink: a recording runs. */
  recording: [
    [1, 500],
    [0, 500],
  ],
  /** Fast 4 Hz blink: something needs a technician. */
  fault: [
    [1, 125],
    [0, 125],
  ],
  /** Double flash: running on the UPS, captures refused. */
  'power-fail': [
    [1, 100],
    [0, 100],
    [1, 100],
    [0, 700],
  ],
};

/** The level of `pattern` at `elapsedMs` into it. */
export function ledLevel(pattern: LedPattern, elapsedMs: number): 0 | 1 {
  const steps = LED_PATTERNS[pattern];
  const period = steps.reduce((n, [, ms]) => n + ms, 0);
  let t = ((elapsedMs % period) + period) % period;
  for (const [level, ms] of steps) {
    if (t < ms) return level;
    t -= ms;
  }
  return 0;
}
