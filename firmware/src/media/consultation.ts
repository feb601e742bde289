import type { Logger } from 'pino';
import type { VideoIngest } from '../ingest/video-ingest.ts';
import type { ConsultationStudies } from '../study/consultation-studies.ts';
import {
  audioChain,
  chooseMicrophone,
  type MicrophoneConfig,
  type MicrophoneInfo,
  microphoneElements,
  sharedMicrophoneElements,
} from './audio.ts';
import {
  type CameraConfig,
  type CameraRole,
  type DocumentCameraConfig,
  type FoundCamera,
  findCameras,
} from './camera-finder.ts';
import { sourceChain } from './camera-source.ts';
import {
  CAMERA_INPUTS,
  type ConsultationTarget,
  cameraPads,
  consultationSpec,
  ELEMENTS,
  encodeCaps,
  type LiveOutConfig,
} from './consultation-pipeline.ts';
import type { EncoderSelector } from './encoder-selection.ts';
import type { CameraInfo, ElementRef } from './ipc.ts';
import { LiveOut } from './live-out.ts';
import { type BusEvent, MediaWorkerError } from './media-worker.ts';
import type { ElementSpec, PipelineSpec } from './pipeline-spec.ts';
import { ladder, rungFor, type Size } from './resolution-ladder.ts';
import { VideoError } from './video-error.ts';

export type { CameraConfig, CameraRole, DocumentCameraConfig } from './camera-finder.ts';
export type { LiveOutConfig } from './consultation-pipeline.ts';
export { VideoError } from './video-error.ts';

/** The media worker as the consultation and the recorder use it (the real one, or a test's). */
export interface VideoWorker {
  startPipeline(spec: PipelineSpec): Promise<void>;
  finishPipeline(name: string): Promise<void>;
  stopPipeline(name: string): Promise<void>;
  snapshot(pipeline: string, element: string): Promise<Uint8Array>;
  setProperties(
    pipeline: string,
    element: string,
    props: Record<string, string | number | boolean>,
  ): Promise<void>;
  selectInput(
    pipeline: string,
    selector: string,
    input: { pad: string; open: string; close: string[] },
  ): Promise<void>;
  pump(from: ElementRef, to: ElementRef, start?: 'last-key-frame' | 'next-key-frame'): Promise<void>;
  stats(pipeline: string, element: string): Promise<string>;
  onBusEvent(listener: (event: BusEvent) => void): () => void;
  cameras(): Promise<CameraInfo[]>;
  microphones(): Promise<MicrophoneInfo[]>;
}

/** 'waiting': the camera went away while in use; it is started again when it comes back. */
export type ConsultationState = 'off' | 'starting' | 'live' | 'stopping' | 'waiting';

export interface ConsultationOptions {
  worker: VideoWorker;
  encoders: EncoderSelector;
  /** The open study: stills and recordings go into whichever study is open when they are taken. */
  studies: Pick<ConsultationStudies, 'current'>;
  ingest: VideoIngest;
  camera: CameraConfig;
  /** The document camera beside it, when the clinic has one (default none). */
  documentCamera?: DocumentCameraConfig;
  /** Sound for live out and recordings; absent means none. */
  microphone?: MicrophoneConfig;
  live: LiveOutConfig;
  target: ConsultationTarget;
  log: Logger;
  /**
   * The pipeline failed on its own (not a stop we asked for): the camera went away, the encoder
   * failed, or the media worker died.
   */
  onLost(reason: string, cause: 'camera' | 'encoder' | 'worker'): void;
  /** A lost camera is back and the consultation video runs again. */
  onBack(camera: string): void;
  onChange(): void;
  /** How often a lost camera is looked for (default 1 s). */
  presencePollMs?: number;
}

export const CONSULTATION_PIPELINE = 'consultation';
/** How long a start waits for the encoder still being chosen at start-up. */
const ENCODER_WAIT_MS = 60_000;

/**
 * The consultation's camera pipeline: live out, kiosk preview, stills, and the encoded tap that
 * recordings are fed from. It runs from "start video" to "stop video", with or without a recording.
 *
 * INVARIANTS: one pipeline at a time; `state` is 'off' whenever it is not running; a failure the
 * pipeline reports itself (camera unplugged, encoder error) ends it and is told through onLost.
 */
