import type {
  GLibNamespace,
  GstAppSink,
  GstAppSrc,
  GstNamespace,
  GstSample,
  GstVideoNamespace,
} from './gst-types.ts';
import type { ElementRef } from './ipc.ts';
import type { TapMedia } from './pipeline-spec.ts';

/** GST_CLOCK_TIME_NONE: "as soon as possible" in a force-key-unit request. */
const CLOCK_TIME_NONE = 2 ** 64 - 1;
/** How often a tap drains its appsink (encoded video is ~30 buffers/s, AAC ~47). */
const TAP_INTERVAL_MS = 10;
/** A GOP is at most 2 s; this bounds the kept one even if an encoder ignores its interval. */
const MAX_GOP_SAMPLES = 300;
/** Audio kept for a recording that starts at the last video key frame (≤ 2 s ago), with margin. */
const AUDIO_HISTORY_NS = 3_000_000_000n;

export interface TapMeter {
  pipeline: string;
  element: string;
  fps: number;
  kbps: number;
  /** Key frames asked of the encoder for receivers since the tap opened. */
  keyRequests: number;
}

interface Feed {
  to: ElementRef;
  src: GstAppSrc;
  /** Video: the first buffer given was a key frame. Audio: the video it follows has begun. */
  started: boolean;
  lastKeyRequest: number;
  /**
   * Video: the running time of the first buffer given, where the receiving pipeline's media
   * begins. Running time, not PTS: encoders put their own offsets on timestamps (x264enc adds
   * 1000 hours to its segment), so only running time lines sound up with picture.
   */
  startAt: bigint | null;
  /** Audio: the video feed into the same pipeline, whose start it waits for and begins at. */
  follows: Feed | null;
  /** End-of-stream to the appsrc when the tap's pipeline ends; otherwise it waits for a new pump. */
  endWithSource: boolean;
}

interface Tap {
  pipeline: string;
  element: string;
  media: TapMedia;
  sink: GstAppSink;
  timer: number;
  /** Video: samples since the last key frame. Audio: the last few seconds. Feeds attached now start from it. */
  kept: GstSample[];
  /** Receiving appsrcs (a recording's, live out's), by `pipeline/element`. */
  feeds: Map<string, Feed>;
  window: { frames: number; bytes: number; since: number };
  /** Key frames asked of the encoder for receivers since start (PLI/FIR passed on). */
  keyRequests: number;
}

const keyOf = (ref: ElementRef) => `${ref.pipeline}/${ref.element}`;

/**
 * Encoded-media taps inside the media worker. A tap drains an appsink at an encoder's output all
 * the time — measuring what the video encoder really delivers (frames/s, kbit/s) — and hands the
 * buffers to the appsrc of each attached feed. Video feeds begin at a key frame; an audio feed
 * follows the video feed into the same pipeline and begins where that video begins (with the AAC
 * frame that spans its first picture), so sound and picture start together. A recording and live out
 * are their own pipelines this way: an end-of-stream, a full disk or an unreachable media server
 * never stops the camera or each other.
 *
 * INVARIANTS: at most one tap per appsink and one feed per receiving appsrc; an audio feed is
 * attached after the video feed it follows and goes with it; every GLib timer belongs to exactly
 * one tap and is removed with it; a feed whose tap goes away (the camera pipeline ended) gets
 * end-of-stream, so a recording closes its last segment cleanly — unless it was pumped with
 * onSourceGone 'wait' (a call), whose appsrc stays open for the next pump.
 */
export class Taps {
  private readonly taps = new Map<string, Tap>();

  constructor(
    private readonly gst: { Gst: GstNamespace; GLib: GLibNamespace; GstVideo: GstVideoNamespace },
    private readonly onMeter: (meter: TapMeter) => void,
  ) {}

  open(pipeline: string, element: string, media: TapMedia, sink: GstAppSink): void {
    const { GLib } = this.gst;
    const key = keyOf({ pipeline, element });
    if (this.taps.has(key)) throw new Error(`${key} is already tapped`);
    const tap: Tap = {
      pipeline,
      element,
      media,
      sink,
      timer: 0,
      kept: [],
      feeds: new Map(),
      window: { frames: 0, bytes: 0, since: Date.now() },
      keyRequests: 0,
    };
    tap.timer = GLib.timeoutAdd(GLib.PRIORITY_DEFAULT, TAP_INTERVAL_MS, () => this.drain(key, tap));
    this.taps.set(key, tap);
  }

