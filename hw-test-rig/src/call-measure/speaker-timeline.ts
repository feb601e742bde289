/** A datagram this far from where the last one ended starts the timeline again (the speaker stopped). */
const RESTART_MS = 150;
/** Datagrams looked at before the timeline is moved (half a second of 10 ms datagrams). */
const WINDOW = 50;
/** How far every datagram of a window must be off before the timeline moves to them. */
const MOVE_MS = 15;

/**
 * When the terminal's loudspeaker played each datagram of its sound, as the rig's room hears it.
 * A loudspeaker plays without gaps (silence included), so each datagram continues where the last
 * ended: delivery jitter and the rig's own event loop must not move the echo, because a canceller
 * models a fixed path. But where the timeline was anchored can be wrong — the first datagrams go
 * out before the sending pipeline has settled its latency (measured: 40 ms more once it has) — so
 * when every datagram of the last half second came later (or earlier) than its place by more than
 * 15 ms, the timeline moves by the least of those offsets: once, as a real room's path would change
 * once. A gap of 150 ms starts it again.
 *
 * INVARIANTS: places only move forward by a datagram's length, except at a restart or a move; a
 * move is by the smallest offset of a whole window, so one late datagram never moves it.
 */
export class SpeakerTimeline {
  private end: number | null = null;
  private offsets: number[] = [];
  readonly counters = { restarts: 0, moves: 0 };

  /** Where a datagram of `durationMs` that arrived at `arrivedMs` is played (wall-clock ms). */
  place(arrivedMs: number, durationMs: number): number {
    let at = this.end;
    if (at === null || Math.abs(arrivedMs - at) >= RESTART_MS) {
      if (at !== null) this.counters.restarts++;
      at = arrivedMs;
      this.offsets = [];
    } else {
      this.offsets.push(arrivedMs - at);
      if (this.offsets.length >= WINDOW) {
        const late = Math.min(...this.offsets);
        const early = Math.max(...this.offsets);
        // All later than their place: the timeline runs early; all earlier: it runs late.
        const move = late > MOVE_MS ? late : early < -MOVE_MS ? early : 0;
        if (move !== 0) {
          at += move;
          this.counters.moves++;
        }
        this.offsets = [];
      }
    }
    this.end = at + durationMs;
    return at;
  }
}
