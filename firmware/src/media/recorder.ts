import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { makeUid } from '../dicom/uid.ts';
import type { VideoIngest } from '../ingest/video-ingest.ts';
import type { RecordingRows } from '../store/recordings.ts';
import { chooseMode, parseCameraCaps } from './camera.ts';
import { type CameraSource, sourceChain } from './camera-source.ts';
import type { EncoderSelector } from './encoder-selection.ts';
import type { CameraInfo } from './ipc.ts';
import type { BusEvent } from './media-worker.ts';
import type { ElementSpec, LinkSpec, PipelineSpec } from './pipeline-spec.ts';
import { recordingBranch } from './recording.ts';

export type RecorderState = 'idle' | 'recording' | 'finishing';

export interface RecorderWorker {
  startPipeline(spec: PipelineSpec): Promise<void>;
  finishPipeline(name: string): Promise<void>;
  snapshot(pipeline: string, element: string): Promise<Uint8Array>;
  setProperties(
    pipeline: string,
    element: string,
    props: Record<string, string | number | boolean>,
  ): Promise<void>;
  stopPipeline(name: string): Promise<void>;
  onBusEvent(listener: (event: BusEvent) => void): () => void;
  cameras(): Promise<CameraInfo[]>;
}

export interface RecordTarget {
  width: number;
  height: number;
  fps: number;
  bitrateKbps: number;
  segmentS: number;
}

/** Configured camera: discovered on the board, or an element chain (the rig's test camera). */
export type CameraConfig = { kind: 'auto' } | { kind: 'elements'; elements: CameraSourceElements };
type CameraSourceElements = Extract<CameraSource, { kind: 'elements' }>['elements'];

export class RecorderError extends Error {
  constructor(
    readonly code: 'BUSY' | 'NO_ENCODER' | 'NO_CAMERA' | 'NOT_RECORDING' | 'PIPELINE',
    message: string,
  ) {
    super(message);
  }
}

/** Where the live side of the tee goes. */
export type LiveOut =
  | { transport: 'none' }
  | { transport: 'srt'; uri: string; passphrase: string; latencyMs: number };

export interface RecorderOptions {
  live: LiveOut;
  worker: RecorderWorker;
  encoders: EncoderSelector;
  recordings: RecordingRows;
  ingest: VideoIngest;
  camera: CameraConfig;
  target: RecordTarget;
  dataDir: string;
  uidRoot: string;
  log: Logger;
  onChange(): void;
}

const PIPELINE = 'consultation';

/**
 * The live side of the tee. SRT: MPEG-TS in 7-packet (1316-byte) units, one per SRT message —
 * without that alignment the listener's demuxer finds no frames — AES with the provisioned
 * passphrase, caller mode; a leaky queue so a slow link drops live frames, never recording ones.
 */
function liveBranch(live: LiveOut): { elements: ElementSpec[]; links: LinkSpec[] } {
  const queue: ElementSpec = {
    id: 'live-queue',
    factory: 'queue',
    props: { leaky: 'downstream', 'max-size-buffers': 30 },
  };
  if (live.transport === 'none') {
    return {
      elements: [queue, { id: 'live-sink', factory: 'fakesink', props: { sync: false, async: false } }],
      links: [{ from: 'live-queue', to: 'live-sink' }],
    };
  }
  return {
    elements: [
      queue,
      { id: 'live-parse', factory: 'h264parse', props: { 'config-interval': -1 } },
      { id: 'live-mux', factory: 'mpegtsmux', props: { alignment: 7 } },
      {
        id: 'live-sink',
        factory: 'srtsink',
        props: {
          uri: `${live.uri}?mode=caller`,
          passphrase: live.passphrase,
          pbkeylen: 16,
          latency: live.latencyMs,
          'wait-for-connection': false,
          sync: false,
          async: false,
        },
      },
    ],
    links: [
      { from: 'live-queue', to: 'live-parse' },
      { from: 'live-parse', to: 'live-mux' },
      { from: 'live-mux', to: 'live-sink' },
    ],
  };
}

/**
 * Consultation recording: one pipeline — camera, one encode, a tee — whose recording branch writes
 * segments that become DICOM instances of one series in the open consultation study.
 *
 * INVARIANTS: at most one recording at a time; `state` is 'idle' whenever no pipeline of ours runs;
 * segments are ingested one at a time, in the order they closed.
 */