  /**
   * Starts feeding appsrc `to` from the tap. Video begins at a key frame: the last one (a
   * recording: the current GOP, ≤ 2 s old, so nothing before the button press is lost) or the
   * next one, asked of the encoder now (live out: a receiver joining gets fresh frames only).
   * Audio begins where the video into the same pipeline begins, from what the tap kept. With
   * `replace`, a feed already into `to` stops where this one starts (no end-of-stream between).
   */
  attach(
    from: ElementRef,
    to: ElementRef,
    src: GstAppSrc,
    start: 'last-key-frame' | 'next-key-frame',
    onSourceGone: 'end' | 'wait' = 'end',
    replace = false,
  ): void {
    const tap = this.taps.get(keyOf(from));
    if (!tap) throw new Error(`no encoded tap ${from.element} in ${from.pipeline}`);
    if (replace) for (const other of this.taps.values()) other.feeds.delete(keyOf(to));
    else if (this.feedInto(to)) throw new Error(`${keyOf(to)} is already fed`);
    const feed: Feed = {
      to,
      src,
      started: false,
      lastKeyRequest: 0,
      startAt: null,
      follows: null,
      endWithSource: onSourceGone === 'end',
    };
    if (tap.media === 'audio') {
      feed.follows = this.videoFeedInto(to.pipeline);
      if (!feed.follows) throw new Error(`${to.pipeline} has no video feed for its audio to follow`);
      this.startAudio(tap, feed);
    } else {
      if (start === 'last-key-frame') for (const sample of tap.kept) this.give(feed, sample);
      this.forwardKeyRequests(tap, feed);
    }
    tap.feeds.set(keyOf(to), feed);
  }

  /**
   * A receiver's request for a key frame — a WebRTC PLI or FIR, which webrtcbin turns into an
   * upstream force-key-unit event — ends at the feed's appsrc: the encoder is in the camera's
   * pipeline. It is passed on to the encoder behind the tap, at most every 500 ms (a lossy link
   * can ask many times a second, and each key frame costs several times a normal one).
   */
  private forwardKeyRequests(tap: Tap, feed: Feed): void {
    const { Gst, GstVideo } = this.gst;
    feed.src.getStaticPad('src')?.addProbe(Gst.PadProbeType.EVENT_UPSTREAM, (_pad, info) => {
      const event = info.getEvent();
      const current = tap.feeds.get(keyOf(feed.to)) === feed;
      if (
        current &&
        event &&
        GstVideo.videoEventIsForceKeyUnit(event) &&
        Date.now() - feed.lastKeyRequest > 500
      ) {
        feed.lastKeyRequest = Date.now();
        tap.keyRequests++;
        tap.sink.sendEvent(GstVideo.videoEventNewUpstreamForceKeyUnit(CLOCK_TIME_NONE, true, 0));
      }
      return Gst.PadProbeReturn.OK;
    });
  }

  /**
   * Stops feeding every appsrc in pipeline `to`; with `endOfStream` each ends after its last
   * buffer (a muxer finishes only when all its inputs have). True if anything was fed.
   */
  detach(to: string, endOfStream: boolean): boolean {
    let fed = false;
    for (const tap of this.taps.values()) {
      for (const [key, feed] of tap.feeds) {
        if (feed.to.pipeline !== to) continue;
        if (endOfStream) feed.src.endOfStream();
        tap.feeds.delete(key);
        fed = true;
      }
    }
    return fed;
  }

  /** A pipeline ended: its taps close (ending their feeds cleanly); feeds into it are dropped. */
  pipelineGone(pipeline: string): void {
    this.detach(pipeline, false);
    for (const [key, tap] of this.taps) {
      if (tap.pipeline !== pipeline) continue;
      this.gst.GLib.sourceRemove(tap.timer);
      this.taps.delete(key);
      for (const feed of tap.feeds.values()) if (feed.endWithSource) feed.src.endOfStream();
    }
  }

