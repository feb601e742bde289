import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { makeUid } from '../dicom/uid.ts';
import type { VideoIngest } from '../ingest/video-ingest.ts';
import type { RecordingRow, RecordingRows } from '../store/recordings.ts';
import type { RecordingFeed } from './call-recording.ts';
import { type Consultation, VideoError, type VideoWorker } from './consultation.ts';
import type { EncoderSelector } from './encoder-selection.ts';
import type { BusEvent } from './media-worker.ts';
import { recordingPipeline } from './recording.ts';

export type RecorderState = 'idle' | 'recording' | 'finishing';

export interface RecorderOptions {
  worker: VideoWorker;
  consultation: Consultation;
  encoders: EncoderSelector;
  recordings: RecordingRows;
  ingest: VideoIngest;
  segmentS: number;
  /** The encoder's target rate: what a segment costs on disk. */
  bitrateKbps: number;
  /** Bytes that can be written before the store's reserve; watched while recording. */
  headroomBytes(): number;
  /** Tells staff and the NOC that a recording was stopped to protect the disk. */
  onDiskLow(message: string): void;
  /** How often the disk is checked while recording (default 1 s). */
  diskPollMs?: number;
  dataDir: string;
  uidRoot: string;
  log: Logger;
  onChange(): void;
  /**
   * What to record instead of the camera alone, asked at each start: during a call, both sides
   * (call-recording.ts); null otherwise. Failing, the camera alone is recorded and the log says why.
   */
  composite?: () => Promise<RecordingFeed | null>;
}

const PIPELINE = 'recording';

/**
 * Consultation recording: its own pipeline, fed by the media worker from the consultation
 * pipeline's encoded tap (one encode for live and recording), writing segments that become DICOM
 * instances of one series in the consultation study. Recording starts the camera when it is off
 * and then stops it again at the end; a camera started for the consultation keeps running.
 *
 * INVARIANTS: at most one recording at a time; `state` is 'idle' whenever no recording pipeline of
 * ours runs; segments are ingested one at a time, in the order they closed.
 */
export class Recorder {
  state: RecorderState = 'idle';
  recordingId: number | null = null;
  segments = 0;
  lastError: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private ingestChain: Promise<void> = Promise.resolve();
  private unsubscribe: (() => void) | null = null;
  /** Lets the consultation change the picture size again once this recording ends. */
  private releaseSize: (() => void) | null = null;
  private startedCamera = false;
  private deadline: number | null = null;
  /** The composite this recording is fed from (released at its end), or null: the camera's taps. */
  private feed: RecordingFeed | null = null;
  /** What the recording in progress holds: the camera alone, or both sides of a call. */
  holds: RecordingFeed['holds'] = 'camera';
  /** A recording the camera's loss cut short, to continue (as a new series) when it is back. */
  private interrupted: { remainingS: number | null; startedCamera: boolean } | null = null;

  constructor(private readonly options: RecorderOptions) {}

  /** The camera is back: a recording it cut short goes on, for the time that was left. */
  async resumeAfterCamera(): Promise<void> {
    const pending = this.interrupted;
    if (!pending || this.state !== 'idle') return;
    this.interrupted = null;
    await this.start(pending.remainingS, pending.startedCamera);
    this.options.log.info({ recording: this.recordingId }, 'recording resumed after the camera came back');
  }

  /**
   * Room a recording needs beyond the reserve: three segments — the one being written, its copy
   * in the store and its DICOM — so it stops (and what it made is saved) before anything is at risk.
   */
  private get neededBytes(): number {
    return 3 * ((this.options.bitrateKbps * 1000) / 8) * this.options.segmentS;
  }

  private diskProblem(): string | null {
    const headroom = this.options.headroomBytes();
    if (headroom >= this.neededBytes) return null;
    return `storage nearly full (${Math.max(0, Math.round(headroom / 1024))} KiB left above the reserve, a recording needs ${Math.round(this.neededBytes / 1024)} KiB): recording is stopped until studies are delivered and space is freed`;
  }

