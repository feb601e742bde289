import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { CpuPool } from '../cpu/cpu-pool.ts';
import { DicomEncodeError } from '../dicom/ecg-waveform.ts';
import { makeUid } from '../dicom/uid.ts';
import { hasMedia, Mp4Error, mp4TrackHandlers, playableLength } from '../media/mp4-boxes.ts';
import { annexBSpec, type PipelineRunner, runToEos, WorkerGone } from '../media/run-to-eos.ts';
import type { RecordingRows } from '../store/recordings.ts';
import type { EncodedInstance, StudyStore } from '../store/study-store.ts';
import { type InstanceRow, PRIORITY, StoreError } from '../store/types.ts';
import { type DicomPatient, instanceInStudy } from '../study/consultation-studies.ts';
import { CaptureDeferred, type CapturePipeline, CaptureUnusable } from './capture-pipeline.ts';

export interface VideoIngestOptions {
  pipeline: CapturePipeline;
  /** Worker threads for the DICOM encoding (a segment is several MB). */
  cpu: Pick<CpuPool, 'run'>;
  store: StudyStore;
  recordings: RecordingRows;
  /** The patient of a study, for the instances made in it. */
  patientFor(studyUid: string): DicomPatient;
  worker: PipelineRunner;
  log: Logger;
  scratchDir: string;
  uidRoot: string;
  stationName: string;
  institutionName: string;
  now?: () => Date;
  /** How often kept segments look for room in the store (default 5 s). */
  retryIntervalMs?: number;
}

const localIso = (d: Date) =>
  new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 19);

/**
 * The camera's captures through the capture pipeline. A finished recording segment becomes a
 * DICOM Video Photographic instance: the MP4 is made durable in the store first (then the
 * recorder's file is removed), its video extracted as an H.264 byte stream by the media worker for
 * checking, encoded with the MP4 itself. A still becomes VL Photographic. What cannot become DICOM
 * is set aside, kept.
 */
