import type { Logger } from 'pino';
import { AdaptiveBitrate } from '../media/adaptive-bitrate.ts';
import { CALL_ELEMENTS, CALL_PIPELINES } from '../media/call-pipelines.ts';
import type { BusEvent } from '../media/media-worker.ts';
import { parseLevel, parseVideoCaps } from '../media/readings.ts';
import { type LinkStats, parseLinkStats } from './link-stats.ts';
import { ReceiveLayers } from './receive-layers.ts';

/** The far end's picture (the sink's own counts, the caps it is given) and sound (level readings). */
export interface Received {
  framesRendered: number;
  framesDropped: number;
  width: number | null;
  height: number | null;
  /** Frames shown per second over the last second. */
  fps: number | null;
  /** Seconds of the far end's sound heard so far (the level meter's intervals). */
  audioSeconds: number;
  /** The far end's sound, RMS in dBFS over the last half second (-200: silence). */
  audioLevelDb: number | null;
  /** Seconds in which the far end's picture stood still (no frame shown) after it had started. */
  freezes: number;
}

/** The call's link, both ways, over the last second (null until measured). */
export interface CallLink {
  /** What we send (video) and what we receive (picture and voice), kbit/s. */
  sendKbps: number | null;
  receiveKbps: number | null;
  /** Of our packets, lost on the way (the far end's receiver reports), %. */
  sendLossPercent: number | null;
  /** Of the far end's packets, lost on the way to us, %. */
  receiveLossPercent: number | null;
  /** Round trip to the media server (RTCP). */
  rttMs: number | null;
  /** Interarrival jitter of what we receive. */
  jitterMs: number | null;
  /** The video bitrate the call asks of the encoder now (it adapts to loss and queueing). */
  targetKbps: number;
  /** The far end's simulcast layer asked for (0 smallest), null when it sends one size only. */
  receiveLayer: number | null;
  counters: { stepsDown: number; stepsUp: number; layersDown: number; layersUp: number };
}

export interface CallQualityWorker {
  stats(pipeline: string, element: string): Promise<string>;
  caps(pipeline: string, element: string): Promise<string>;
  webrtcStats(pipeline: string, element: string, pad: string): Promise<string[]>;
  onBusEvent(listener: (event: BusEvent) => void): () => void;
}

export interface CallQualityOptions {
  worker: CallQualityWorker;
  /** The call's ceiling (config call.bitrateKbps). */
  maxKbps: number;
  /** The call asks the shared encoder for this rate (null: it no longer asks). */
  onBitrate(kbps: number | null): Promise<void>;
  /** The far end's picture should come in simulcast layer `layer` (asked of the media server). */
  onLayer(layer: number): Promise<void>;
  onChange(): void;
  log: Logger;
  intervalMs?: number;
}

/**
 * webrtcbin's pads asked for statistics: one of each bin. (1.22 answers for a pad with every
 * stream of the bundle: asking both sending pads gave each stream twice.)
 */
const PADS = { sending: ['sink_0'], receiving: 'src_0' } as const;

/**
 * A call's quality, once a second while it runs: what arrives of the far end (frames shown, size,
 * rate, freezes, sound) and the link both ways from webrtcbin's statistics (RTCP: loss, round
 * trip, jitter). The sending rate follows the link — down on loss or queueing, up again after calm
 * seconds (AdaptiveBitrate, as live out does) — through the consultation's one encoder, whose
 * resolution ladder follows the rate.
 *
 * INVARIANTS: measuring runs only between start() and stop(); a reading that comes back after stop()
 * changes nothing; the ask on the encoder is withdrawn at stop().
 */
export class CallQuality {
  received: Received | null = null;
  private link: CallLink;
  /** The sending rate's controller: new for each call (a call starts at its ceiling). */
  private bitrate: AdaptiveBitrate;
  private timer: NodeJS.Timeout | null = null;
  private last: { at: number; rendered: number; bytesSent: number; bytesReceived: number } | null = null;
  private lastReceiving: { packets: number; lost: number } | null = null;
  /** The last receiver report acted on (its loss, fraction lost and round trip). */
  private lastReport: string | null = null;
  /** Packets resent and reported lost so far, as last acted on. */
  private actedOn = { resent: 0, lost: 0 };
  /** Packets lost on the way up, as the rate controller counts them (see adapt()). */
  private lossEvents = 0;
  /** The far end's layer, chosen by the loss of what arrives; null when it sends one size only. */
  private layers: ReceiveLayers | null = null;

