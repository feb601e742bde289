import type { Logger } from 'pino';
import { makeUid } from '../dicom/uid.ts';
import type { EventBus } from '../events.ts';
import type { OpenStudy, StudyPatient, StudyRows } from '../store/studies.ts';
import type { EncodedInstance } from '../store/study-store.ts';

/** The patient fields a DICOM instance carries (Patient module, PS3.3 C.7.1.1). */
export interface DicomPatient {
  id: string | null;
  name: string | null;
  birthDate: string | null;
  sex: 'M' | 'F' | 'O' | null;
}

export const NO_PATIENT: DicomPatient = { id: null, name: null, birthDate: null, sex: null };

/**
 * A camera or scanner capture made DICOM, as the store records it: the instance, its series, and
 * the study (with its patient) it belongs to. No warnings: those come from decoding a cart's record.
 */
export function instanceInStudy(
  studyUid: string,
  p: DicomPatient,
  uids: { series: string; sop: string },
  dicom: Uint8Array,
): EncodedInstance {
  return {
    study: { uid: studyUid, patientId: p.id, patientName: p.name, birthDate: p.birthDate, sex: p.sex },
    seriesUid: uids.series,
    sopUid: uids.sop,
    dicom,
    warnings: [],
  };
}

/**
 * The consultation study, as the rest of the daemon sees it: captures ask for the open study (one
 * is opened without a patient when none is), identifying a patient opens theirs, staff close it
 * when the patient leaves. Study UIDs are made here, under the configured root.
 */
export class ConsultationStudies {
  constructor(
    private readonly options: {
      rows: StudyRows;
      uidRoot: string;
      bus: EventBus;
      log: Logger;
    },
  ) {}

  private readonly newUid = (row: number) => makeUid(this.options.uidRoot, 'study', row, Date.now());

  open(): OpenStudy | null {
    return this.options.rows.open();
  }

  current(): OpenStudy {
    const before = this.options.rows.open();
    const study = this.options.rows.current(this.newUid);
    if (!before) this.opened(study);
    return study;
  }

  openFor(patient: StudyPatient): OpenStudy {
    const { study, opened } = this.options.rows.openFor(patient, this.newUid);
    if (opened) this.opened(study);
    else this.options.bus.emit({ type: 'changed', part: 'study' });
    return study;
  }

  close(): OpenStudy | null {
    const closed = this.options.rows.close();
    if (closed) {
      this.options.log.info({ study: closed.uid }, 'study closed');
      this.options.bus.emit({ type: 'study', state: 'closed', withPatient: closed.patient !== null });
      this.options.bus.emit({ type: 'changed', part: 'study' });
    }
    return closed;
  }

  /** The DICOM patient fields for instances of a study (empty when it has no patient). */
  patientFor(uid: string): DicomPatient {
    const p = this.options.rows.patientOf(uid);
    return p ? { id: p.id, name: p.name, birthDate: p.birthDate, sex: p.sex } : NO_PATIENT;
  }

  private opened(study: OpenStudy): void {
    this.options.log.info({ study: study.uid, withPatient: study.patient !== null }, 'study opened');
    this.options.bus.emit({ type: 'study', state: 'opened', withPatient: study.patient !== null });
    this.options.bus.emit({ type: 'changed', part: 'study' });
  }
}
