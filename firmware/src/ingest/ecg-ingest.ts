import type { Logger } from 'pino';
import {
  type CartRecord,
  decodeScp,
  isScpDecodeError,
  type ScpPatient,
  type VendorProfile,
} from '#device-drivers';
import { DicomEncodeError, encodeEcgWaveform } from '../dicom/ecg-waveform.ts';
import { makeUid } from '../dicom/uid.ts';
import type { EventBus } from '../events.ts';
import type { OpenStudy } from '../store/studies.ts';
import type { StudyStore } from '../store/study-store.ts';
import { PRIORITY, StoreError } from '../store/types.ts';
import { originalOrSetAside } from './read-original.ts';

export interface IngestCounters {
  received: number;
  duplicates: number;
  refused: number;
  decodeFailures: number;
  decodeWarnings: number;
  encoded: number;
}

export interface EcgIngestOptions {
  store: StudyStore;
  bus: EventBus;
  log: Logger;
  uidRoot: string;
  stationName: string;
  institutionName: string;
  profileFor(cartId: string): 'auto' | VendorProfile;
  /** The consultation study open now: an ECG goes into it (null: each ECG is its own study). */
  openStudy?(): OpenStudy | null;
  onQueued(): void;
  now?: () => Date;
}

/**
 * From a cart's bytes to a queued DICOM instance. Step 1 (`receive`) makes the original durable
 * and is what the cart's final ACK waits for; step 2 (`process`) decodes and encodes, and may
 * quarantine, but never loses the original.
 */
export class EcgIngest {
  readonly counters: IngestCounters = {
    received: 0,
    duplicates: 0,
    refused: 0,
    decodeFailures: 0,
    decodeWarnings: 0,
    encoded: 0,
  };
  private readonly now: () => Date;

