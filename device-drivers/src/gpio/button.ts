/**
 * A push button's edges to presses: contact bounce filtered out (a level counts once it has held
 * for `debounceMs`), a press held for `longPressMs` reported as a long press once, the moment it
 * becomes one (staff should not have to let go to be heard), a short press on release. Pure: edges
 * and times in, events out; the caller runs the one timer it asks for.
 */
export type ButtonEvent = { kind: 'press' } | { kind: 'long-press' };

export interface ButtonTiming {
  debounceMs: number;
  longPressMs: number;
}

export class ButtonDecoder {
  /** The level after debouncing. */
  private stable: 0 | 1 = 0;
  private raw: 0 | 1 = 0;
  private rawSince = 0;
  private pressedAt: number | null = null;
  private longReported = false;

  constructor(private readonly timing: ButtonTiming) {}

  /** An edge seen on the line (value after polarity). Returns events, and when to call `tick`. */
  edge(value: 0 | 1, atMs: number): { events: ButtonEvent[]; tickAt: number | null } {
    if (value !== this.raw) {
      this.raw = value;
      this.rawSince = atMs;
    }
    return { events: [], tickAt: this.rawSince + this.timing.debounceMs };
  }

  /** Time passing: a level that has held long enough becomes the stable level. */
  tick(nowMs: number): { events: ButtonEvent[]; tickAt: number | null } {
    const events: ButtonEvent[] = [];
    if (this.raw !== this.stable && nowMs - this.rawSince >= this.timing.debounceMs) {
      this.stable = this.raw;
      if (this.stable === 1) {
        this.pressedAt = this.rawSince;
        this.longReported = false;
      } else {
        if (this.pressedAt !== null && !this.longReported) events.push({ kind: 'press' });
        this.pressedAt = null;
      }
    }
    if (this.stable === 1 && this.pressedAt !== null && !this.longReported) {
      if (nowMs - this.pressedAt >= this.timing.longPressMs) {
        this.longReported = true;
        events.push({ kind: 'long-press' });
      } else {
        return { events, tickAt: this.pressedAt + this.timing.longPressMs };
      }
    }
    if (this.raw !== this.stable) return { events, tickAt: this.rawSince + this.timing.debounceMs };
    return { events, tickAt: null };
  }
}

/**
 * A two-position switch (tamper/door, UPS power-fail): the same debouncing, reporting each settled
 * change of level.
 */
export class SwitchDecoder {
  private stable: 0 | 1 | null = null;
  private raw: 0 | 1 = 0;
  private rawSince = 0;

  constructor(private readonly debounceMs: number) {}

  /** The level read at start: reported as the first settled level. */
  initial(value: 0 | 1, atMs: number): void {
    this.raw = value;
    this.rawSince = atMs - this.debounceMs;
  }

  edge(value: 0 | 1, atMs: number): number {
    if (value !== this.raw) {
      this.raw = value;
      this.rawSince = atMs;
    }
    return this.rawSince + this.debounceMs;
  }

  tick(nowMs: number): { changed: 0 | 1 | null; tickAt: number | null } {
    if (this.raw !== this.stable && nowMs - this.rawSince >= this.debounceMs) {
      this.stable = this.raw;
      return { changed: this.stable, tickAt: null };
    }
    return { changed: null, tickAt: this.raw !== this.stable ? this.rawSince + this.debounceMs : null };
  }
}
