/*
 * Which of the far end's simulcast layers the terminal receives. The media server (Janus's
 * VideoRoom) is a forwarding unit: it ignores a subscriber's bandwidth estimate (REMB), and the
 * specialist's browser sizes its picture to the province's network, not to a county link. When
 * the specialist publishes simulcast (two or three sizes of the same picture), the subscriber
 * chooses the size it can carry; without that, a clinic on 400 kbit/s received a 640×480 picture
 * at 0 frames/s, seconds late, while sound went on (measured: issue 15, session 6).
 *
 * The choice follows what arrives, the only signal a receiver has without transport feedback: a
 * layer that loses packets beyond random link loss is too large for the link; so is one whose
 * picture stands still while packets are being lost. (Behind a policer, a layer's key frames are
 * larger than the burst the link lets through: each loses packets, the decoder never gets a whole
 * picture, and the picture stops at 7 % loss overall, below the loss threshold. Measured on the
 * rig at 400 kbit/s: 0 frames/s of the 640×480 layer, 25–30 of the 320×240 one.)
 */

/** One second of what arrived: loss of the far end's packets (%) and frames shown; null when not measured. */
export interface ReceiveReading {
  lossPercent: number | null;
  fps?: number | null;
}

export interface ReceiveLayersOptions {
  /** The highest layer (Janus numbers them 0 lowest … 2 highest). */
  top?: number;
  /** Loss (%) that steps down when seen in two readings in a row (default 10, as the sending side). */
  lossDown?: number;
  /** Loss (%) that steps down at once (default 25: the layer is far too large). */
  lossDownAtOnce?: number;
  /** Loss (%) under which a second is calm (default 2). */
  lossCalm?: number;
  /** Calm seconds before trying the layer above (default 8); doubled after each failed try. */
  holdSeconds?: number;
  /** The longest wait between tries (default 120 s). */
  maxHoldSeconds?: number;
  /** Seconds after a switch that are not judged: the server switches at the next key frame. */
  settleSeconds?: number;
  /** Seconds at the start that are not judged: the first key frame may need asking for again. */
  startSeconds?: number;
  /** Fewer frames shown than this in a second with loss (≥ lossCalm) is a stalled second, as lossy. */
  stalledFps?: number;
}

/**
 * A step down when the loss says the layer is too large; a try of the layer above after calm
 * seconds. A try that fails within `failWindow` readings doubles the wait before the next
 * (exponential backoff, capped), so a link that cannot carry the larger picture does not lose
 * a second of it every few seconds; a long calm spell on a layer resets the wait.
 * Pure: fed one reading a second; the caller asks the media server for the layer returned.
 */
export class ReceiveLayers {
  /** The layer asked for now (the server starts a subscription on its highest). */
  current: number;
  readonly counters = { layersDown: 0, layersUp: 0 };
  /** Seconds to wait, calm, before the next try of the layer above. */
  holdSeconds: number;
  private calm = 0;
  private lossy = 0;
  private settle = 0;
  /** Readings since the last step up (null: no try pending judgement). */
  private sinceUp: number | null = null;
  private readonly o: Required<ReceiveLayersOptions>;

  constructor(options: ReceiveLayersOptions = {}) {
    this.o = {
      top: 2,
      lossDown: 10,
      lossDownAtOnce: 25,
      lossCalm: 2,
      holdSeconds: 8,
      maxHoldSeconds: 120,
      settleSeconds: 2,
      startSeconds: 3,
      stalledFps: 3,
      ...options,
    };
    this.current = this.o.top;
    this.holdSeconds = this.o.holdSeconds;
    this.settle = this.o.startSeconds;
  }

  /** Feeds a second's reading; returns the layer to ask for when it should change, else null. */
  update(reading: ReceiveReading): number | null {
    const loss = reading.lossPercent;
    if (loss === null || !Number.isFinite(loss)) return null;
    if (this.settle > 0) {
      this.settle--;
      return null;
    }
    if (this.sinceUp !== null) this.sinceUp++;
    const { o } = this;
    // A picture that stands still while packets are lost: the layer's key frames do not get
    // through. (Without loss, a still picture is the far end's: a camera turned off sends ~1 fps.)
    const stalled = reading.fps != null && reading.fps < o.stalledFps && loss >= o.lossCalm;
    if (loss >= o.lossDown || stalled) {
      this.calm = 0;
      this.lossy++;
      if ((loss >= o.lossDownAtOnce || this.lossy >= 2) && this.current > 0) return this.step(-1);
      return null;
    }
    this.lossy = 0;
    if (loss >= o.lossCalm) {
      this.calm = 0;
      return null;
    }
    this.calm++;
    // A try that held as long as a whole wait: the layer is fine; the next wait is the shortest.
    if (this.sinceUp !== null && this.sinceUp >= this.holdSeconds) {
      this.sinceUp = null;
      this.holdSeconds = o.holdSeconds;
    }
    if (this.calm < this.holdSeconds || this.current >= o.top) return null;
    return this.step(+1);
  }

  private step(direction: -1 | 1): number {
    const { o } = this;
    if (direction < 0) {
      this.counters.layersDown++;
      // The layer above failed soon after it was tried: wait twice as long before the next try.
      if (this.sinceUp !== null) this.holdSeconds = Math.min(o.maxHoldSeconds, this.holdSeconds * 2);
      this.sinceUp = null;
    } else {
      this.counters.layersUp++;
      this.sinceUp = 0;
    }
    this.current += direction;
    this.calm = 0;
    this.lossy = 0;
    this.settle = o.settleSeconds;
    return this.current;
  }
}
