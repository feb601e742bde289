import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config, DataCentreId } from '../config/schema.ts';
import type { EventBus } from '../events.ts';
import {
  CALL_ECHO_CONTROL,
  CALL_ELEMENTS,
  CALL_PIPELINES,
  CALL_REQUIRES,
  type CallControls,
  type CallMedia,
  chooseDecoder,
  inSpec,
  isDisplayElement,
  outSpec,
} from '../media/call-pipelines.ts';
import { PLACEHOLDER, type PlaceholderReason, placeholderSpec } from '../media/call-placeholder.ts';
import type { CameraRole, Consultation } from '../media/consultation.ts';
import type { EncoderSelector } from '../media/encoder-selection.ts';
import type { PortRange, ProbeResult } from '../media/ipc.ts';
import { type BusEvent, MediaWorkerError } from '../media/media-worker.ts';
import type { ElementSpec, PipelineSpec } from '../media/pipeline-spec.ts';
import type { Service } from '../service.ts';
import { type CallLink, CallQuality, type Received } from './call-quality.ts';
import { JanusRoom, type RoomPublisher, type Subscription } from './janus-room.ts';

/** How long a call waits for a starting media worker. */
const WORKER_READY_MS = 60_000;

/** The media worker as a call uses it (the real one, or a test's). */
export interface CallWorker {
  /** Resolves once the worker is up (at once when it is). */
  ready(): Promise<void>;
  probe(): Promise<ProbeResult>;
  startPipeline(spec: PipelineSpec): Promise<void>;
  stopPipeline(name: string): Promise<void>;
  pump(
    from: { pipeline: string; element: string },
    to: { pipeline: string; element: string },
    start?: 'last-key-frame' | 'next-key-frame',
    onSourceGone?: 'end' | 'wait',
    timeline?: 'source' | 'target',
    replace?: boolean,
  ): Promise<void>;
  stats(pipeline: string, element: string): Promise<string>;
  caps(pipeline: string, element: string): Promise<string>;
  setProperties(
    pipeline: string,
    element: string,
    props: Record<string, string | number | boolean>,
  ): Promise<void>;
  frame(pipeline: string, element: string): Promise<{ jpeg: Uint8Array; shownAt: number | null }>;
  webrtcOffer(pipeline: string, element: string, streams: number, ports?: PortRange): Promise<string>;
  webrtcRemoteAnswer(pipeline: string, element: string, sdp: string): Promise<void>;
  webrtcAnswer(pipeline: string, element: string, sdp: string, ports?: PortRange): Promise<string>;
  webrtcStats(pipeline: string, element: string, pad: string): Promise<string[]>;
  onBusEvent(listener: (event: BusEvent) => void): () => void;
}

/**
 * idle: no call. joining: reaching a media server and publishing. in-call: we are in the room
 * (`remote` says whether the specialist is there too). reconnecting: the media server was lost;
 * the call comes back by itself (the other data centre's server when ours stays away). leaving.
 */
export type CallState = 'idle' | 'joining' | 'in-call' | 'reconnecting' | 'leaving';

export class CallError extends Error {
  constructor(
    readonly code: 'NOT_CONFIGURED' | 'BUSY' | 'NOT_IN_CALL' | 'UNREACHABLE' | 'MEDIA' | 'BAD_CONTROL',
    message: string,
  ) {
    super(message);
    this.name = 'CallError';
  }
}

export interface CallSnapshot {
  state: CallState;
  /** The data centre whose media server the call is on. */
  server: DataCentreId | null;
  room: number | null;
  /** Since when the call has been in this room (ISO), while in a call. */
  since: string | null;
  /** The far end (its display name) while it publishes into the room. */
  remote: { display: string; since: string } | null;
  /** The far end as decoded and played here, while subscribed. */
  received: Received | null;
  /** The link both ways while in a room (bitrates, loss, round trip, jitter, the adapted rate). */
  link: CallLink | null;
  echoControl: boolean;
  /**
   * What staff set: the microphone muted, the camera off, the loudspeaker's volume; and the camera
   * shown (room or document camera; null while the camera is not running).
   */
  controls: CallControls & { camera: CameraRole | null };
  /**
   * What the far end is sent as our picture: the camera, or the placeholder and why (the camera
   * unplugged, or turned off by staff); null outside a room.
   */
  picture: PictureSource | null;
  /**
   * Where the specialist's picture is drawn: the kiosk (frames from the local API) or the board's
   * overlay; the kiosk, saying why, when the overlay failed during this call.
   */
  farEndDisplay:
    | { kind: 'kiosk'; overlayFailure?: string }
    | { kind: 'overlay'; rectangle: { x: number; y: number; width: number; height: number } };
  lastError: string | null;
  counters: {
    calls: number;
    reconnects: number;
    failovers: number;
    subscriptions: number;
    slowLinks: number;
    /** Messages from a media server refused by the signalling guard (malformed or hostile). */
    refusedMessages: number;
  };
}

