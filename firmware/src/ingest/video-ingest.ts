import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { DicomEncodeError } from '../dicom/ecg-waveform.ts';
import { makeUid } from '../dicom/uid.ts';
import { encodeVideoPhotographic } from '../dicom/video-photographic.ts';
import { encodeVlPhotographic } from '../dicom/vl-photographic.ts';
import type { EventBus } from '../events.ts';
import { hasMedia, Mp4Error, mp4TrackHandlers, playableLength } from '../media/mp4-boxes.ts';
import { annexBSpec, type PipelineRunner, runToEos, WorkerGone } from '../media/run-to-eos.ts';
import type { RecordingRows } from '../store/recordings.ts';
import type { StudyStore } from '../store/study-store.ts';
import { PRIORITY, StoreError } from '../store/types.ts';
import { type DicomPatient, storedStudy } from '../study/consultation-studies.ts';
import { queueEncoded } from './queue-encoded.ts';
import { originalOrSetAside } from './read-original.ts';

export interface VideoIngestOptions {
  store: StudyStore;
  recordings: RecordingRows;
  /** The patient of a study, for the instances made in it. */
  patientFor(studyUid: string): DicomPatient;
  worker: PipelineRunner;
  bus: EventBus;
  log: Logger;
  scratchDir: string;
  uidRoot: string;
  stationName: string;
  institutionName: string;
  onQueued(): void;
  now?: () => Date;
  /** How often kept segments look for room in the store (default 5 s). */
  retryIntervalMs?: number;
}

const localIso = (d: Date) =>
  new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 19);

/**
 * A finished recording segment to a queued DICOM Video Photographic instance: the MP4 is made
 * durable in the store first (then the recorder's file is removed), its video extracted as an
 * H.264 byte stream by the media worker for checking, encoded with the MP4 itself, queued. A segment that cannot become DICOM is quarantined, kept.
 */
export class VideoIngest {
  readonly counters = { segments: 0, encoded: 0, refused: 0, failures: 0, emptySegments: 0 };
  private readonly now: () => Date;
  /**
   * Segment files the store refused (storage below its reserve), by path, with their recording.
   * They stay where the recorder wrote them and are offered again once the store has room.
   */
  private readonly leftovers = new Map<string, number>();
  private retryTimer: NodeJS.Timeout | null = null;
  /** Instances being encoded now: a resume never starts a second run of one. */
  private readonly processing = new Set<number>();

  constructor(private readonly options: VideoIngestOptions) {
    this.now = options.now ?? (() => new Date());
  }

