import type { Logger } from 'pino';
import type { CartRecord, ScpPatient, VendorProfile } from '#device-drivers';
import type { Config } from '../config/schema.ts';
import { type CpuPool, CpuTaskError } from '../cpu/cpu-pool.ts';
import { DicomEncodeError } from '../dicom/ecg-waveform.ts';
import { makeUid } from '../dicom/uid.ts';
import type { EventBus } from '../events.ts';
import type { Service } from '../service.ts';
import type { OpenStudy } from '../store/studies.ts';
import type { EncodedInstance } from '../store/study-store.ts';
import { type InstanceRow, PRIORITY } from '../store/types.ts';
import { type CaptureEncoder, type CapturePipeline, CaptureUnusable } from './capture-pipeline.ts';

export interface IngestCounters {
  received: number;
  duplicates: number;
  refused: number;
  decodeFailures: number;
  decodeWarnings: number;
  encoded: number;
}

export interface EcgIngestOptions {
  pipeline: CapturePipeline;
  /** Worker threads for decoding and DICOM encoding (off the event loop the carts share). */
  cpu: Pick<CpuPool, 'run'>;
  bus: EventBus;
  log: Logger;
  uidRoot: string;
  stationName: string;
  institutionName: string;
  profileFor(cartId: string): 'auto' | VendorProfile;
  /** The consultation study open now: an ECG goes into it (none open: each ECG is its own study). */
  studies?: { open(): OpenStudy | null };
  now?: () => Date;
}

/**
 * ECGs from the carts: a cart's record is received through the capture pipeline (its final ACK
 * waits for that), then decoded, placed in a study and encoded as a DICOM waveform (the
 * pipeline's encoder for 'ecg'). A record that cannot be decoded is set aside, never lost.
 */
export class EcgIngest implements CaptureEncoder, Service<IngestCounters> {
  readonly name = 'ecg-ingest';
  readonly kind = 'ecg' as const;
  readonly noun = 'ECG';
  private decodeWarnings = 0;
  private readonly now: () => Date;

  constructor(private readonly options: EcgIngestOptions) {
    this.now = options.now ?? (() => new Date());
    options.pipeline.register(this);
  }

  /** ECGs saved before a restart (or a crash) are decoded and encoded now; carts connect meanwhile. */
  start(): void {
    void this.options.pipeline.resume(['ecg']);
  }

  stop(): void {}

  snapshot(): IngestCounters {
    return this.counters;
  }

  get counters(): IngestCounters {
    const c = this.options.pipeline.counters('ecg');
    return {
      received: c.received,
      duplicates: c.duplicates,
      refused: c.refused,
      decodeFailures: c.setAside,
      decodeWarnings: this.decodeWarnings,
      encoded: c.queued,
    };
  }

  /** Durable intake; rejects (so the cart is told "failed") when the record cannot be kept. */
  async receive(record: CartRecord): Promise<void> {
    const { pipeline, log } = this.options;
    const result = await pipeline.receive({
      kind: 'ecg',
      source: record.cartId,
      bytes: record.bytes,
      originalName: record.fileName,
      priority: PRIORITY.ecg,
      incomplete: record.incomplete,
    });
    if (result.duplicate) {
      log.info({ cart: record.cartId, instance: result.id }, 'the cart sent a record again; kept once');
      return;
    }
    log.info(
      { cart: record.cartId, instance: result.id, bytes: record.bytes.length, incomplete: record.incomplete },
      'ECG saved',
    );
    // The cart's ACK goes first; decoding and encoding follow.
    if (!record.incomplete) setImmediate(() => void pipeline.process(result.id));
  }

  /** The cart's record decoded, placed in its study and encoded as a DICOM waveform (in a worker). */
  async encode(row: InstanceRow, original: Uint8Array): Promise<EncodedInstance> {
    const { log, cpu } = this.options;
    const id = row.id;
    try {
      const record = await cpu.run('scp-decode', {
        bytes: original,
        profile: this.options.profileFor(row.source),
      });
      if (record.warnings.length > 0) {
        this.decodeWarnings++;
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
      const dicom = await cpu.run('ecg-waveform', {
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
      // The cart marked it STAT (SCP-ECG Section 1 tag 24): it goes before everything queued.
      const stat = record.statCode !== null && record.statCode > 0;
      if (stat) log.info({ instance: id, statCode: record.statCode }, 'STAT ECG: delivered first');
      if (placed.warning) this.options.bus.emit({ type: 'ecg-patient-mismatch', instanceId: id });
      const name = [patient.lastName, patient.firstName].filter(Boolean).join(' ') || null;
      return {
        study: {
          uid: uids.study,
          patientId: patient.id,
          patientName: name,
          birthDate: patient.birthDate,
          sex: patient.sex,
        },
        seriesUid: uids.series,
        sopUid: uids.sop,
        dicom,
        warnings,
        ...(stat ? { priority: PRIORITY.statEcg } : {}),
      };
    } catch (error) {
      const unusable =
        error instanceof DicomEncodeError || (error instanceof CpuTaskError && error.kind === 'undecodable');
      if (unusable) throw new CaptureUnusable(`cannot decode the cart's record: ${(error as Error).message}`);
      throw error;
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
    const open = this.options.studies?.open() ?? null;
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
}

/** The UID root, station, institution and each cart's vendor profile, from the configuration. */
export function ecgIngestOptions(config: Config) {
  const profiles = new Map(config.carts.map((c) => [c.id, c.vendorProfile]));
  return {
    uidRoot: config.device.uidRoot,
    stationName: config.device.id,
    institutionName: config.device.institutionName,
    profileFor: (cartId: string) => profiles.get(cartId) ?? 'auto',
  } satisfies Partial<EcgIngestOptions>;
}
