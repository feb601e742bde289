export type InstanceState =
  | 'captured'
  | 'encoded'
  | 'queued'
  | 'delivering'
  | 'delivered'
  | 'purgeable'
  | 'quarantined';

export type InstanceKind = 'ecg' | 'video' | 'still' | 'document';

/**
 * Why an instance was set aside. The kiosk tells staff what to do from this; the reason text
 * beside it is for technicians.
 */
export type QuarantineCode =
  | 'incomplete-transfer'
  | 'undecodable'
  | 'rejected-by-dc'
  /** A file on the terminal's disk no longer matches the hash recorded when it was saved. */
  | 'corrupted'
  /** A file the store recorded is gone from the disk (found at start-up). */
  | 'missing-file';

/** Delivery priority (design.md): STAT ECG first, then stills and documents, video, logs. */
export const PRIORITY = { statEcg: 0, ecg: 1, still: 2, document: 2, video: 3, log: 4 } as const;

export interface InstanceRow {
  id: number;
  content_sha256: string;
  kind: InstanceKind;
  source: string;
  original_path: string;
  original_name: string | null;
  study_id: number | null;
  series_uid: string | null;
  sop_uid: string | null;
  dicom_path: string | null;
  /** SHA-256 of the DICOM file as written; null for instances encoded before schema 6. */
  dicom_sha256: string | null;
  /**
   * The consultation study open when a still or document was taken, recorded with the capture so
   * that one saved just before a crash is still encoded into its study after the restart.
   */
  capture_study_uid: string | null;
  state: InstanceState;
  priority: number;
  quarantine_reason: string | null;
  /** Null for rows quarantined before schema 3. */
  quarantine_code: QuarantineCode | null;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  warnings: string | null;
  received_at: string;
  updated_at: string;
  delivering_dc: string | null;
  recording_id: number | null;
  segment_index: number | null;
  /** When its files were removed after delivery (state 'purgeable'); null while they are kept. */
  purged_at: string | null;
}

export interface StudyRow {
  id: number;
  study_uid: string;
  patient_id: string | null;
  patient_name: string | null;
  patient_birth_date: string | null;
  patient_sex: string | null;
  accession_number: string | null;
  created_at: string;
}

export class StoreError extends Error {
  constructor(
    readonly code: 'DISK_LOW' | 'WRITE_FAILED' | 'NOT_FOUND' | 'REFUSED' | 'CORRUPTED' | 'BAD_TRANSITION',
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

/** A committed change of an instance's state, as the store announces it. */
export interface InstanceTransition {
  instanceId: number;
  state: InstanceState;
  /** Why it was set aside or will be retried; null otherwise. */
  reason: string | null;
}