/** Where the call's picture comes from. */
export type PictureSource = 'camera' | PlaceholderReason;

export interface CallServiceOptions {
  config: Config;
  worker: CallWorker;
  consultation: Pick<
    Consultation,
    | 'start'
    | 'encoderTap'
    | 'microphoneSource'
    | 'sharedMicrophone'
    | 'state'
    | 'requestBitrate'
    | 'size'
    | 'selectCamera'
    | 'activeCamera'
  >;
  /** The placeholder picture is encoded by the encoder the camera uses. */
  encoders: Pick<EncoderSelector, 'current'>;
  bus: EventBus;
  log: Logger;
  /** Janus signalling; injectable for tests. */
  joinRoom?: typeof JanusRoom.join;
  clock?: () => Date;
}

const RECONNECT = { initialMs: 1000, maxMs: 15_000 };
/** call-in failing by itself more often than this in one call is not a passing fault: given up. */
const FAR_END_FAILURES_MAX = 3;
/** ICE and DTLS with a media server take well under a second on a county link; this is the limit. */
const MEDIA_UP_TIMEOUT_MS = 15_000;
/** Subscribing to a far end that is still setting up its own media fails ("no such feed"): tried again. */
const SUBSCRIBE_TRIES = 5;

/**
 * Two-way consultation calls: the terminal publishes its camera and microphone into the room of
 * a province media server (Janus VideoRoom, the home data centre's first) and receives whoever
 * else publishes there — the specialist. Signalling is here (janode); media is in the media
 * worker (webrtcbin), in the three pipelines of call-pipelines.ts.
 *
 * INVARIANTS: one call at a time; `state` changes only here and each change is announced; the
 * room's events are acted on only while it is the current room; pipelines are stopped whenever
 * the call leaves a room, so a new visit starts clean.
 */
export class CallService implements Service<CallSnapshot> {
  readonly name = 'call';
  private state: CallState = 'idle';
  private server: DataCentreId | null = null;
  private roomNo: number | null = null;
  private room: JanusRoom | null = null;
  private subscription: Subscription | null = null;
  private remote: { feed: number; display: string; since: string; simulcast: boolean } | null = null;
  /**
   * Why the board's overlay failed during this call, or null. From then on the call draws the
   * specialist through the kiosk (frames from the local API), a rejoin included; the next call
   * tries the overlay again.
   */
  private overlayFailure: string | null = null;
  /** Times call-in ended by itself in this call; each is re-subscribed, up to FAR_END_FAILURES_MAX. */
  private farEndFailures = 0;
  private since: string | null = null;
  private lastError: string | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private attempt = 0;
  private readonly counters = {
    calls: 0,
    reconnects: 0,
    failovers: 0,
    subscriptions: 0,
    slowLinks: 0,
    refusedMessages: 0,
  };
  private readonly quality: CallQuality;
  private echoControl = false;
  /** What this call asked for: echo control unless a headset is worn. */
  private wantEchoControl = true;
  /** Set by staff during a call; a new call starts unmuted, camera on, at full volume. */
  private controls: CallControls = { muted: false, cameraOff: false, volume: 1 };
  /** What this visit's pipelines were built with (decoder, microphone, speaker), for its subscriptions. */
  private callMedia: CallMedia | null = null;
  /** What call-out's video appsrc is fed from now (null: nothing, or no call-out). */
  private picture: PictureSource | null = null;
  /** Picture switches, one after another: each starts from what the last one left. */
  private pictureSwitches: Promise<void> = Promise.resolve();
  private readonly ssrc = { video: randomInt(1, 2 ** 31), audio: randomInt(1, 2 ** 31) };
  private readonly joinRoom: typeof JanusRoom.join;
  private readonly clock: () => Date;