  constructor(private readonly options: CallQualityOptions) {
    this.bitrate = this.controller();
    this.link = this.emptyLink();
    options.worker.onBusEvent((event) => {
      if (event.pipeline !== CALL_PIPELINES.in || event.kind !== 'level' || !this.received) return;
      const level = parseLevel(event.message);
      if (!level) return;
      this.received.audioSeconds += level.durationS;
      this.received.audioLevelDb = level.rmsDb;
    });
  }

  /** The link as last measured; the layer and the counters as they are now. */
  snapshot(): CallLink {
    return { ...this.link, receiveLayer: this.layers?.current ?? null, counters: this.counters() };
  }

  /** The call is in a room and sending: measure the link and follow it. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.measure(), this.options.intervalMs ?? 1000);
  }

  /**
   * A far end is being received from now on. One that publishes simulcast is received in the
   * largest size the link carries (the server starts on its largest).
   */
  receiving(o: { simulcast: boolean }): void {
    this.layers = o.simulcast ? new ReceiveLayers() : null;
    this.received = {
      framesRendered: 0,
      framesDropped: 0,
      width: null,
      height: null,
      fps: null,
      audioSeconds: 0,
      audioLevelDb: null,
      freezes: 0,
    };
    this.lastReceiving = null;
  }

  notReceiving(): void {
    this.received = null;
    this.layers = null;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.received = null;
    this.layers = null;
    this.last = null;
    this.lastReceiving = null;
    this.lastReport = null;
    this.actedOn = { resent: 0, lost: 0 };
    this.lossEvents = 0;
    this.bitrate = this.controller();
    this.link = this.emptyLink();
    await this.options.onBitrate(null).catch(() => {});
  }

  private controller(): AdaptiveBitrate {
    const { maxKbps } = this.options;
    // Random loss of a few per cent is the link, not congestion: only above 10 % does the rate
    // come down, and under 2 % it may go up (the loss-based half of Google's congestion control,
    // draft-ietf-rmcat-gcc §6). Lost packets are resent (NACK/RTX), so a few per cent costs little.
    return new AdaptiveBitrate({ maxKbps, minKbps: Math.min(200, maxKbps), lossDown: 0.1, lossUp: 0.02 });
  }

  private emptyLink(): CallLink {
    return {
      sendKbps: null,
      receiveKbps: null,
      sendLossPercent: null,
      receiveLossPercent: null,
      rttMs: null,
      jitterMs: null,
      targetKbps: this.bitrate.current,
      receiveLayer: null,
      counters: this.counters(),
    };
  }

  private counters(): CallLink['counters'] {
    return { ...this.bitrate.counters, layersDown: 0, layersUp: 0, ...this.layers?.counters };
  }

  private async measure(): Promise<void> {
    const { worker } = this.options;
    const receiving = this.received !== null;
    const [sending, incoming, sink, caps] = await Promise.all([
      Promise.all(
        PADS.sending.map((pad) =>
          worker.webrtcStats(CALL_PIPELINES.out, CALL_ELEMENTS.outWebrtc, pad).catch(() => []),
        ),
      ).then((lists) => lists.flat()),
      receiving
        ? worker.webrtcStats(CALL_PIPELINES.in, CALL_ELEMENTS.inWebrtc, PADS.receiving).catch(() => [])
        : [],
      receiving ? worker.stats(CALL_PIPELINES.in, CALL_ELEMENTS.farVideo).catch(() => '') : '',
      receiving ? worker.caps(CALL_PIPELINES.in, CALL_ELEMENTS.farVideo).catch(() => '') : '',
    ]);
    if (!this.timer) return;
    const stats: LinkStats = {
      sending: parseLinkStats(sending).sending,
      receiving: parseLinkStats(incoming).receiving,
    };
    const now = Date.now();
    const rendered = Number(/rendered=\(guint64\)(\d+)/.exec(sink)?.[1] ?? 0);
    const last = this.last;
    const seconds = last ? Math.max(0.001, (now - last.at) / 1000) : null;
    const kbps = (bytes: number, before: number | undefined) =>
      seconds && before !== undefined ? Math.round(((bytes - before) * 8) / 1000 / seconds) : null;
    this.updateReceived(sink, caps, rendered, last?.rendered ?? null, seconds);
    const lossNow = this.receiveLoss(stats);
    this.link = {
      sendKbps: stats.sending ? kbps(stats.sending.totalBytesSent, last?.bytesSent) : null,
      receiveKbps: stats.receiving ? kbps(stats.receiving.bytesReceived, last?.bytesReceived) : null,
      sendLossPercent:
        stats.sending?.fractionLost != null ? Math.round(stats.sending.fractionLost * 1000) / 10 : null,
      receiveLossPercent: lossNow,
      rttMs: stats.sending?.rttMs ?? null,
      jitterMs: stats.receiving?.jitterMs ?? null,
      targetKbps: this.bitrate.current,
      receiveLayer: null,
      counters: this.counters(),
    };
    this.last = {
      at: now,
      rendered,
      bytesSent: stats.sending?.totalBytesSent ?? 0,
      bytesReceived: stats.receiving?.bytesReceived ?? 0,
    };
    await Promise.all([this.adapt(stats), this.chooseLayer(lossNow)]);
    this.options.onChange();
  }