  private feedInto(to: ElementRef): Feed | undefined {
    for (const tap of this.taps.values()) {
      const feed = tap.feeds.get(keyOf(to));
      if (feed) return feed;
    }
    return undefined;
  }

  private videoFeedInto(pipeline: string): Feed | null {
    for (const tap of this.taps.values()) {
      if (tap.media !== 'video') continue;
      for (const feed of tap.feeds.values()) if (feed.to.pipeline === pipeline) return feed;
    }
    return null;
  }

  private runningTime(sample: GstSample): bigint | null {
    const pts = sample.getBuffer()?.pts;
    const segment = sample.getSegment();
    return pts === undefined || !segment ? null : segment.toRunningTime(this.gst.Gst.Format.TIME, pts);
  }

  private give(feed: Feed, sample: GstSample): void {
    if (feed.startAt === null) feed.startAt = this.runningTime(sample);
    feed.started = true;
    feed.src.pushSample(sample);
  }

  /**
   * Once the followed video has begun, the kept audio from that moment on goes first — from the
   * AAC frame that spans the first picture (≤ 21 ms before it), so no sound is missing at the
   * start; the muxer trims it to the picture's start.
   */
  private startAudio(tap: Tap, feed: Feed): void {
    const begin = feed.follows?.startAt ?? null;
    if (feed.started || begin === null) return;
    feed.started = true;
    let from = tap.kept.length;
    for (let i = tap.kept.length - 1; i >= 0; i--) {
      const at = this.runningTime(tap.kept[i]!);
      if (at === null) continue;
      from = i;
      if (at <= begin) break;
    }
    for (const sample of tap.kept.slice(from)) feed.src.pushSample(sample);
  }

  private drain(key: string, tap: Tap): boolean {
    if (this.taps.get(key) !== tap) return false;
    const { Gst, GstVideo } = this.gst;
    const now = Date.now();
    if (tap.media === 'video') {
      for (const feed of tap.feeds.values()) {
        if (feed.started || now - feed.lastKeyRequest <= 250) continue;
        feed.lastKeyRequest = now;
        tap.sink.sendEvent(GstVideo.videoEventNewUpstreamForceKeyUnit(CLOCK_TIME_NONE, true, 0));
      }
    }
    for (let sample = tap.sink.tryPullSample(0); sample; sample = tap.sink.tryPullSample(0)) {
      const buffer = sample.getBuffer();
      tap.window.frames++;
      tap.window.bytes += Number(buffer?.getSize() ?? 0);
      if (tap.media === 'audio') {
        this.keepAudio(tap, sample);
        for (const feed of tap.feeds.values()) {
          if (!feed.started) {
            this.startAudio(tap, feed);
            continue; // the kept audio just given includes this sample
          }
          feed.src.pushSample(sample);
        }
        continue;
      }
      const isKey = ((buffer?.getFlags() ?? Gst.BufferFlags.DELTA_UNIT) & Gst.BufferFlags.DELTA_UNIT) === 0;
      if (isKey) tap.kept = [];
      if (tap.kept.length < MAX_GOP_SAMPLES) tap.kept.push(sample);
      for (const feed of tap.feeds.values()) {
        // Until the first key frame nothing is decodable: a segment (or a receiver joining) must
        // not begin with grey.
        if (!feed.started && !isKey) continue;
        this.give(feed, sample);
      }
    }
    const elapsed = now - tap.window.since;
    if (elapsed >= 1000) {
      if (tap.media === 'video') {
        this.onMeter({
          pipeline: tap.pipeline,
          element: tap.element,
          fps: Math.round((tap.window.frames * 10_000) / elapsed) / 10,
          kbps: Math.round((tap.window.bytes * 8) / elapsed),
          keyRequests: tap.keyRequests,
        });
      }
      tap.window = { frames: 0, bytes: 0, since: now };
    }
    return true;
  }

  private keepAudio(tap: Tap, sample: GstSample): void {
    tap.kept.push(sample);
    const newest = sample.getBuffer()?.pts;
    if (newest === undefined) return;
    while (tap.kept.length > 1) {
      const oldest = tap.kept[0]!.getBuffer()?.pts;
      if (oldest === undefined || newest - oldest <= AUDIO_HISTORY_NS) break;
      tap.kept.shift();
    }
  }
}
