import type Database from 'better-sqlite3';

export interface RecordingRow {
  id: number;
  study_uid: string;
  series_uid: string;
  width: number;
  height: number;
  fps: number;
  encoder: string;
  started_at: string;
  ended_at: string | null;
  end_reason: string | null;
}

/**
 * Consultation studies opened on the terminal, and recordings (one series each) with their
 * segments. Same database as the study store; every write is one transaction.
 */
export class RecordingRows {
  constructor(
    private readonly db: Database.Database,
    private readonly now: () => string,
  ) {}

  /** The consultation study open now, opening one (with this UID) when none is. */
  openStudy(newUid: () => string): { studyUid: string; opened: boolean } {
    return this.db.transaction(() => {
      const open = this.db
        .prepare(
          'SELECT study_uid FROM studies WHERE opened_at IS NOT NULL AND closed_at IS NULL ORDER BY id DESC LIMIT 1',
        )
        .get() as { study_uid: string } | undefined;
      if (open) return { studyUid: open.study_uid, opened: false };
      const uid = newUid();
      this.db
        .prepare('INSERT INTO studies (study_uid, opened_at, created_at) VALUES (?, ?, ?)')
        .run(uid, this.now(), this.now());
      return { studyUid: uid, opened: true };
    })();
  }

  closeStudy(studyUid: string): void {
    this.db
      .prepare('UPDATE studies SET closed_at = ? WHERE study_uid = ? AND closed_at IS NULL')
      .run(this.now(), studyUid);
  }

  start(input: Omit<RecordingRow, 'id' | 'started_at' | 'ended_at' | 'end_reason'>): RecordingRow {
    const info = this.db
      .prepare(
        `INSERT INTO recordings (study_uid, series_uid, width, height, fps, encoder, started_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        input.study_uid,
        input.series_uid,
        input.width,
        input.height,
        input.fps,
        input.encoder,
        this.now(),
      );
    return this.get(Number(info.lastInsertRowid));
  }

  end(id: number, reason: string): void {
    this.db
      .prepare('UPDATE recordings SET ended_at = ?, end_reason = ? WHERE id = ? AND ended_at IS NULL')
      .run(this.now(), reason, id);
  }

  get(id: number): RecordingRow {
    const row = this.db.prepare('SELECT * FROM recordings WHERE id = ?').get(id) as RecordingRow | undefined;
    if (!row) throw new Error(`no recording ${id}`);
    return row;
  }

  /** Segments already received for the recording: the next one's index. */
  nextSegmentIndex(id: number): number {
    const row = this.db
      .prepare('SELECT MAX(segment_index) AS last FROM instances WHERE recording_id = ?')
      .get(id) as {
      last: number | null;
    };
    return row.last === null ? 0 : row.last + 1;
  }
}
