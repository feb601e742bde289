import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { CallService } from '../call/call-service.ts';
import type { Config } from '../config/schema.ts';
import type { CpuPool } from '../cpu/cpu-pool.ts';
import type { EventBus } from '../events.ts';
import type { CapturePipeline } from '../ingest/capture-pipeline.ts';
import { VideoIngest } from '../ingest/video-ingest.ts';
import type { Service } from '../service.ts';
import { RecordingRows } from '../store/recordings.ts';
import type { StudyStore } from '../store/study-store.ts';
import type { ConsultationStudies } from '../study/consultation-studies.ts';
import { startCallRecordingMix } from './call-recording.ts';
import { Consultation } from './consultation.ts';
import { EncoderSelector } from './encoder-selection.ts';
import { MediaWorker } from './media-worker.ts';
import { Recorder } from './recorder.ts';

export interface MediaServiceOptions {
  config: Config;
  store: StudyStore;
  studies: ConsultationStudies;
  pipeline: CapturePipeline;
  cpu: CpuPool;
  bus: EventBus;
  log: Logger;
  /** Extra environment for the media worker (the rig's stand-in hardware encoder plugin). */
  env?: Record<string, string>;
}

/**
 * Video on the terminal: the media worker (GStreamer in a child process), the H.264 encoder
 * chosen from what it offers, the consultation pipeline (camera, live out, preview, stills), the
 * recorder, and the video ingest that makes segments and stills DICOM. The parts tell the rest of
 * the daemon what happened on the bus: camera lost and back, a recording stopped for the disk,
 * the consultation going live (uploads yield to it), and changes for the kiosk.
 */
export type MediaSnapshot = ReturnType<MediaService['snapshot']>;

export class MediaService implements Service {
  readonly name = 'media';
  readonly worker: MediaWorker;
  readonly encoders: EncoderSelector;
  readonly consultation: Consultation;
  readonly recorder: Recorder;
  readonly ingest: VideoIngest;
  /** Two-way calls, on this worker and camera (a service of its own, started after this one). */
  readonly call: CallService;

  constructor(private readonly options: MediaServiceOptions) {
    const { config, store, bus } = options;
    const log = options.log.child({ module: 'media' });
    const changed = () => bus.emit({ type: 'changed', part: 'media' });
    this.worker = new MediaWorker({
      log,
      ...(options.env ? { env: options.env } : {}),
      heartbeatTimeoutMs: config.media.heartbeatTimeoutMs,
      onState: (state, detail) => this.workerState(state, detail),
    });
    this.worker.onBusEvent((event) => {
      if (event.kind === 'error' || event.kind === 'warning')
        log.warn(
          { pipeline: event.pipeline, element: event.element, message: event.message },
          `pipeline ${event.kind}`,
        );
    });
    const scratchDir = join(config.dataDir, 'media-scratch');
    mkdirSync(scratchDir, { recursive: true });
    this.encoders = new EncoderSelector({
      worker: this.worker,
      log,
      pinned: config.media.encoder,
      scratchDir,
      hardwareFailuresBeforeFallback: config.media.hardwareFailuresBeforeFallback,
    });
    const recordings = new RecordingRows(store.db, () => new Date().toISOString());
    this.ingest = new VideoIngest({
      pipeline: options.pipeline,
      cpu: options.cpu,
      store,
      recordings,
      patientFor: (studyUid) => options.studies.patientFor(studyUid),
      worker: this.worker,
      log: options.log.child({ module: 'video-ingest' }),
      scratchDir,
      uidRoot: config.device.uidRoot,
      stationName: config.device.id,
      institutionName: config.device.institutionName,
    });
    this.consultation = new Consultation({
      worker: this.worker,
      encoders: this.encoders,
      studies: options.studies,
      ingest: this.ingest,
      camera: config.media.camera,
      documentCamera: config.media.documentCamera,
      microphone: config.media.microphone,
      live: config.media.live,
      target: {
        ...config.media.record,
        bitrateKbps: config.media.bitrateKbps,
        keyFrameIntervalS: Math.min(2, config.media.record.segmentS),
      },
      log,
      onLost: (reason, cause) => bus.emit({ type: 'camera', state: 'lost', detail: reason, cause }),
      onBack: (camera) => {
        bus.emit({ type: 'camera', state: 'back', detail: camera });
        void this.recorder
          .resumeAfterCamera()
          .catch((error: unknown) => log.error({ err: error }, 'the recording could not resume'));
      },
      onChange: () => {
        bus.emit({ type: 'consultation', live: this.consultation.state === 'live' });
        changed();
      },
    });
    this.call = new CallService({
      config,
      worker: this.worker,
      consultation: this.consultation,
      encoders: this.encoders,
      bus,
      log: options.log.child({ module: 'call' }),
    });
    this.recorder = new Recorder({
      worker: this.worker,
      consultation: this.consultation,
      encoders: this.encoders,
      recordings,
      ingest: this.ingest,
      segmentS: config.media.record.segmentS,
      bitrateKbps: config.media.bitrateKbps,
      headroomBytes: () => store.headroomBytes(),
      onDiskLow: (message) => bus.emit({ type: 'recording-stopped', reason: message }),
      dataDir: config.dataDir,
      uidRoot: config.device.uidRoot,
      log,
      onChange: changed,
      // A recording made during a call holds both sides: the specialist in a corner, both voices.
      composite: async () => {
        const encoder = this.encoders.current;
        if (this.call.snapshot().state !== 'in-call' || !encoder) return null;
        return startCallRecordingMix(this.worker, {
          encoder,
          audioEncoder: this.encoders.audioEncoder,
          size: this.consultation.size,
          fps: config.media.record.fps,
          bitrateKbps: config.media.bitrateKbps,
          keyFrameIntervalS: Math.min(2, config.media.record.segmentS),
        });
      },
    });
  }