  async start(
    seconds: number | null,
    cameraStartedByRecording = false,
  ): Promise<{ recordingId: number; studyUid: string }> {
    const o = this.options;
    if (this.state !== 'idle') throw new VideoError('BUSY', 'a recording is already running');
    const noRoom = this.diskProblem();
    if (noRoom) throw new VideoError('NO_SPACE', noRoom);
    this.interrupted = null;
    const cameraWasOff = o.consultation.state === 'off' || cameraStartedByRecording;
    const { studyUid } = await o.consultation.start();
    const encoder = o.encoders.current!;
    const epoch = Date.now();
    // The picture size stays as it is for the whole recording (a weak live link may have stepped
    // it down; it is then recorded at that size, which its DICOM rows and columns say).
    this.releaseSize?.();
    this.releaseSize = o.consultation.holdResolution();
    const size = o.consultation.size;
    const feed = await this.compositeFeed();
    let recording: RecordingRow;
    let dir: string;
    try {
      recording = o.recordings.start(
        {
          study_uid: studyUid,
          width: size.width,
          height: size.height,
          fps: o.consultation.target.fps,
          encoder: encoder.element,
          holds: feed?.holds ?? 'camera',
        },
        (row) => makeUid(o.uidRoot, 'series', row, epoch),
      );
      dir = join(o.dataDir, 'recordings', String(recording.id));
      mkdirSync(dir, { recursive: true });
    } catch (error) {
      // The composite is released below if the recording pipeline cannot start; before then, here.
      await feed?.release();
      throw error;
    }
    this.unsubscribe = o.worker.onBusEvent((event) => this.onBus(event, recording.id));
    try {
      const videoTap = feed?.video ?? o.consultation.encoderTap;
      const audioTap = feed ? feed.audio : o.consultation.audioTap;
      await o.worker.startPipeline(
        recordingPipeline({ name: PIPELINE, dir, segmentS: o.segmentS, audio: audioTap !== null }),
      );
      await o.worker.pump(videoTap, { pipeline: PIPELINE, element: 'rec-src' });
      if (audioTap) await o.worker.pump(audioTap, { pipeline: PIPELINE, element: 'rec-audio-src' });
    } catch (error) {
      this.unsubscribe();
      await o.worker.stopPipeline(PIPELINE).catch(() => {});
      await feed?.release();
      o.recordings.end(recording.id, `failed to start: ${(error as Error).message}`);
      this.releaseSize?.();
      this.releaseSize = null;
      if (cameraWasOff) await o.consultation.stop();
      throw new VideoError('PIPELINE', `recording could not start: ${(error as Error).message}`);
    }
    this.startedCamera = cameraWasOff;
    this.feed = feed;
    this.holds = feed?.holds ?? 'camera';
    this.state = 'recording';
    this.recordingId = recording.id;
    this.segments = 0;
    this.lastError = null;
    o.log.info(
      { recording: recording.id, encoder: encoder.element, seconds, holds: this.holds },
      'recording started',
    );
    this.deadline = seconds === null ? null : Date.now() + seconds * 1000;
    this.watchDisk(recording.id);
    if (seconds !== null)
      this.timer = setTimeout(() => void this.stop('time up').catch(() => {}), seconds * 1000);
    o.onChange();
    return { recordingId: recording.id, studyUid };
  }

  /** The composite to record (during a call), or null; one that cannot start leaves the camera alone. */
  private async compositeFeed(): Promise<RecordingFeed | null> {
    try {
      return (await this.options.composite?.()) ?? null;
    } catch (error) {
      this.options.log.warn(
        { err: (error as Error).message },
        'both sides of the call could not be composed: recording the camera alone',
      );
      return null;
    }
  }