export class Consultation {
  state: ConsultationState = 'off';
  lastError: string | null = null;
  /** The camera shown: the discovered device's name, or 'rig test camera'. */
  camera: string | null = null;
  /** The cameras in the running pipeline (the room camera first), and which of them is shown. */
  cameras: FoundCamera[] = [];
  activeCamera: CameraRole | null = null;
  /** Each camera's pad on the selector in the running pipeline (set by which was shown at start). */
  private cameraPads = cameraPads('room');
  /** The camera staff chose last: shown whenever it is connected, kept across restarts. */
  private wantedCamera: CameraRole = 'room';
  /**
   * The microphone recorded and sent with the video: its name, or null when there is none (or no
   * AAC encoder) — video then goes without sound, and health says so.
   */
  microphone: string | null = null;
  /** Measured at the encoder's output over the last second while the camera runs. */
  measured: { fps: number; kbps: number } | null = null;
  readonly counters = { starts: 0, losses: 0, returns: 0 };
  private presenceTimer: NodeJS.Timeout | null = null;
  /** The resolution ladder for the target, and the rung the encoder is on (0: the target). */
  private readonly rungs: Size[];
  private rung = 0;
  /** Recordings in progress: each holds the picture size (a segment cannot change size). */
  private holds = 0;
  private reselecting: Promise<unknown> | null = null;
  /** What each user of the one encode asks of its bitrate (live out's link, a call's link). */
  private readonly bitrateAsks = new Map<'live' | 'call', number>();
  /** The bitrate the encoder was last given (the target until a link asks for less). */
  private kbps: number;

  /** Live out to the province's media server while the camera runs. */
  readonly liveOut: LiveOut;

  constructor(private readonly options: ConsultationOptions) {
    this.rungs = ladder(options.target);
    this.kbps = options.target.bitrateKbps;
    options.worker.onBusEvent((event) => this.onBus(event));
    this.liveOut = new LiveOut({
      worker: options.worker,
      live: options.live,
      log: options.log.child({ module: 'live-out' }),
      onChange: options.onChange,
      maxKbps: options.target.bitrateKbps,
      onBitrate: (kbps) => this.requestBitrate('live', kbps),
    });
  }

  /** A document camera is configured (whether or not it is connected now). */
  get hasDocumentCamera(): boolean {
    return (this.options.documentCamera ?? { kind: 'none' }).kind !== 'none';
  }

  get target(): ConsultationTarget {
    return this.options.target;
  }

  /** The picture size being encoded now: the target, or a smaller rung on a weak link. */
  get size(): Size {
    return this.rungs[this.rung]!;
  }

