import type {
  GLibNamespace,
  GstAppSink,
  GstAppSrc,
  GstNamespace,
  GstSample,
  GstVideoNamespace,
} from './gst-types.ts';

/** GST_CLOCK_TIME_NONE: "as soon as possible" in a force-key-unit request. */
const CLOCK_TIME_NONE = 2 ** 64 - 1;
/** How often a tap drains its appsink (encoded video is ~30 buffers/s). */
const TAP_INTERVAL_MS = 10;
/** A GOP is at most 2 s; this bounds the kept one even if an encoder ignores its interval. */
const MAX_GOP_SAMPLES = 300;

export interface TapMeter {
  pipeline: string;
  element: string;
  fps: number;
  kbps: number;
}

interface Feed {
  pipeline: string;
  src: GstAppSrc;
  keyed: boolean;
  lastKeyRequest: number;
}

interface Tap {
  pipeline: string;
  element: string;
  sink: GstAppSink;
  timer: number;
  /** Samples since the last key frame: a feed attached now starts from it. */
  gop: GstSample[];
  /** Receiving pipelines (a recording, live out), each fed from a key frame on. */
  feeds: Map<string, Feed>;
  window: { frames: number; bytes: number; since: number };
}

/**
 * Encoded-video taps inside the media worker. A tap drains an appsink at the encoder's output all
 * the time — measuring what the encoder really delivers (frames/s, kbit/s) — and hands the buffers
 * to the appsrc of each attached feed from a key frame on. A recording and live out are feeds:
 * their own pipelines, so an end-of-stream, a full disk or an unreachable media server never
 * stops the camera or each other.
 *
 * INVARIANTS: at most one tap per appsink and one feed per receiving pipeline; every
 * GLib timer belongs to exactly one tap and is removed with it; a feed whose tap goes away (the
 * camera pipeline ended) gets end-of-stream, so a recording closes its last segment cleanly.
 */
export class Taps {
  private readonly taps = new Map<string, Tap>();

  constructor(
    private readonly gst: { Gst: GstNamespace; GLib: GLibNamespace; GstVideo: GstVideoNamespace },
    private readonly onMeter: (meter: TapMeter) => void,
  ) {}

  open(pipeline: string, element: string, sink: GstAppSink): void {
    const { GLib } = this.gst;
    const key = `${pipeline}/${element}`;
    if (this.taps.has(key)) throw new Error(`${key} is already tapped`);
    const tap: Tap = {
      pipeline,
      element,
      sink,
      timer: 0,
      gop: [],
      feeds: new Map(),
      window: { frames: 0, bytes: 0, since: Date.now() },
    };
    tap.timer = GLib.timeoutAdd(GLib.PRIORITY_DEFAULT, TAP_INTERVAL_MS, () => this.drain(key, tap));
    this.taps.set(key, tap);
  }

  /**
   * Starts feeding `src` (in pipeline `to`) from the tap, beginning at a key frame: the last one
   * (a recording: the current GOP, ≤ 2 s old, so nothing before the button press is lost) or the
   * next one, asked of the encoder now (live out: a receiver joining gets fresh frames only).
   */
  attach(
    pipeline: string,
    element: string,
    to: string,
    src: GstAppSrc,
    start: 'last-key-frame' | 'next-key-frame',
  ): void {
    const tap = this.taps.get(`${pipeline}/${element}`);
    if (!tap) throw new Error(`no encoded tap ${element} in ${pipeline}`);
    if (this.feedOf(to)) throw new Error(`${to} is already fed`);
    const fromGop = start === 'last-key-frame' && tap.gop.length > 0;
    if (fromGop) for (const sample of tap.gop) src.pushSample(sample);
    tap.feeds.set(to, { pipeline: to, src, keyed: fromGop, lastKeyRequest: 0 });
  }

  /** Stops feeding pipeline `to`; with `endOfStream` its appsrc ends after the last buffer. True if it was fed. */
  detach(to: string, endOfStream: boolean): boolean {
    const tap = this.feedOf(to);
    const feed = tap?.feeds.get(to);
    if (!tap || !feed) return false;
    if (endOfStream) feed.src.endOfStream();
    tap.feeds.delete(to);
    return true;
  }

  /** A pipeline ended: its taps close (ending their feeds cleanly); a feed into it is dropped. */
  pipelineGone(pipeline: string): void {
    this.detach(pipeline, false);
    for (const [key, tap] of this.taps) {
      if (tap.pipeline !== pipeline) continue;
      this.gst.GLib.sourceRemove(tap.timer);
      this.taps.delete(key);
      for (const feed of tap.feeds.values()) feed.src.endOfStream();
    }
  }

  private feedOf(to: string): Tap | undefined {
    for (const tap of this.taps.values()) if (tap.feeds.has(to)) return tap;
    return undefined;
  }

  private drain(key: string, tap: Tap): boolean {
    if (this.taps.get(key) !== tap) return false;
    const { Gst, GstVideo } = this.gst;
    const now = Date.now();
    for (const feed of tap.feeds.values()) {
      if (feed.keyed || now - feed.lastKeyRequest <= 250) continue;
      feed.lastKeyRequest = now;
      tap.sink.sendEvent(GstVideo.videoEventNewUpstreamForceKeyUnit(CLOCK_TIME_NONE, true, 0));
    }
    for (let sample = tap.sink.tryPullSample(0); sample; sample = tap.sink.tryPullSample(0)) {
      const buffer = sample.getBuffer();
      const key = ((buffer?.getFlags() ?? Gst.BufferFlags.DELTA_UNIT) & Gst.BufferFlags.DELTA_UNIT) === 0;
      tap.window.frames++;
      tap.window.bytes += Number(buffer?.getSize() ?? 0);
      if (key) tap.gop = [];
      if (tap.gop.length < MAX_GOP_SAMPLES) tap.gop.push(sample);
      for (const feed of tap.feeds.values()) {
        // Until the first key frame nothing is decodable: a segment (or a receiver joining) must
        // not begin with grey.
        if (!feed.keyed && !key) continue;
        feed.keyed = true;
        feed.src.pushSample(sample);
      }
    }
    const elapsed = now - tap.window.since;
    if (elapsed >= 1000) {
      this.onMeter({
        pipeline: tap.pipeline,
        element: tap.element,
        fps: Math.round((tap.window.frames * 10_000) / elapsed) / 10,
        kbps: Math.round((tap.window.bytes * 8) / elapsed),
      });
      tap.window = { frames: 0, bytes: 0, since: now };
    }
    return true;
  }
}