  /** While recording: stop cleanly, keeping what was recorded, before the disk reaches its reserve. */
  private watchDisk(recordingId: number): void {
    const timer = setInterval(() => {
      if (this.state !== 'recording' || this.recordingId !== recordingId) return clearInterval(timer);
      const problem = this.diskProblem();
      if (!problem) return;
      clearInterval(timer);
      this.lastError = problem;
      this.options.log.warn({ recording: recordingId }, 'recording stopped: storage nearly full');
      this.options.onDiskLow(problem);
      void this.stop(`stopped: ${problem}`).catch(() => {});
    }, this.options.diskPollMs ?? 1000);
  }

  /** Ends the recording cleanly: end-of-stream closes the last segment, ingested like the others. */
  /** Mains power failed: the recording ends with its last segment kept. */
  async finishBeforePowerLoss(): Promise<void> {
    if (this.state === 'recording') await this.stop('stopped: mains power failed');
  }

  async stop(reason = 'stopped by staff'): Promise<void> {
    const o = this.options;
    if (this.state !== 'recording' || this.recordingId === null)
      throw new VideoError('NOT_RECORDING', 'nothing is being recorded');
    if (this.timer) clearTimeout(this.timer);
    this.state = 'finishing';
    o.onChange();
    const id = this.recordingId;
    let finishError: string | null = null;
    try {
      await o.worker.finishPipeline(PIPELINE);
    } catch (error) {
      finishError = (error as Error).message;
      this.lastError = finishError;
      await o.worker.stopPipeline(PIPELINE).catch(() => {});
    }
    await this.ingestChain;
    await this.finished(id, finishError ? `ended with an error: ${finishError}` : reason);
  }

  /**
   * The media worker died (crash, wedge): the recording pipeline went with it and no end of stream
   * will come. The recording ends; its unclosed segment is taken as it is (playable up to its last
   * fragment), and it resumes like after a camera loss once video runs again.
   */
  workerLost(reason: string | null): void {
    if (this.state !== 'recording' || this.recordingId === null) return;
    const id = this.recordingId;
    if (this.timer) clearTimeout(this.timer);
    this.lastError = `the media worker stopped${reason ? ` (${reason})` : ''}`;
    this.state = 'finishing';
    this.options.onChange();
    void this.ingestChain.then(() => this.finished(id, `ended early: ${this.lastError}`, true));
  }

  private async finished(id: number, reason: string, cameraLost = false): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    // Files still in the recording's directory: a segment the pipeline never closed, or one the
    // store refused for space (then kept and offered again with back-off).
    await this.options.ingest
      .sweepRecording(id)
      .catch((error: unknown) =>
        this.options.log.error({ err: error, recording: id }, 'sweeping the recording directory failed'),
      );
    this.options.recordings.end(id, reason);
    await this.feed?.release();
    this.feed = null;
    this.releaseSize?.();
    this.releaseSize = null;
    this.state = 'idle';
    this.options.log.info({ recording: id, segments: this.segments, reason }, 'recording ended');
    if (cameraLost) {
      const remainingS = this.deadline === null ? null : Math.max(1, (this.deadline - Date.now()) / 1000);
      this.interrupted = { remainingS, startedCamera: this.startedCamera };
    } else if (this.startedCamera) await this.options.consultation.stop();
    this.startedCamera = false;
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
    const ended = event.kind === 'error' || (event.kind === 'eos' && this.state === 'recording');
    if (ended && this.state === 'recording') {
      // The recording pipeline stopped on its own: a full disk, or the camera went away (the
      // worker then ends the feed, and the last segment closes cleanly). What closed is kept.
      const cameraLost = this.options.consultation.state !== 'live';
      this.lastError =
        event.kind === 'error' ? `${event.element}: ${event.message}` : 'the camera was disconnected';
      if (this.timer) clearTimeout(this.timer);
      this.state = 'finishing';
      void this.ingestChain.then(() =>
        this.finished(recordingId, `ended early: ${this.lastError}`, cameraLost),
      );
    }
  }
}