  async receiveSegment(recordingId: number, file: string): Promise<void> {
    const { store, recordings, bus, log } = this.options;
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(file);
    } catch (error) {
      this.counters.failures++;
      log.error({ recording: recordingId, file, err: error }, 'segment file vanished before it was saved');
      return;
    }
    if (!hasMedia(bytes)) {
      // The recorder (or the terminal) died as this segment began: a header at most, no picture.
      // Not a capture; the empty file is removed, counted and logged (found by the kill test:
      // every empty segment has the same hash, so they were taken for one instance).
      this.counters.emptySegments++;
      log.warn({ recording: recordingId, file, bytes: bytes.length }, 'segment without any picture removed');
      rmSync(file, { force: true });
      return;
    }
    let result: { id: number; duplicate: boolean };
    try {
      result = store.receive({
        kind: 'video',
        source: `recording-${recordingId}`,
        bytes,
        originalName: file.split('/').at(-1) ?? null,
        priority: PRIORITY.video,
        incomplete: null,
        recording: { id: recordingId, segmentIndex: recordings.nextSegmentIndex(recordingId) },
      });
    } catch (error) {
      this.counters.refused++;
      const reason = error instanceof StoreError ? error.message : String(error);
      // The recorder's own file stays where it is: nothing is deleted that was not saved. It is
      // offered to the store again once there may be room.
      log.error({ recording: recordingId, file, err: reason }, 'video segment refused: could not be kept');
      if (!this.leftovers.has(file))
        bus.emit({ type: 'capture-refused', source: `recording-${recordingId}`, reason });
      this.leftovers.set(file, recordingId);
      this.scheduleRetry();
      return;
    }
    this.leftovers.delete(file);
    rmSync(file, { force: true });
    this.counters.segments++;
    bus.emit({ type: 'instance', instanceId: result.id, state: 'captured', reason: null });
    await this.process(result.id);
  }

  async process(id: number): Promise<void> {
    if (this.processing.has(id)) return;
    this.processing.add(id);
    try {
      await this.processOnce(id);
    } finally {
      this.processing.delete(id);
    }
  }

  private async processOnce(id: number): Promise<void> {
    const { store, recordings, bus, log } = this.options;
    const row = store.get(id);
    if (row.state !== 'captured' || row.kind !== 'video' || row.recording_id === null) return;
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
    const recorded = originalOrSetAside(this.options, row);
    if (!recorded) return;
    const container = recorded.subarray(0, playableLength(recorded));
    let source = original;
    if (container.length < recorded.length || store.atRest.mode !== 'off') {
      writeFileSync(scratch.trimmed, container);
      source = scratch.trimmed;
    }
    let handlers: string[];
    try {
      handlers = mp4TrackHandlers(container);
    } catch (error) {
      if (!(error instanceof Mp4Error)) throw error;
      handlers = []; // the encoder refuses it below, with the reason
    }
    let reason: string | null;
    try {
      let problem: string | null;
      try {
        const spec = annexBSpec(`annexb-${id}`, source, scratch.annexB, handlers.includes('soun'));
        problem = await runToEos(this.options.worker, spec, 30_000);
      } catch (error) {
        if (!(error instanceof WorkerGone)) throw error;
        // Not the segment's fault: it stays captured and is processed once the worker is back.
        log.warn({ instance: id, reason: error.message }, 'video segment waits for the media worker');
        return;
      }
      reason = problem ? `cannot read the segment: ${problem}` : null;
      if (!reason) {
        try {
          const stream = readFileSync(scratch.annexB);
          const uid = makeUid(this.options.uidRoot, 'instance', id, this.now().getTime());
          const patient = this.options.patientFor(recording.study_uid);
          const dicom = encodeVideoPhotographic({
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
            seriesDescription: `Consultation video (${recording.encoder})`,
          });
          queueEncoded(this.options, id, {
            study: storedStudy(recording.study_uid, patient),
            seriesUid: recording.series_uid,
            sopUid: uid,
            dicom,
            warnings: [],
          });
          this.counters.encoded++;
        } catch (error) {
          if (!(error instanceof DicomEncodeError)) throw error;
          reason = `cannot make DICOM of the segment: ${error.message}`;
        }
      }
    } finally {
      for (const file of Object.values(scratch)) rmSync(file, { force: true });
    }
    if (reason) {
      this.counters.failures++;
      store.quarantine(id, 'undecodable', reason);
      log.warn({ instance: id, reason }, 'video segment quarantined');
      bus.emit({ type: 'instance', instanceId: id, state: 'quarantined', reason });
    }
  }

  /**
   * A still from the camera: saved durably as the JPEG it is (with the study it was taken in), then
   * a VL Photographic instance in its own series of that study.
   */
  receiveStill(jpeg: Uint8Array, studyUid: string): { instanceId: number; contentSha256: string } {
    const { store, bus } = this.options;
    const result = store.receive({
      kind: 'still',
      source: 'camera',
      bytes: jpeg,
      originalName: null,
      priority: PRIORITY.still,
      incomplete: null,
      studyUid,
    });
    if (!result.duplicate) {
      bus.emit({ type: 'instance', instanceId: result.id, state: 'captured', reason: null });
      this.encodeStill(result.id);
    }
    return { instanceId: result.id, contentSha256: store.get(result.id).content_sha256 };
  }

  /** Makes a saved still DICOM and queues it: at capture, or after a restart cut in between. */
  private encodeStill(id: number): void {
    const { store, bus, log } = this.options;
    const row = store.get(id);
    if (row.state !== 'captured' || row.kind !== 'still') return;
    const studyUid = row.capture_study_uid;
    const takenAt = new Date(row.received_at);
    const patient = studyUid ? this.options.patientFor(studyUid) : null;
    const jpeg = originalOrSetAside(this.options, row);
    if (!jpeg) return;
    try {
      if (!studyUid || !patient) throw new DicomEncodeError('the still was saved without its study');
      const epoch = takenAt.getTime();
      const uids = {
        study: studyUid,
        series: makeUid(this.options.uidRoot, 'series', id, epoch),
        sop: makeUid(this.options.uidRoot, 'instance', id, epoch),
      };
      const dicom = encodeVlPhotographic({
        jpeg,
        uids,
        originalSha256: row.content_sha256,
        takenAt: localIso(takenAt),
        stationName: this.options.stationName,
        institutionName: this.options.institutionName,
        seriesNumber: 500 + id,
        patient,
      });
      queueEncoded(this.options, id, {
        study: storedStudy(studyUid, patient),
        seriesUid: uids.series,
        sopUid: uids.sop,
        dicom,
        warnings: [],
      });
    } catch (error) {
      if (!(error instanceof DicomEncodeError)) throw error;
      const reason = `cannot make DICOM of the still: ${error.message}`;
      store.quarantine(id, 'undecodable', reason);
      log.warn({ instance: id, err: error.message }, 'still quarantined');
      bus.emit({ type: 'instance', instanceId: id, state: 'quarantined', reason });
    }
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
  async processCaptured(): Promise<void> {
    for (const row of this.options.store.inState('captured')) {
      if (row.kind === 'video') await this.process(row.id);
      else if (row.kind === 'still') this.encodeStill(row.id);
    }
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