  /** Starts the worker and chooses the encoder in the background: ECG work never waits for video. */
  start(): void {
    this.worker.start();
    void this.worker
      .ready()
      .then(() => this.encoders.select())
      .then(() => this.ingest.resume())
      .then(
        () => this.options.bus.emit({ type: 'changed', part: 'media' }),
        (error: unknown) => this.options.log.error({ err: error }, 'choosing the H.264 encoder failed'),
      );
  }

  async stop(): Promise<void> {
    this.ingest.stop();
    await this.worker.stop();
  }

  /** The worker, the encoder, the camera, live out and the recording, for status and health. */
  snapshot() {
    const { worker, encoders, consultation: c, recorder } = this;
    const live = c.liveOut;
    return {
      worker: { state: worker.state, gstVersion: worker.gstVersion, counters: { ...worker.counters } },
      encoder: encoders.status(),
      audioEncoder: encoders.audioEncoder?.element ?? null,
      camera: {
        state: c.state,
        name: c.camera,
        active: c.activeCamera,
        available: c.cameras.map((camera) => camera.role),
        documentCamera: c.hasDocumentCamera,
        lastError: c.lastError,
        measured: c.measured,
        microphone: c.microphone,
        counters: { ...c.counters },
      },
      live: {
        transport: live.transport,
        state: live.state,
        lastError: live.lastError,
        counters: { ...live.counters },
        bitrateKbps: live.bitrate.current,
        resolution: c.size,
        rttMs: live.bitrate.lastRttMs,
        lossPercent: Math.round(live.bitrate.lastLoss * 1000) / 10,
        bitrateSteps: { ...live.bitrate.counters },
      },
      recording: {
        state: recorder.state,
        recordingId: recorder.recordingId,
        segments: recorder.segments,
        lastError: recorder.lastError,
        holds: recorder.holds,
      },
    };
  }

  private workerState(state: string, detail: string | null): void {
    this.options.log.info({ state, detail }, 'media worker state');
    if (state === 'restarting') {
      // Pipelines died with the worker: the recording ends (its open segment is kept) and video
      // comes back by itself when the worker is up again.
      this.recorder.workerLost(detail);
      this.consultation.workerLost(detail);
    }
    // Segments that waited for the worker (it was away when they closed) are made DICOM now.
    // (Not a directory sweep: a recording may already be writing again.)
    if (state === 'ready' && this.worker.counters.starts > 1) void this.ingest.processCaptured();
    this.options.bus.emit({ type: 'changed', part: 'media' });
  }
}
