export type DcLinkState = 'unknown' | 'up' | 'down';

/**
 * One data centre's health, with hysteresis: it goes down after `failAfter` failures in a row
 * (uploads or probes) and comes back up only after `recoverAfter` successes in a row, so one lost
 * request does not move a terminal's traffic, and a data centre flapping during maintenance does
 * not pull it back and forth. Pure: the uplink feeds it outcomes and acts on the changes.
 */
export class DcHealth {
  state: DcLinkState = 'unknown';
  consecutiveFailures = 0;
  consecutiveSuccesses = 0;

  constructor(
    private readonly failAfter: number,
    private readonly recoverAfter: number,
  ) {}

  /** Records a success; returns the new state when it changed. */
  success(): DcLinkState | null {
    this.consecutiveFailures = 0;
    this.consecutiveSuccesses++;
    if (this.state === 'down' && this.consecutiveSuccesses < this.recoverAfter) return null;
    return this.become('up');
  }

  /** Records a failure; returns the new state when it changed. */
  failure(): DcLinkState | null {
    this.consecutiveSuccesses = 0;
    this.consecutiveFailures++;
    if (this.state !== 'down' && this.consecutiveFailures < this.failAfter) return null;
    return this.become('down');
  }

  private become(state: DcLinkState): DcLinkState | null {
    if (this.state === state) return null;
    this.state = state;
    return state;
  }
}