  /** The far end's layer follows the loss of what arrives (simulcast only). */
  private async chooseLayer(lossPercent: number | null): Promise<void> {
    const layers = this.layers;
    if (!layers || !this.received) return;
    const next = layers.update({ lossPercent, fps: this.received.fps });
    if (next === null) return;
    this.options.log.info(
      { layer: next, lossPercent, fps: this.received.fps },
      "asking for the far end's picture in another size",
    );
    await this.options
      .onLayer(next)
      .catch((error: unknown) =>
        this.options.log.warn(
          { err: (error as Error).message },
          "the far end's picture size could not be changed",
        ),
      );
  }

  private updateReceived(
    sink: string,
    caps: string,
    rendered: number,
    before: number | null,
    seconds: number | null,
  ): void {
    const received = this.received;
    if (!received) return;
    if (seconds !== null && before !== null) {
      received.fps = Math.round(((rendered - before) * 10) / seconds) / 10;
      // A picture that had started and showed nothing for a second: a freeze.
      if (rendered === before && received.framesRendered > 0) received.freezes++;
    }
    received.framesRendered = rendered;
    received.framesDropped = Number(/dropped=\(guint64\)(\d+)/.exec(sink)?.[1] ?? 0);
    const size = parseVideoCaps(caps);
    received.width = size?.width ?? null;
    received.height = size?.height ?? null;
  }

  /** Loss of what we receive over the last second, %. */
  private receiveLoss(stats: LinkStats): number | null {
    const r = stats.receiving;
    if (!r) return null;
    const before = this.lastReceiving;
    this.lastReceiving = { packets: r.packetsReceived, lost: r.packetsLost };
    if (!before) return null;
    const received = r.packetsReceived - before.packets;
    const lost = Math.max(0, r.packetsLost - before.lost);
    return received + lost > 0 ? Math.round((lost / (received + lost)) * 1000) / 10 : null;
  }

  /**
   * The far end's receiver reports decide our rate (loss, and the round trip growing: queueing),
   * and so do its requests to resend (NACK), which come within a round trip of a loss. A second
   * with neither a new report nor a resent packet is not news: it is not taken for a calm second
   * (reports come only every few seconds), and the loss is counted over the time since the last
   * news. (Acting on reports alone, a call that started at 1 Mbit/s on a 400 kbit/s link took
   * 20 s to come down to what the link carries; Janus's reports came about every 5 s.)
   *
   * The loss of an interval is the larger of what the far end reports lost and what it asked to
   * be resent, not their sum: Janus counts a packet lost even when its resent copy arrived, and
   * the sum read 5 % random loss as 11–17 % — congestion — and took the picture to the floor.
   */
  private async adapt(stats: LinkStats): Promise<void> {
    const s = stats.sending;
    if (!s || s.packetsLost === null) return;
    const report = `${s.packetsLost}/${s.fractionLost}/${s.rttMs}`;
    const resent = s.retransmitted !== this.actedOn.resent;
    if (report === this.lastReport && !resent) return;
    this.lastReport = report;
    const before = this.actedOn;
    this.actedOn = { resent: s.retransmitted, lost: s.packetsLost };
    this.lossEvents += Math.max(0, s.retransmitted - before.resent, s.packetsLost - before.lost);
    const next = this.bitrate.update({
      packetsSent: s.packetsSent,
      retransmitted: 0,
      lost: this.lossEvents,
      rttMs: s.rttMs,
    });
    if (next === null) return;
    this.link.targetKbps = next;
    this.options.log.info(
      { kbps: next, loss: this.bitrate.lastLoss, rttMs: this.bitrate.lastRttMs },
      'call bitrate adapted to the link',
    );
    await this.options
      .onBitrate(next)
      .catch((error: unknown) =>
        this.options.log.warn({ err: (error as Error).message }, 'the call bitrate could not be changed'),
      );
  }
}
