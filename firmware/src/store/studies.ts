import type Database from 'better-sqlite3';
import type { AtRest } from './at-rest.ts';
import { openPatientColumns } from './patient-columns.ts';
import type { StudyRow } from './types.ts';

/** What a study records of its patient (design.md: ID, name, sex, birth date; nothing else). */
export interface StudyPatient {
  /** The 18-character resident ID number, or the clinic's own patient ID. */
  id: string;
  name: string;
  sex: 'M' | 'F' | 'O' | null;
  /** YYYY-MM-DD. */
  birthDate: string | null;
  /** Where the identity came from, and whether the province has confirmed it. */
  source: 'id-card' | 'qr' | 'manual';
  verification: 'unverified' | 'verified';
}

export interface OpenStudy {
  id: number;
  uid: string;
  patient: StudyPatient | null;
  openedAt: string;
}

type Row = StudyRow & {
  patient_source: string | null;
  patient_verification: string | null;
  /** Null for studies made before schema 4 or by an ECG outside any consultation. */
  opened_at: string | null;
};

const toStudy = (sealed: Row, atRest: AtRest): OpenStudy => {
  const row = openPatientColumns(atRest, sealed);
  return {
    id: row.id,
    uid: row.study_uid,
    openedAt: row.opened_at ?? '',
    patient:
      row.patient_id === null
        ? null
        : {
            id: row.patient_id,
            name: row.patient_name ?? '',
            sex: (row.patient_sex as StudyPatient['sex']) ?? null,
            birthDate: row.patient_birth_date,
            source: (row.patient_source as StudyPatient['source']) ?? 'manual',
            verification: (row.patient_verification as StudyPatient['verification']) ?? 'unverified',
          },
  };
};

/**
 * The consultation study open on the terminal: every capture (ECG, stills, video, documents) goes
 * into it, under its patient. At most one study is open; identifying a patient opens theirs.
 * Same database as the study store; each change is one transaction.
 */
export class StudyRows {
  constructor(
    private readonly db: Database.Database,
    private readonly now: () => string,
    /** Patient fields are sealed on the way in and opened on the way out (at-rest.ts). */
    private readonly atRest: AtRest,
  ) {}

  open(): OpenStudy | null {
    const row = this.db
      .prepare(
        'SELECT * FROM studies WHERE opened_at IS NOT NULL AND closed_at IS NULL ORDER BY id DESC LIMIT 1',
      )
      .get() as Row | undefined;
    return row ? toStudy(row, this.atRest) : null;
  }

  /** The open study, opening one without a patient when none is; its UID is made from its row id. */
  current(newUid: (studyRowId: number) => string): OpenStudy {
    return this.db.transaction(() => this.open() ?? this.insert(newUid, null))();
  }

  /**
   * A study for this patient: the open one when it is already theirs, or when it has no patient and
   * nothing in it yet (staff started the camera before reading the card); otherwise the open study
   * is closed and a new one opened.
   */
  openFor(
    patient: StudyPatient,
    newUid: (studyRowId: number) => string,
  ): { study: OpenStudy; opened: boolean } {
    return this.db.transaction(() => {
      const open = this.open();
      if (open?.patient?.id === patient.id) return { study: open, opened: false };
      if (open && open.patient === null && this.instanceCount(open.id, open.uid) === 0) {
        this.setPatient(open.id, patient);
        return { study: { ...open, patient }, opened: false };
      }
      if (open) this.closeRow(open.id);
      return { study: this.insert(newUid, patient), opened: true };
    })();
  }

  /** Closes the open study (the consultation is over); the next capture opens a new one. */
  close(): OpenStudy | null {
    return this.db.transaction(() => {
      const open = this.open();
      if (open) this.closeRow(open.id);
      return open;
    })();
  }

  /** The patient of any study by UID (open or closed), for encoding its instances. */
  patientOf(uid: string): StudyPatient | null {
    const row = this.db.prepare('SELECT * FROM studies WHERE study_uid = ?').get(uid) as Row | undefined;
    return row ? toStudy(row, this.atRest).patient : null;
  }

  private instanceCount(studyId: number, uid: string): number {
    const stored = (
      this.db.prepare('SELECT COUNT(*) AS n FROM instances WHERE study_id = ?').get(studyId) as { n: number }
    ).n;
    const recording = (
      this.db.prepare('SELECT COUNT(*) AS n FROM recordings WHERE study_uid = ?').get(uid) as { n: number }
    ).n;
    return stored + recording;
  }

  private setPatient(id: number, p: StudyPatient): void {
    this.db
      .prepare(
        `UPDATE studies SET patient_id = ?, patient_name = ?, patient_sex = ?, patient_birth_date = ?,
           patient_source = ?, patient_verification = ? WHERE id = ?`,
      )
      .run(
        this.atRest.sealField('patient_id', p.id),
        this.atRest.sealField('patient_name', p.name),
        this.atRest.sealField('patient_sex', p.sex),
        this.atRest.sealField('patient_birth_date', p.birthDate),
        p.source,
        p.verification,
        id,
      );
  }

  private closeRow(id: number): void {
    this.db.prepare('UPDATE studies SET closed_at = ? WHERE id = ?').run(this.now(), id);
  }

  private insert(newUid: (studyRowId: number) => string, patient: StudyPatient | null): OpenStudy {
    const id = (this.db.prepare('SELECT COALESCE(MAX(id), 0) + 1 AS id FROM studies').get() as { id: number })
      .id;
    const uid = newUid(id);
    const now = this.now();
    this.db
      .prepare('INSERT INTO studies (id, study_uid, opened_at, created_at) VALUES (?, ?, ?, ?)')
      .run(id, uid, now, now);
    if (patient) this.setPatient(id, patient);
    return { id, uid, patient, openedAt: now };
  }
}