  constructor(private readonly options: CallServiceOptions) {
    this.joinRoom = options.joinRoom ?? ((o) => JanusRoom.join(o));
    this.clock = options.clock ?? (() => new Date());
    this.quality = new CallQuality({
      worker: options.worker,
      // The call's ceiling, and never above what the one encode is set to.
      maxKbps: Math.min(options.config.call.bitrateKbps, options.config.media.bitrateKbps),
      onBitrate: (kbps) => options.consultation.requestBitrate('call', kbps),
      onLayer: async (layer) => {
        await this.subscription?.selectLayer(layer);
      },
      // The kiosk shows what arrives (size, rate, sound): once a second while in a call.
      onChange: () => options.bus.emit({ type: 'changed', part: 'call' }),
      log: options.log,
    });
  }

  /**
   * The camera's pipeline can end mid-call (camera unplugged, encoder replaced, media worker
   * restarted): the call stays, its video appsrc open ('wait'), the far end sees the placeholder,
   * and the camera's picture goes out again as soon as the camera is live again.
   */
  start(): void {
    this.options.worker.onBusEvent((event) => this.farEndFailed(event));
    this.options.bus.on(this.name, 'consultation', () => {
      if (this.room && (this.state === 'in-call' || this.state === 'joining')) void this.updatePicture();
    });
  }

  /** What the far end should see now. */
  private wantedPicture(): PictureSource {
    if (this.controls.cameraOff) return 'camera-off';
    return this.options.consultation.state === 'live' ? 'camera' : 'camera-lost';
  }

  /**
   * Feeds call-out's picture from what it should be now, one switch at a time. A failure is logged
   * (the call goes on, its picture frozen at the far end) unless `rethrow` (a call being placed).
   */
  private updatePicture(rethrow = false): Promise<void> {
    const next = this.pictureSwitches.then(() => this.switchPicture());
    this.pictureSwitches = next.catch((error: unknown) => {
      this.options.log.warn({ err: (error as Error).message }, "the call's picture could not be switched");
    });
    return rethrow ? next : this.pictureSwitches;
  }

  /**
   * The camera: the consultation encoder's output, from its next key frame (asked for now). The
   * placeholder: its own small pipeline (call-placeholder.ts), started for the reason it shows.
   * Either replaces the other's feed into the same appsrc, so the session carries on.
   */
  private async switchPicture(): Promise<void> {
    if (!this.callMedia) return;
    const wanted = this.wantedPicture();
    if (wanted === this.picture) return;
    const { worker, consultation, log } = this.options;
    const to = { pipeline: CALL_PIPELINES.out, element: CALL_ELEMENTS.videoSrc };
    if (wanted === 'camera') {
      await worker.pump(consultation.encoderTap, to, 'next-key-frame', 'wait', 'target', true);
      this.picture = wanted;
      await worker.stopPipeline(PLACEHOLDER.pipeline).catch(() => {});
    } else {
      const encoder = this.options.encoders.current;
      if (!encoder) throw new CallError('MEDIA', 'no H.264 encoder for the placeholder picture');
      await worker.stopPipeline(PLACEHOLDER.pipeline).catch(() => {});
      await worker.startPipeline(placeholderSpec({ encoder, size: consultation.size, reason: wanted }));
      await worker.pump(
        { pipeline: PLACEHOLDER.pipeline, element: PLACEHOLDER.tap },
        to,
        'next-key-frame',
        'wait',
        'target',
        true,
      );
      this.picture = wanted;
    }
    log.info({ picture: wanted }, "the call's picture switched");
    this.options.bus.emit({ type: 'changed', part: 'call' });
  }

  async stop(): Promise<void> {
    this.options.bus.off(this.name);
    if (this.state !== 'idle') await this.hangUp('the terminal is stopping');
  }

  /** Whether this terminal can call at all (a media server configured). */
  get configured(): boolean {
    const { A, B } = this.options.config.call.servers;
    return A !== null || B !== null;
  }

