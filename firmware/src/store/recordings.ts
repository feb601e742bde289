import type Database from 'better-sqlite3';

export interface RecordingRow {
  id: number;
  study_uid: string;
  series_uid: string;
  width: number;
  height: number;
  fps: number;
  encoder: string;
  /** The camera alone, or both sides of a call (the specialist in a corner, both voices). */
  holds: 'camera' | 'call';
  started_at: string;
  ended_at: string | null;
  end_reason: string | null;
}

/**
 * Recordings (one series each) with their
 * segments. Same database as the study store; every write is one transaction.
 */
export class RecordingRows {
  constructor(
    private readonly db: Database.Database,
    private readonly now: () => string,
  ) {}

  /** The next row id of a table; only inside a transaction (one writer: the daemon). */
  private nextId(table: 'recordings'): number {
    return (this.db.prepare(`SELECT COALESCE(MAX(id), 0) + 1 AS id FROM ${table}`).get() as { id: number })
      .id;
  }

  /** A new recording, one series: its series UID is made from the recording's row id. */
  start(
    input: Omit<RecordingRow, 'id' | 'series_uid' | 'started_at' | 'ended_at' | 'end_reason'>,
    seriesUid: (recordingId: number) => string,
  ): RecordingRow {
    const id = this.db.transaction(() => {
      const next = this.nextId('recordings');
      this.db
        .prepare(
          `INSERT INTO recordings (id, study_uid, series_uid, width, height, fps, encoder, holds, started_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          next,
          input.study_uid,
          seriesUid(next),
          input.width,
          input.height,
          input.fps,
          input.encoder,
          input.holds,
          this.now(),
        );
      return next;
    })();
    return this.get(id);
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
}