  /**
   * Keeps the picture size as it is until the returned release is called: a recording's segments
   * (and its DICOM rows and columns) have one size. Bitrate still adapts meanwhile.
   */
  holdResolution(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      if (this.holds === 0 && this.state === 'live')
        void this.resize(this.kbps).catch((error: unknown) =>
          this.options.log.warn({ err: (error as Error).message }, 'resolution step failed'),
        );
    };
  }

  get encoderTap(): ElementRef {
    return { pipeline: CONSULTATION_PIPELINE, element: ELEMENTS.encodedTap };
  }

  /** The AAC tap while the running video has sound. */
  get audioTap(): ElementRef | null {
    return this.microphone ? { pipeline: CONSULTATION_PIPELINE, element: ELEMENTS.audioTap } : null;
  }

  /** Starts the camera (opening the consultation study if none is open); a no-op when running. */
  async start(retried = false): Promise<{ studyUid: string }> {
    const o = this.options;
    // Just after start the encoder is still being chosen (its test encode takes a second or
    // two): a press of "start video" or "call" then waits for it rather than failing.
    if (this.state === 'off' && o.encoders.status().state === 'unknown') {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([o.encoders.settled, new Promise((r) => (timer = setTimeout(r, ENCODER_WAIT_MS)))]);
      clearTimeout(timer);
    }
    if (this.state === 'live') return { studyUid: this.options.studies.current().uid };
    if (this.state === 'waiting') {
      throw new VideoError('NO_CAMERA', 'the camera is disconnected: plug it in again and the video resumes');
    }
    if (this.state !== 'off') throw new VideoError('BUSY', 'the camera is starting or stopping');
    const encoder = o.encoders.current;
    if (!encoder) throw new VideoError('NO_ENCODER', 'no working H.264 encoder: video is unavailable');
    this.state = 'starting';
    o.onChange();
    try {
      const cameras = await this.findCameras();
      const shown = cameras.find((c) => c.role === this.wantedCamera) ?? cameras[0]!;
      const room = cameras.find((c) => c.role === 'room');
      const document = cameras.find((c) => c.role === 'document');
      const mic = await this.microphoneSource();
      // A new pipeline is built at the target size; the link's rate steps it down again if needed.
      this.rung = 0;
      const audioEncoder = o.encoders.audioEncoder;
      await o.worker.startPipeline(
        consultationSpec({
          name: CONSULTATION_PIPELINE,
          chain: sourceChain((room ?? shown).source, CAMERA_INPUTS[(room ?? shown).role].prefix),
          document: room && document ? sourceChain(document.source, CAMERA_INPUTS.document.prefix) : null,
          active: shown.role,
          encoder,
          target: o.target,
          audio: mic && audioEncoder ? audioChain(mic.elements, audioEncoder, ELEMENTS.audioTap) : null,
        }),
      );
      if (mic && !audioEncoder)
        o.log.warn({ microphone: mic.name }, 'no AAC encoder: video goes without sound');
      this.cameras = cameras;
      this.cameraPads = cameraPads(shown.role);
      this.activeCamera = shown.role;
      this.camera = shown.name;
      this.microphone = mic && audioEncoder ? mic.name : null;
      this.lastError = null;
      this.state = 'live';
      this.counters.starts++;
      await this.liveOut.start(this.encoderTap, this.audioTap);
      o.log.info(
        {
          encoder: encoder.element,
          camera: shown.name,
          cameras: cameras.length,
          microphone: this.microphone,
        },
        'consultation video started',
      );
      o.onChange();
      return { studyUid: o.studies.current().uid };
    } catch (error) {
      this.state = 'off';
      this.lastError = (error as Error).message;
      o.onChange();
      if (error instanceof VideoError) throw error;
      // The encoder refusing to start is a run-time failure of the encoder like any other: a
      // hardware encoder that keeps refusing is dropped and the start is tried once more with the
      // encoder chosen in its place.
      if (error instanceof MediaWorkerError && error.element === ELEMENTS.encoder && !retried) {
        if (this.encoderFailed(encoder.element)) {
          await this.reselecting;
          return this.start(true);
        }
      }
      throw new VideoError('PIPELINE', `the camera could not start: ${(error as Error).message}`);
    }
  }

  async stop(): Promise<void> {
    if (this.state === 'waiting') {
      this.stopWatching();
      this.state = 'off';
      this.options.onChange();
      return;
    }
    if (this.state !== 'live') return;
    this.state = 'stopping';
    this.options.onChange();
    await this.liveOut.stop();
    await this.options.worker.stopPipeline(CONSULTATION_PIPELINE).catch(() => {});
    this.measured = null;
    this.cameras = [];
    this.activeCamera = null;
    this.state = 'off';
    this.options.log.info('consultation video stopped');
    this.options.onChange();
  }

  /** A full-resolution frame from the running camera, as a still in the consultation study. */
  async still(): Promise<{ instanceId: number; contentSha256: string }> {
    const studyUid = this.requireLive();
    let jpeg: Uint8Array;
    try {
      jpeg = await this.options.worker.snapshot(CONSULTATION_PIPELINE, ELEMENTS.stillSink);
    } catch (error) {
      throw new VideoError('PIPELINE', `no still: ${(error as Error).message}`);
    }
    return this.options.ingest.receiveStill(jpeg, studyUid);
  }

  /** The newest kiosk preview frame (JPEG, small). */
  async previewFrame(): Promise<Uint8Array> {
    this.requireLive();
    try {
      return await this.options.worker.snapshot(CONSULTATION_PIPELINE, ELEMENTS.previewSink);
    } catch (error) {
      throw new VideoError('PIPELINE', `no preview frame: ${(error as Error).message}`);
    }
  }

  /**
   * A link's ask for the encoder's bitrate (null: no longer asks). Live out and a call share one
   * encode, so the lower ask wins: the call has the link first, and a weak live link is not
   * flooded either.
   */
  async requestBitrate(who: 'live' | 'call', kbps: number | null): Promise<void> {
    if (kbps === null) this.bitrateAsks.delete(who);
    else this.bitrateAsks.set(who, kbps);
    const wanted = Math.min(this.options.target.bitrateKbps, ...this.bitrateAsks.values());
    if (wanted !== this.kbps) await this.setBitrate(wanted);
  }

  /**
   * Adaptive bitrate: a link's statistics call for a new rate; every encoder in the table knows
   * its own property and unit.
   */
  private async setBitrate(kbps: number): Promise<void> {
    const encoder = this.options.encoders.current;
    if (this.state !== 'live' || !encoder) throw new VideoError('NOT_RUNNING', 'nothing is being encoded');
    await this.options.worker.setProperties(CONSULTATION_PIPELINE, ELEMENTS.encoder, encoder.bitrate(kbps));
    this.kbps = kbps;
    this.options.log.info({ kbps, encoder: encoder.element }, 'encoder bitrate changed');
    await this.resize(kbps);
  }

  /** Moves to the resolution rung the rate calls for, unless a recording holds the size. */
  private async resize(kbps: number): Promise<void> {
    if (this.holds > 0 || this.state !== 'live') return;
    const next = rungFor(kbps, this.options.target.fps, this.rungs, this.rung);
    if (next === this.rung) return;
    const size = this.rungs[next]!;
    await this.options.worker.setProperties(CONSULTATION_PIPELINE, ELEMENTS.encodeCaps, {
      caps: encodeCaps(size),
    });
    this.rung = next;
    this.options.log.info({ kbps, width: size.width, height: size.height }, 'live resolution changed');
    this.options.onChange();
  }

  private requireLive(): string {
    if (this.state !== 'live') {
      throw new VideoError('NOT_RUNNING', 'the camera is not running: start the consultation video first');
    }
    return this.options.studies.current().uid;
  }

  private onBus(event: BusEvent): void {
    if (event.pipeline !== CONSULTATION_PIPELINE) return;
    if (event.kind === 'meter' && event.meter && this.state === 'live') this.measured = event.meter;
    if (event.kind !== 'error' || this.state !== 'live') return;
    // The pipeline stopped itself (the worker sets it to NULL on an error): the camera was pulled,
    // or the encoder failed. Staff asked for video, so it comes back by itself when it can.
    const encoder = this.options.encoders.current;
    if (event.element === ELEMENTS.encoder && encoder) this.encoderFailed(encoder.element);
    this.lost(`${event.element}: ${event.message}`, event.element);
  }

  /** The media worker died with the pipeline in it; video comes back once the worker is up again. */
  workerLost(reason: string | null): void {
    if (this.state === 'live') this.lost(`the media worker stopped${reason ? ` (${reason})` : ''}`, null);
  }

  private lost(reason: string, element: string | null): void {
    this.lastError = reason;
    this.measured = null;
    this.cameras = [];
    this.activeCamera = null;
    this.counters.losses++;
    void this.liveOut.stop();
    this.state = 'waiting';
    this.options.log.warn({ element, reason }, 'consultation video lost');
    this.options.onLost(
      this.lastError,
      element === null ? 'worker' : element === ELEMENTS.encoder ? 'encoder' : 'camera',
    );
    this.options.onChange();
    this.watchForCamera();
  }

  /**
   * Counts a run-time failure of the encoder. A hardware encoder that failed too often is dropped
   * for this boot and the encoder is chosen again (software) before video starts again; returns
   * true when that happened.
   */
  private encoderFailed(element: string): boolean {
    if (!this.options.encoders.reportRuntimeFailure(element)) return false;
    this.options.log.warn({ encoder: element }, 'hardware encoder failed too often: falling back');
    this.reselecting = this.options.encoders
      .select()
      .catch((error: unknown) => this.options.log.error({ err: error }, 'choosing an encoder again failed'))
      .finally(() => {
        this.reselecting = null;
        this.options.onChange();
      });
    return true;
  }

  /**
   * Looks for the camera once a second while waiting. A presence check, not a retry loop: starting
   * is attempted only when the camera is there (for an encoder failure it is there at once, and
   * the selector has already moved to software if the hardware encoder kept failing).
   */
  private watchForCamera(): void {
    this.stopWatching();
    this.presenceTimer = setTimeout(async () => {
      this.presenceTimer = null;
      if (this.state !== 'waiting') return;
      if (this.reselecting) await this.reselecting;
      if (!(await this.cameraPresent())) return this.watchForCamera();
      this.state = 'off';
      try {
        await this.start();
      } catch (error) {
        this.options.log.warn(
          { err: (error as Error).message },
          'the camera is back but video did not start',
        );
        if (this.state === 'off') this.state = 'waiting';
        return this.watchForCamera();
      }
      this.counters.returns++;
      this.options.onBack(this.camera ?? 'camera');
    }, this.options.presencePollMs ?? 1000);
  }
  /**
   * Shows the room camera or the document camera. While the video runs with both, the switch
   * happens in the running pipeline (recording, live out and a call carry on, one encode); the
   * choice is kept and used at every start. A camera plugged in after the video started is taken
   * in by starting the video again (not during a recording); one not connected is refused with
   * what to do.
   */
  async selectCamera(role: CameraRole): Promise<void> {
    if (role === 'document' && !this.hasDocumentCamera)
      throw new VideoError(
        'NO_CAMERA',
        'this terminal has no document camera (media.documentCamera is none)',
      );
    if (this.state !== 'live') {
      this.wantedCamera = role;
      return;
    }
    if (this.activeCamera === role) {
      this.wantedCamera = role;
      return;
    }
    const camera = this.cameras.find((c) => c.role === role);
    if (!camera) {
      const word = role === 'room' ? 'room camera' : 'document camera';
      const connected = (await this.findCameras().catch(() => [])).some((c) => c.role === role);
      if (!connected)
        throw new VideoError('NO_CAMERA', `the ${word} is not connected: plug it in and try again`);
      // Plugged in after the video started: the pipeline is built again with both cameras (a
      // second or so; a call shows its placeholder meanwhile) — but never under a recording,
      // whose segments would be cut.
      if (this.holds > 0)
        throw new VideoError(
          'BUSY',
          `the ${word} was connected during the recording: it can be used once the recording ends`,
        );
      this.wantedCamera = role;
      this.options.log.info({ role }, 'camera connected after the video started: starting the video again');
      await this.stop();
      await this.start();
      return;
    }
    await this.showInput(
      role,
      this.cameras.filter((c) => c.role !== role).map((c) => c.role),
    );
    this.wantedCamera = role;
    this.activeCamera = role;
    this.camera = camera.name;
    this.options.log.info({ camera: camera.name, role }, 'camera switched');
    this.options.onChange();
  }

  private showInput(role: CameraRole, others: CameraRole[]): Promise<void> {
    return this.options.worker.selectInput(CONSULTATION_PIPELINE, ELEMENTS.cameraSelect, {
      pad: this.cameraPads[role],
      open: CAMERA_INPUTS[role].gate,
      close: others.map((other) => CAMERA_INPUTS[other].gate),
    });
  }

  private stopWatching(): void {
    if (this.presenceTimer) clearTimeout(this.presenceTimer);
    this.presenceTimer = null;
  }

  private async cameraPresent(): Promise<boolean> {
    try {
      await this.findCameras();
      return true;
    } catch {
      return false;
    }
  }

  /** The microphone this consultation captures, shared (sharedMicrophoneElements), or null. */
  sharedMicrophone(): ElementSpec[] | null {
    return this.state === 'live' && this.microphone ? sharedMicrophoneElements() : null;
  }

  /**
   * The microphone to capture — the configured one's source elements, discovered when 'auto' — or
   * null for none. Looked for at every start (a USB headset plugged in between consultations is
   * used next time). A device that fails mid-consultation ends the pipeline like a pulled camera;
   * the restart then finds it gone and goes on without sound.
   */
  async microphoneSource(): Promise<{ name: string; elements: ElementSpec[] } | null> {
    const mic = this.options.microphone ?? { kind: 'none' };
    switch (mic.kind) {
      case 'none':
        return null;
      case 'elements':
        return { name: 'rig test microphone', elements: mic.elements };
      case 'auto': {
        const listed = await this.options.worker.microphones().catch((error: unknown) => {
          this.options.log.warn({ err: (error as Error).message }, 'microphone discovery failed: no sound');
          return [];
        });
        const found = chooseMicrophone(listed);
        return found ? { name: found.name, elements: microphoneElements(found) } : null;
      }
    }
  }

  /** The configured cameras connected now (NO_CAMERA, saying what is wrong, when none). */
  private findCameras(): Promise<FoundCamera[]> {
    const { camera, documentCamera, target, worker } = this.options;
    return findCameras({
      room: camera,
      document: documentCamera ?? { kind: 'none' },
      target,
      list: () => worker.cameras(),
    });
  }
}