  snapshot(): CallSnapshot {
    return {
      state: this.state,
      server: this.server,
      room: this.roomNo,
      since: this.since,
      remote: this.remote ? { display: this.remote.display, since: this.remote.since } : null,
      received: this.quality.received ? { ...this.quality.received } : null,
      link: this.state === 'in-call' ? this.quality.snapshot() : null,
      echoControl: this.echoControl,
      controls: { ...this.controls, camera: this.options.consultation.activeCamera },
      picture: this.room ? this.picture : null,
      farEndDisplay: this.farEndDisplay(),
      lastError: this.lastError,
      counters: { ...this.counters },
    };
  }

  /**
   * Calls: joins `room` (the duty specialist's by default), camera and microphone on; echo control
   * as configured unless `echoControl` says otherwise for this call (a headset).
   */
  async call(
    room = this.options.config.call.room,
    echoControl = this.options.config.call.echoControl,
  ): Promise<CallSnapshot> {
    if (!this.configured)
      throw new CallError('NOT_CONFIGURED', 'no media server is configured: this terminal cannot make calls');
    if (this.state !== 'idle') throw new CallError('BUSY', `a call is already ${this.state}`);
    this.roomNo = room;
    this.wantEchoControl = echoControl;
    this.controls = { muted: false, cameraOff: false, volume: 1 };
    this.overlayFailure = null;
    this.farEndFailures = 0;
    this.counters.calls++;
    this.setState('joining');
    try {
      await this.enterRoom();
    } catch (error) {
      await this.teardown();
      this.lastError = (error as Error).message;
      this.roomNo = null;
      this.setState('idle');
      throw error instanceof CallError ? error : new CallError('UNREACHABLE', (error as Error).message);
    }
    return this.snapshot();
  }

  /**
   * The far end's newest picture as JPEG (the kiosk shows it), and when the terminal showed it
   * (wall-clock ms).
   */
  async farEndFrame(): Promise<{ jpeg: Uint8Array; shownAt: number | null }> {
    if (!this.subscription) throw new CallError('NOT_IN_CALL', 'no far end is being received');
    return this.options.worker.frame(CALL_PIPELINES.in, CALL_ELEMENTS.farVideo);
  }

  /**
   * In-call controls: the microphone muted or not, the camera off or on, the loudspeaker's volume
   * (0–1). They hold for the
   * rest of the call, a rejoin included; applied at once while the call's pipelines run.
   */
  async setControls(request: Partial<CallControls> & { camera?: CameraRole }): Promise<CallSnapshot> {
    if (this.state === 'idle') throw new CallError('NOT_IN_CALL', 'there is no call to control');
    const { camera, ...change } = request;
    if (change.volume !== undefined && !(change.volume >= 0 && change.volume <= 1))
      throw new CallError('BAD_CONTROL', `volume must be from 0 to 1 (got ${change.volume})`);
    // The camera switch is the consultation's (one encode for the call, the recording and live
    // out): the far end sees the other camera from the next frame, without renegotiating.
    if (camera !== undefined) await this.options.consultation.selectCamera(camera);
    this.controls = { ...this.controls, ...change };
    if (this.callMedia) {
      const { worker } = this.options;
      if (change.muted !== undefined && this.callMedia.microphone)
        await worker.setProperties(CALL_PIPELINES.out, CALL_ELEMENTS.mute, { mute: change.muted });
      if (change.volume !== undefined)
        await worker.setProperties(CALL_PIPELINES.out, CALL_ELEMENTS.volume, { volume: change.volume });
      if (change.cameraOff !== undefined) await this.updatePicture();
    }
    this.options.log.info({ controls: this.controls }, 'call controls set');
    this.options.bus.emit({ type: 'changed', part: 'call' });
    return this.snapshot();
  }

  /** Ends the call: leaves the room, stops the call's pipelines (the camera stays as it was). */
  async hangUp(reason = 'ended by staff'): Promise<void> {
    if (this.state === 'idle') throw new CallError('NOT_IN_CALL', 'there is no call to end');
    const wasInCall = this.since !== null;
    this.setState('leaving');
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    await this.teardown();
    if (wasInCall) this.options.bus.emit({ type: 'call', event: 'ended', server: this.server, reason });
    this.options.log.info({ reason }, 'call ended');
    this.server = null;
    this.roomNo = null;
    this.since = null;
    this.setState('idle');
  }