export class VideoIngest {
  private readonly now: () => Date;
  /**
   * Segment files the store refused (storage below its reserve), by path, with their recording.
   * They stay where the recorder wrote them and are offered again once the store has room.
   */
  private readonly leftovers = new Map<string, number>();
  private retryTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: VideoIngestOptions) {
    this.now = options.now ?? (() => new Date());
    options.pipeline.register({
      kind: 'video',
      noun: 'segment',
      encode: (row, original) => this.encodeSegment(row, original),
    });
    options.pipeline.register({
      kind: 'still',
      noun: 'still',
      encode: (row, original) => this.encodeStill(row, original),
    });
  }

  async receiveSegment(recordingId: number, file: string): Promise<void> {
    const { pipeline, log } = this.options;
    let bytes: Uint8Array;
    try {
      bytes = await readFile(file);
    } catch (error) {
      log.error({ recording: recordingId, file, err: error }, 'segment file vanished before it was saved');
      return;
    }
    if (!hasMedia(bytes)) {
      // The recorder (or the terminal) died as this segment began: a header at most, no picture.
      // Not a capture; the empty file is removed, counted and logged (found by the kill test:
      // every empty segment has the same hash, so they were taken for one instance).
      log.warn({ recording: recordingId, file, bytes: bytes.length }, 'segment without any picture removed');
      rmSync(file, { force: true });
      return;
    }
    let result: { id: number; duplicate: boolean };
    try {
      result = await pipeline.receive({
        kind: 'video',
        source: `recording-${recordingId}`,
        bytes,
        originalName: file.split('/').at(-1) ?? null,
        priority: PRIORITY.video,
        incomplete: null,
        recordingId,
      });
    } catch (error) {
      // The recorder's own file stays where it is: nothing is deleted that was not saved. It is
      // offered to the store again once there may be room (the pipeline told the NOC once).
      if (!(error instanceof StoreError)) throw error;
      log.error({ recording: recordingId, file }, 'video segment kept where it was recorded, for later');
      this.leftovers.set(file, recordingId);
      this.scheduleRetry();
      return;
    }
    this.leftovers.delete(file);
    rmSync(file, { force: true });
    await pipeline.process(result.id);
  }

  /** A saved segment as DICOM Video Photographic: its H.264 checked by the media worker first. */
  private async encodeSegment(row: InstanceRow, recorded: Uint8Array): Promise<EncodedInstance> {
    const { store, recordings } = this.options;
    const id = row.id;
    if (row.recording_id === null) throw new CaptureUnusable('the segment was saved without its recording');
    const recording = recordings.get(row.recording_id);
    const original = join(store.dataDir, row.original_path);
    const scratch = {
      annexB: join(this.options.scratchDir, `segment-${id}.h264`),
      // A copy for the worker when the stored file is sealed or must be cut (see below); removed
      // as soon as the segment is encoded (the only plaintext of it on the disk, for seconds).
      trimmed: join(this.options.scratchDir, `segment-${id}.mp4`),
    };
    // The segment as the DICOM instance carries it: the recorder's fragmented MP4, cut to its last
    // complete fragment if a kill or power cut left a partial one.
    const container = recorded.subarray(0, playableLength(recorded));
    let source = original;
    if (container.length < recorded.length || store.atRest.mode !== 'off') {
      await writeFile(scratch.trimmed, container, { mode: 0o600 });
      source = scratch.trimmed;
    }
    let handlers: string[];
    try {
      handlers = mp4TrackHandlers(container);
    } catch (error) {
      if (!(error instanceof Mp4Error)) throw error;
      handlers = []; // the encoder refuses it below, with the reason
    }
    try {
      let problem: string | null;
      try {
        const spec = annexBSpec(`annexb-${id}`, source, scratch.annexB, handlers.includes('soun'));
        problem = await runToEos(this.options.worker, spec, 30_000);
      } catch (error) {
        // Not the segment's fault: it stays captured and is processed once the worker is back.
        if (error instanceof WorkerGone) throw new CaptureDeferred(error.message);
        throw error;
      }
      if (problem) throw new CaptureUnusable(`cannot read the segment: ${problem}`);
      const stream = await readFile(scratch.annexB);
      const uid = makeUid(this.options.uidRoot, 'instance', id, this.now().getTime());
      const patient = this.options.patientFor(recording.study_uid);
      const dicom = await this.options.cpu.run('video-photographic', {
        stream,
        container,
        width: recording.width,
        height: recording.height,
        fps: recording.fps,
        uids: { study: recording.study_uid, series: recording.series_uid, sop: uid },
        instanceNumber: (row.segment_index ?? 0) + 1,
        originalSha256: row.content_sha256,
        seriesNumber: 100 + recording.id,
        takenAt: localIso(new Date(row.received_at)),
        patient,
        stationName: this.options.stationName,
        institutionName: this.options.institutionName,
        seriesDescription:
          recording.holds === 'call'
            ? `Consultation call video, both sides (${recording.encoder})`
            : `Consultation video (${recording.encoder})`,
      });
      return instanceInStudy(recording.study_uid, patient, { series: recording.series_uid, sop: uid }, dicom);
    } finally {
      for (const file of Object.values(scratch)) rmSync(file, { force: true });
    }
  }

  /**
   * A still from the camera: saved durably as the JPEG it is (with the study it was taken in), then
   * a VL Photographic instance in its own series of that study.
   */
  async receiveStill(
    jpeg: Uint8Array,
    studyUid: string,
  ): Promise<{ instanceId: number; contentSha256: string }> {
    const { pipeline, store } = this.options;
    const result = await pipeline.receive({
      kind: 'still',
      source: 'camera',
      bytes: jpeg,
      originalName: null,
      priority: PRIORITY.still,
      incomplete: null,
      studyUid,
    });
    if (!result.duplicate) await pipeline.process(result.id);
    return { instanceId: result.id, contentSha256: store.get(result.id).content_sha256 };
  }

  /** A saved still as VL Photographic, in its own series of the study it was taken in. */
  private async encodeStill(row: InstanceRow, jpeg: Uint8Array): Promise<EncodedInstance> {
    const studyUid = row.capture_study_uid;
    if (!studyUid) throw new DicomEncodeError('the still was saved without its study');
    const takenAt = new Date(row.received_at);
    const patient = this.options.patientFor(studyUid);
    const epoch = takenAt.getTime();
    const uids = {
      study: studyUid,
      series: makeUid(this.options.uidRoot, 'series', row.id, epoch),
      sop: makeUid(this.options.uidRoot, 'instance', row.id, epoch),
    };
    const dicom = await this.options.cpu.run('vl-photographic', {
      jpeg,
      uids,
      originalSha256: row.content_sha256,
      takenAt: localIso(takenAt),
      stationName: this.options.stationName,
      institutionName: this.options.institutionName,
      seriesNumber: 500 + row.id,
      patient,
    });
    return instanceInStudy(studyUid, patient, uids, dicom);
  }

  /**
   * After a restart: segments saved but not yet encoded, then segment files a recording left
   * behind that the store never took (refused for space, or closed just before a crash).
   */
  async resume(): Promise<void> {
    await this.processCaptured();
    const root = join(this.options.store.dataDir, 'recordings');
    if (!existsSync(root)) return;
    for (const dir of readdirSync(root)
      .filter((d) => /^\d+$/.test(d))
      .sort((a, b) => Number(a) - Number(b)))
      await this.sweepRecording(Number(dir));
  }

  /** Segments and stills saved but not yet made DICOM (the media worker was away, or a crash): made now. */
  processCaptured(): Promise<void> {
    return this.options.pipeline.resume(['video', 'still']);
  }

  /**
   * Takes every segment file still in an ended recording's directory: one the store refused, or
   * one whose pipeline died before closing it (fragmented MP4 plays up to its last fragment).
   */
  async sweepRecording(recordingId: number): Promise<void> {
    const dir = join(this.options.store.dataDir, 'recordings', String(recordingId));
    if (!existsSync(dir)) return;
    for (const file of readdirSync(dir)
      .filter((f) => /^segment-\d+\.mp4$/.test(f))
      .sort())
      await this.receiveSegment(recordingId, join(dir, file));
  }

  /** Segment files waiting for room in the store. */
  get waitingSegments(): number {
    return this.leftovers.size;
  }

  stop(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  /**
   * Looks every few seconds whether the store has room for the next kept segment (a statfs,
   * cheap) and offers it only then: no growing back-off, so a segment is taken within seconds of
   * space being freed, and no failed attempts while the disk stays full.
   */
  private scheduleRetry(): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.retryLeftovers();
    }, this.options.retryIntervalMs ?? 5_000);
  }

  private async retryLeftovers(): Promise<void> {
    for (const [file, recordingId] of [...this.leftovers]) {
      let size = 0;
      try {
        size = statSync(file).size;
      } catch {
        this.leftovers.delete(file); // gone (taken by a start-up sweep): nothing to keep
        continue;
      }
      // The copy and its DICOM: twice the file must fit above the reserve.
      if (this.options.store.headroomBytes() < 2 * size) return this.scheduleRetry();
      await this.receiveSegment(recordingId, file);
      if (this.leftovers.has(file)) return; // still refused: scheduled again, in order
    }
    this.options.log.info('every refused video segment is now saved');
  }
}