  constructor(private readonly options: EcgIngestOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /** Durable intake; rejects (so the cart is told "failed") when the record cannot be kept. */
  async receive(record: CartRecord): Promise<void> {
    const { store, bus, log } = this.options;
    let result: { id: number; duplicate: boolean };
    try {
      result = store.receive({
        kind: 'ecg',
        source: record.cartId,
        bytes: record.bytes,
        originalName: record.fileName,
        priority: PRIORITY.ecg,
        incomplete: record.incomplete,
      });
    } catch (error) {
      this.counters.refused++;
      const reason = error instanceof StoreError ? error.message : String(error);
      log.error({ cart: record.cartId, err: reason }, 'ECG refused: could not be kept');
      bus.emit({ type: 'capture-refused', source: record.cartId, reason });
      throw error;
    }
    if (result.duplicate) {
      this.counters.duplicates++;
      log.info({ cart: record.cartId, instance: result.id }, 'the cart sent a record again; kept once');
      return;
    }
    this.counters.received++;
    const row = store.get(result.id);
    log.info(
      { cart: record.cartId, instance: result.id, bytes: record.bytes.length, state: row.state },
      'ECG saved',
    );
    bus.emit({ type: 'instance', instanceId: result.id, state: row.state, reason: row.quarantine_reason });
    if (row.state === 'captured') setImmediate(() => this.process(result.id));
  }

  /** Decodes and encodes one captured instance; quarantines it with the reason when it cannot. */
  process(id: number): void {
    const { store, bus, log } = this.options;
    const row = store.get(id);
    if (row.state !== 'captured' || row.kind !== 'ecg') return;
    const original = originalOrSetAside(this.options, row);
    if (!original) return;
    try {
      const record = decodeScp(original, { profile: this.options.profileFor(row.source) });
      if (record.warnings.length > 0) {
        this.counters.decodeWarnings++;
        log.warn({ instance: id, warnings: record.warnings }, 'ECG decoded with warnings');
      }
      const epoch = this.now().getTime();
      const root = this.options.uidRoot;
      const placed = this.place(id, record.patient, makeUid(root, 'study', id, epoch));
      const warnings = placed.warning ? [...record.warnings, placed.warning] : record.warnings;
      const uids = {
        study: placed.studyUid,
        series: makeUid(root, 'series', id, epoch),
        sop: makeUid(root, 'instance', id, epoch),
      };
      const patient = placed.patient;
      const encoded = encodeEcgWaveform({
        record: { ...record, patient },
        original,
        originalName: row.original_name,
        uids,
        instanceNumber: 1,
        seriesNumber: 1,
        stationName: this.options.stationName,
        institutionName: this.options.institutionName,
        receivedAt: new Date(row.received_at),
      });
      const name = [patient.lastName, patient.firstName].filter(Boolean).join(' ') || null;
      store.attachEncoded(id, {
        study: {
          uid: uids.study,
          patientId: patient.id,
          patientName: name,
          birthDate: patient.birthDate,
          sex: patient.sex,
        },
        seriesUid: uids.series,
        sopUid: uids.sop,
        dicom: encoded.bytes,
        warnings,
        // The cart marked it STAT (SCP-ECG Section 1 tag 24): it goes before everything queued.
        ...(record.statCode !== null && record.statCode > 0 ? { priority: PRIORITY.statEcg } : {}),
      });
      if (record.statCode !== null && record.statCode > 0)
        log.info({ instance: id, statCode: record.statCode }, 'STAT ECG: delivered first');
      if (placed.warning) bus.emit({ type: 'ecg-patient-mismatch', instanceId: id });
      bus.emit({ type: 'instance', instanceId: id, state: 'encoded', reason: null });
      store.enqueue(id);
      this.counters.encoded++;
      bus.emit({ type: 'instance', instanceId: id, state: 'queued', reason: null });
      this.options.onQueued();
    } catch (error) {
      if (!isScpDecodeError(error) && !(error instanceof DicomEncodeError)) {
        log.error(
          { instance: id, err: error },
          'ECG processing failed; it stays captured and is retried at the next start',
        );
        return;
      }
      this.counters.decodeFailures++;
      const reason = `cannot decode the cart's record: ${error.message}`;
      store.quarantine(id, 'undecodable', reason);
      log.warn({ instance: id, reason }, 'ECG quarantined');
      bus.emit({ type: 'instance', instanceId: id, state: 'quarantined', reason });
    }
  }

  /**
   * Which study an ECG goes into, under which patient: the open consultation study, with its
   * patient, unless the cart names a different patient ID (Section 1) — then the ECG keeps its own
   * study and the cart's patient, flagged for staff to check. No open study: its own study.
   */
  private place(
    id: number,
    cart: ScpPatient,
    ownStudyUid: string,
  ): { studyUid: string; patient: ScpPatient; warning: string | null } {
    const open = this.options.openStudy?.() ?? null;
    if (!open) return { studyUid: ownStudyUid, patient: cart, warning: null };
    const cartId = cart.id?.trim().toUpperCase() || null;
    const studyId = open.patient?.id.toUpperCase() ?? null;
    if (cartId && studyId && cartId !== studyId) {
      this.options.log.warn(
        { instance: id },
        'ECG patient ID differs from the open study: kept in its own study',
      );
      return {
        studyUid: ownStudyUid,
        patient: cart,
        warning:
          "the patient ID entered on the cart is not the open study's patient: the ECG is kept in a study of its own; check which patient it belongs to",
      };
    }
    if (!open.patient) return { studyUid: open.uid, patient: cart, warning: null };
    const p = open.patient;
    return {
      studyUid: open.uid,
      patient: {
        id: p.id,
        lastName: p.name || null,
        firstName: null,
        birthDate: p.birthDate,
        sex: p.sex === 'M' || p.sex === 'F' ? p.sex : p.sex === 'O' ? 'U' : null,
      },
      warning: null,
    };
  }

  /** After a restart: finish every unfinished item. */
  resume(): void {
    const { store } = this.options;
    for (const row of store.inState('captured')) this.process(row.id);
    for (const row of store.inState('encoded')) store.enqueue(row.id);
    this.options.onQueued();
  }
}