  /** The home data centre's media server first, then the other; a failure of both is the caller's. */
  private async enterRoom(): Promise<void> {
    const { servers } = this.options.config.call;
    const home = this.options.config.dataCentres.home;
    const order = ([home, home === 'A' ? 'B' : 'A'] as DataCentreId[]).filter((dc) => servers[dc] !== null);
    // A call pressed while the terminal boots (or its media worker restarts) waits for the worker.
    let waited: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      waited = setTimeout(
        () => reject(new CallError('MEDIA', 'the media worker did not start in 60 s: see the video status')),
        WORKER_READY_MS,
      );
    });
    await Promise.race([this.options.worker.ready(), late]).finally(() => clearTimeout(waited));
    const failures: string[] = [];
    for (const dc of order) {
      try {
        await this.enter(dc, servers[dc] as string);
        if (dc !== home) this.counters.failovers++;
        return;
      } catch (error) {
        failures.push(`${dc}: ${(error as Error).message}`);
        this.options.log.warn({ server: dc, err: (error as Error).message }, 'media server not reachable');
        await this.teardown();
      }
    }
    throw new CallError('UNREACHABLE', `no media server could be reached (${failures.join('; ')})`);
  }

  private async enter(dc: DataCentreId, url: string): Promise<void> {
    const { worker, consultation, config, log } = this.options;
    const room = this.roomNo as number;
    const media = await this.media();
    this.callMedia = media;
    await consultation.start();
    // The consultation's own capture when it has one (a microphone opens once); else our own.
    media.microphone = consultation.sharedMicrophone() ?? media.microphone;
    await worker.startPipeline(outSpec(media));
    this.picture = null;
    await this.updatePicture(true);
    const joined = await this.joinRoom({
      url,
      room,
      display: config.device.id,
      log,
      events: {
        publishers: (list) => {
          if (this.room === joined) this.publishers(list);
        },
        gone: (feed) => {
          if (this.room === joined && this.remote?.feed === feed) void this.remoteGone();
        },
        closed: (reason) => {
          if (this.room === joined) void this.lost(reason);
        },
        slowLink: () => {
          this.counters.slowLinks++;
        },
        refused: () => {
          this.counters.refusedMessages++;
        },
      },
    });
    this.room = joined;
    const offer = await worker.webrtcOffer(
      CALL_PIPELINES.out,
      CALL_ELEMENTS.outWebrtc,
      media.microphone ? 2 : 1,
      config.call.udpPorts ?? undefined,
    );
    const answer = await joined.publish(offer, {
      audio: media.microphone !== null,
      bitrateKbps: config.call.bitrateKbps,
    });
    await worker.webrtcRemoteAnswer(CALL_PIPELINES.out, CALL_ELEMENTS.outWebrtc, answer);
    await joined.mediaUp(MEDIA_UP_TIMEOUT_MS);
    this.server = dc;
    const first = this.since === null;
    this.since ??= this.clock().toISOString();
    this.attempt = 0;
    this.lastError = null;
    this.setState('in-call');
    log.info({ server: dc, room, feed: joined.feed }, 'in the call');
    if (first) this.options.bus.emit({ type: 'call', event: 'started', server: dc, reason: null });
    this.quality.start();
    this.publishers(joined.initial);
  }

  /** Where the specialist's picture is drawn (config call.farEndDisplay), as the status says it. */
  private farEndDisplay(): CallSnapshot['farEndDisplay'] {
    const d = this.options.config.call.farEndDisplay;
    if (d.kind === 'kiosk') return { kind: 'kiosk' };
    if (this.overlayFailure) return { kind: 'kiosk', overlayFailure: this.overlayFailure };
    return { kind: 'overlay', rectangle: { ...d.rectangle } };
  }

  /** The call's media as this terminal can make it: decoder, microphone, speaker, echo control. */
  private async media(): Promise<CallMedia> {
    const { worker, consultation, config } = this.options;
    const probe = await worker.probe();
    const decoder = chooseDecoder(new Set(probe.decoders));
    if (!decoder) throw new CallError('MEDIA', 'no H.264 decoder: the far end could not be seen');
    const missing = CALL_REQUIRES.filter((e) => !probe.callElements.includes(e));
    if (missing.length > 0)
      throw new CallError(
        'MEDIA',
        `GStreamer lacks ${missing.join(', ')}: calls are not possible on this image`,
      );
    this.echoControl = this.wantEchoControl && CALL_ECHO_CONTROL.every((e) => probe.callElements.includes(e));
    const mic = await consultation.microphoneSource();
    return {
      ssrc: this.ssrc,
      microphone: mic?.elements ?? null,
      speaker: speakerElements(config.call.speaker),
      decoder,
      display:
        config.call.farEndDisplay.kind === 'overlay' && !this.overlayFailure
          ? config.call.farEndDisplay
          : null,
      latencyMs: config.call.latencyMs,
      echoControl: this.echoControl,
      controls: { ...this.controls },
    };
  }

  /** The first publisher that is not us is the far end; it is subscribed to. */
  private publishers(list: RoomPublisher[]): void {
    if (this.remote || !this.room) return;
    const other = list.find((p) => p.feed !== this.room?.feed);
    if (!other) return;
    this.remote = {
      feed: other.feed,
      display: other.display,
      since: this.clock().toISOString(),
      simulcast: other.simulcast,
    };
    this.options.bus.emit({ type: 'changed', part: 'call' });
    this.receive(other);
  }

  /** Subscribes to the far end (with retries); when that fails for good, says so and lets it go. */
  private receive(publisher: RoomPublisher): void {
    void this.subscribeWithRetries(publisher).catch((error: unknown) => {
      this.options.log.error(
        { err: (error as Error).message, feed: publisher.feed },
        'the far end could not be received',
      );
      this.lastError = `the specialist's picture and sound could not be received: ${(error as Error).message}`;
      this.remote = null;
      this.options.bus.emit({ type: 'changed', part: 'call' });
    });
  }

  /**
   * call-in ended by itself (the worker stops a pipeline on its first error): the board's display
   * failing (an overlay sink losing its plane or its compositor), a decoder fault. The far end is
   * received again at once, without the overlay when it was the overlay that failed — the kiosk
   * then draws the specialist, and says why. Other failures are retried a few times per call.
   */
  private farEndFailed(event: BusEvent): void {
    if (event.pipeline !== CALL_PIPELINES.in || event.kind !== 'error') return;
    // Only a running subscription's pipeline: a failure while subscribing is subscribe()'s.
    const remote = this.remote;
    if (!this.subscription || !remote || !this.callMedia) return;
    const reason = `${event.element ?? CALL_PIPELINES.in}: ${event.message}`;
    if (this.callMedia.display && isDisplayElement(event.element)) this.overlayFailed(reason);
    else if (++this.farEndFailures > FAR_END_FAILURES_MAX) {
      this.lastError = `the specialist's picture and sound stopped: ${reason}`;
      this.options.log.error({ reason }, 'the far end keeps failing: not received again in this call');
      this.options.bus.emit({ type: 'changed', part: 'call' });
      return;
    } else this.options.log.warn({ reason }, 'the far end stopped: receiving it again');
    const subscription = this.subscription;
    this.subscription = null;
    this.quality.notReceiving();
    void subscription.close().catch(() => {});
    this.receive({ feed: remote.feed, display: remote.display, simulcast: remote.simulcast });
  }

  /** The board's overlay failed: this call's picture goes to the kiosk from now on. */
  private overlayFailed(reason: string): void {
    this.overlayFailure = reason;
    if (this.callMedia) this.callMedia = { ...this.callMedia, display: null };
    this.options.log.warn({ reason }, "the board's display failed: the kiosk shows the specialist instead");
    this.options.bus.emit({ type: 'changed', part: 'call' });
  }

  /** Subscribes, trying again (1, 2, 4, 8 s) while the far end is still in the room. */
  private async subscribeWithRetries(publisher: RoomPublisher): Promise<void> {
    const room = this.room;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.subscribe(publisher);
        return;
      } catch (error) {
        const stillThere = this.room === room && this.remote?.feed === publisher.feed;
        if (attempt >= SUBSCRIBE_TRIES || !stillThere) throw error;
        this.options.log.warn(
          { feed: publisher.feed, attempt, err: (error as Error).message },
          'the far end cannot be received yet; trying again',
        );
        await new Promise((r) => setTimeout(r, 1000 * 2 ** (attempt - 1)));
        if (this.room !== room || this.remote?.feed !== publisher.feed) return;
      }
    }
  }

  private async subscribe(publisher: RoomPublisher): Promise<void> {
    const { worker } = this.options;
    const room = this.room;
    const media = this.callMedia;
    if (!room || !media) return;
    await worker.stopPipeline(CALL_PIPELINES.in).catch(() => {});
    try {
      await worker.startPipeline(inSpec(media));
    } catch (error) {
      // The overlay sink refusing to start (no display plane, no compositor) costs the overlay,
      // not the specialist: call-in is built again without it.
      if (!(media.display && error instanceof MediaWorkerError && isDisplayElement(error.element)))
        throw error;
      this.overlayFailed(error.message);
      await worker.startPipeline(inSpec({ ...media, display: null }));
    }
    const subscription = await room.subscribe(this.roomNo as number, publisher.feed);
    if (this.room !== room) {
      await subscription.close();
      return;
    }
    this.subscription = subscription;
    const answer = await worker.webrtcAnswer(
      CALL_PIPELINES.in,
      CALL_ELEMENTS.inWebrtc,
      subscription.offerSdp,
      this.options.config.call.udpPorts ?? undefined,
    );
    await subscription.start(answer);
    this.counters.subscriptions++;
    this.quality.receiving({ simulcast: publisher.simulcast });
    this.options.log.info({ feed: publisher.feed, display: publisher.display }, 'receiving the far end');
    this.options.bus.emit({ type: 'changed', part: 'call' });
  }

  private async remoteGone(): Promise<void> {
    this.options.log.info({ display: this.remote?.display }, 'the far end left the room');
    this.remote = null;
    this.quality.notReceiving();
    await this.subscription?.close();
    this.subscription = null;
    await this.options.worker.stopPipeline(CALL_PIPELINES.in).catch(() => {});
    this.options.bus.emit({ type: 'changed', part: 'call' });
  }

  /** The media server went away: leave cleanly, then come back (backing off; the other server after two tries). */
  private async lost(reason: string): Promise<void> {
    if (this.state !== 'in-call' && this.state !== 'joining') return;
    this.lastError = reason;
    this.setState('reconnecting');
    await this.teardown();
    this.scheduleRejoin();
  }

  private scheduleRejoin(): void {
    const delay =
      Math.min(RECONNECT.maxMs, RECONNECT.initialMs * 2 ** this.attempt) * (0.8 + Math.random() * 0.4);
    this.attempt++;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.state !== 'reconnecting') return;
      this.counters.reconnects++;
      void this.enterRoom().catch(async (error: unknown) => {
        this.lastError = (error as Error).message;
        await this.teardown();
        if (this.state === 'reconnecting') this.scheduleRejoin();
      });
    }, delay);
  }

  /** Leaves the room (if any) and stops every call pipeline. */
  private async teardown(): Promise<void> {
    const room = this.room;
    this.room = null;
    this.callMedia = null;
    // A switch under way finishes first (seeing no call-out it does nothing more), so a
    // placeholder it started is stopped below with the rest.
    await this.pictureSwitches;
    this.picture = null;
    this.subscription = null;
    this.remote = null;
    await this.quality.stop();
    await room?.leave().catch(() => {});
    for (const pipeline of [CALL_PIPELINES.in, CALL_PIPELINES.out, PLACEHOLDER.pipeline])
      await this.options.worker.stopPipeline(pipeline).catch(() => {});
  }

  private setState(state: CallState): void {
    this.state = state;
    this.options.bus.emit({ type: 'changed', part: 'call' });
  }
}

/** The configured loudspeaker as sink elements; the last one is the sink (`sink`). */
function speakerElements(speaker: Config['call']['speaker']): ElementSpec[] {
  switch (speaker.kind) {
    case 'auto':
      return [{ id: 'sink', factory: 'autoaudiosink' }];
    case 'none':
      return [{ id: 'sink', factory: 'fakesink', props: { sync: true } }];
    case 'elements':
      return speaker.elements.map((e, i, all) => (i === all.length - 1 ? { ...e, id: 'sink' } : e));
  }
}