export class Recorder {
  state: RecorderState = 'idle';
  recordingId: number | null = null;
  studyUid: string | null = null;
  segments = 0;
  lastError: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private ingestChain: Promise<void> = Promise.resolve();
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly options: RecorderOptions) {}

  async start(seconds: number | null): Promise<{ recordingId: number; studyUid: string }> {
    const o = this.options;
    if (this.state !== 'idle') throw new RecorderError('BUSY', 'a recording is already running');
    const encoder = o.encoders.current;
    if (!encoder) throw new RecorderError('NO_ENCODER', 'no working H.264 encoder: video is unavailable');
    const source = await this.source();
    const epoch = Date.now();
    const { studyUid } = o.recordings.openStudy((row) => makeUid(o.uidRoot, 'study', row, epoch));
    const recording = o.recordings.start(
      {
        study_uid: studyUid,
        width: o.target.width,
        height: o.target.height,
        fps: o.target.fps,
        encoder: encoder.element,
      },
      (row) => makeUid(o.uidRoot, 'series', row, epoch),
    );
    const dir = join(o.dataDir, 'recordings', String(recording.id));
    mkdirSync(dir, { recursive: true });
    const chain = sourceChain(source);
    const rec = recordingBranch({ dir, segmentS: o.target.segmentS });
    const t = o.target;
    const spec: PipelineSpec = {
      name: PIPELINE,
      elements: [
        ...chain.elements,
        { id: 'convert', factory: 'videoconvert' },
        { id: 'scale', factory: 'videoscale' },
        { id: 'rate', factory: 'videorate' },
        // Raw frames fork before the encoder: stills are full-resolution frames, not decoded H.264.
        { id: 'raw-tee', factory: 'tee' },
        { id: 'still-queue', factory: 'queue', props: { leaky: 'downstream', 'max-size-buffers': 1 } },
        {
          id: 'still-sink',
          factory: 'fakesink',
          props: { sync: false, async: false, 'enable-last-sample': true },
        },
        { id: 'encode-queue', factory: 'queue' },
        {
          id: 'encoder',
          factory: encoder.element,
          props: encoder.properties({
            bitrateKbps: t.bitrateKbps,
            fps: t.fps,
            keyFrameIntervalS: 2,
            cpu: 'weak',
          }),
        },
        { id: 'parse', factory: 'h264parse' },
        { id: 'tee', factory: 'tee' },
        ...liveBranch(o.live).elements,
        ...rec.elements,
      ],
      links: [
        ...chain.links,
        { from: chain.tail, to: 'convert' },
        { from: 'convert', to: 'scale' },
        { from: 'scale', to: 'rate' },
        {
          from: 'rate',
          to: 'raw-tee',
          caps: `video/x-raw,format=I420,width=${t.width},height=${t.height},framerate=${t.fps}/1`,
        },
        { from: 'raw-tee', to: 'still-queue' },
        { from: 'still-queue', to: 'still-sink' },
        { from: 'raw-tee', to: 'encode-queue' },
        { from: 'encode-queue', to: 'encoder' },
        { from: 'encoder', to: 'parse', caps: encoder.outputCaps },
        // One stream format before the tee; each branch's own parser converts for its muxer
        // (MP4 wants avc, MPEG-TS byte-stream), so the branches never fight over caps.
        { from: 'parse', to: 'tee', caps: 'video/x-h264,stream-format=byte-stream,alignment=au' },
        { from: 'tee', to: 'live-queue' },
        ...liveBranch(o.live).links,
        { from: 'tee', to: rec.head },
        ...rec.links,
      ],
    };
    this.unsubscribe = o.worker.onBusEvent((event) => this.onBus(event, recording.id));
    try {
      await o.worker.startPipeline(spec);
    } catch (error) {
      this.unsubscribe();
      o.recordings.end(recording.id, `failed to start: ${(error as Error).message}`);
      throw new RecorderError('PIPELINE', `recording could not start: ${(error as Error).message}`);
    }
    this.state = 'recording';
    this.recordingId = recording.id;
    this.studyUid = studyUid;
    this.segments = 0;
    this.lastError = null;
    o.log.info({ recording: recording.id, encoder: encoder.element, seconds }, 'recording started');
    if (seconds !== null)
      this.timer = setTimeout(() => void this.stop('time up').catch(() => {}), seconds * 1000);
    o.onChange();
    return { recordingId: recording.id, studyUid };
  }

  /** A full-resolution frame from the running camera, as a still in the consultation study. */
  async still(): Promise<{ instanceId: number }> {
    if (this.state !== 'recording' || !this.studyUid) {
      throw new RecorderError(
        'NOT_RECORDING',
        'the camera is not running: start the consultation video first',
      );
    }
    let jpeg: Uint8Array;
    try {
      jpeg = await this.options.worker.snapshot(PIPELINE, 'still-sink');
    } catch (error) {
      throw new RecorderError('PIPELINE', `no still: ${(error as Error).message}`);
    }
    return { instanceId: this.options.ingest.receiveStill(jpeg, this.studyUid) };
  }

  /**
   * Adaptive bitrate: the live link's statistics call for a new rate; every encoder in the table
   * knows its own property and unit.
   */
  async setBitrate(kbps: number): Promise<void> {
    const encoder = this.options.encoders.current;
    if (this.state !== 'recording' || !encoder)
      throw new RecorderError('NOT_RECORDING', 'nothing is being encoded');
    await this.options.worker.setProperties(PIPELINE, 'encoder', encoder.bitrate(kbps));
    this.options.log.info({ kbps, encoder: encoder.element }, 'encoder bitrate changed');
  }

  /** Ends the recording cleanly: EOS closes the last segment, which is ingested like the others. */
  async stop(reason = 'stopped by staff'): Promise<void> {
    const o = this.options;
    if (this.state !== 'recording' || this.recordingId === null)
      throw new RecorderError('NOT_RECORDING', 'nothing is being recorded');
    if (this.timer) clearTimeout(this.timer);
    this.state = 'finishing';
    o.onChange();
    const id = this.recordingId;
    try {
      await o.worker.finishPipeline(PIPELINE);
    } catch (error) {
      this.lastError = (error as Error).message;
      await o.worker.stopPipeline(PIPELINE).catch(() => {});
    }
    await this.ingestChain;
    this.finished(id, this.lastError ? `ended with an error: ${this.lastError}` : reason);
  }

  private finished(id: number, reason: string): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.options.recordings.end(id, reason);
    this.state = 'idle';
    this.options.log.info({ recording: id, segments: this.segments, reason }, 'recording ended');
    this.options.onChange();
  }

  private onBus(event: BusEvent, recordingId: number): void {
    if (event.pipeline !== PIPELINE) return;
    if (event.kind === 'segment-closed' && event.location) {
      const file = event.location;
      this.segments++;
      this.ingestChain = this.ingestChain.then(() => this.options.ingest.receiveSegment(recordingId, file));
      this.options.onChange();
    }
    if (event.kind === 'error' && this.state === 'recording') {
      // The pipeline stopped itself (camera gone, encoder failed); what was closed is kept.
      this.lastError = `${event.element}: ${event.message}`;
      if (event.element === 'encoder' && this.options.encoders.current) {
        this.options.encoders.reportRuntimeFailure(this.options.encoders.current.element);
      }
      if (this.timer) clearTimeout(this.timer);
      void this.ingestChain.then(() => this.finished(recordingId, `ended with an error: ${this.lastError}`));
    }
  }

  private async source(): Promise<CameraSource> {
    const { camera, target } = this.options;
    if (camera.kind === 'elements') return { kind: 'elements', elements: camera.elements };
    const cameras = await this.options.worker.cameras();
    for (const c of cameras) {
      const choice = chooseMode(parseCameraCaps(c.caps), {
        width: target.width,
        height: target.height,
        fps: target.fps,
        link: 'usb2',
      });
      if (choice && c.path) return { kind: 'v4l2', devicePath: c.path, mode: choice.mode, fps: choice.fps };
    }
    throw new RecorderError(
      'NO_CAMERA',
      cameras.length === 0 ? 'no camera is connected' : 'no camera offers a usable mode',
    );
  }
}
