import { existsSync, mkdirSync, readdirSync, renameSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { fsyncDirectory, isTempFile } from './durable-file.ts';
import { finishPurges } from './purge.ts';

/** One thing start-up reconciliation did, for its own log line. */
export interface RecoveryAction {
  action: 'requeued' | 'temp-removed' | 'orphan-kept' | 'missing-file' | 'purge-finished';
  /** An instance id or a path under the data directory. */
  subject: string;
  detail: string;
}

/** What start-up reconciliation found and did, per kind (counters in status and health). */
export interface RecoveryReport {
  /** `PRAGMA quick_check`: 'ok', or what SQLite found wrong. */
  integrity: string;
  /** Uploads cut by the crash ('delivering'), queued again: STOW-RS is idempotent by SOP Instance UID. */
  requeued: number;
  /** Temp files of writes the crash interrupted before their rename: never acknowledged, removed. */
  tempFilesRemoved: number;
  /** Complete files no row refers to (written, then the crash came before the commit): moved to orphans/. */
  orphanFiles: number;
  /** Rows whose file is gone: quarantined as 'missing-file', never sent. */
  missingFiles: number;
  /** Files of delivered instances whose removal the crash interrupted (already 'purgeable'): removed. */
  purgesFinished: number;
  actions: RecoveryAction[];
}

const STORE_DIRS = ['originals', 'dicom'] as const;
const SETTLED = new Set(['delivered', 'purgeable', 'quarantined']);

/**
 * Reconciles the database with the files after a crash or power cut. Nothing is deleted silently:
 * only temp files (incomplete by construction: a write is renamed into place after its fsync) are
 * removed; a complete file without a row is kept in orphans/ for a technician; each action is
 * returned for a log line and counted.
 *
 * INVARIANTS: runs once at start, before ingest and the uplink, so no write races it; the file
 * moves are synced (directory fsync) before the report is returned.
 */
export function reconcile(db: Database.Database, dataDir: string, nowIso: string): RecoveryReport {
  const actions: RecoveryAction[] = [];
  const integrity = (db.pragma('quick_check') as Array<{ quick_check: string }>)
    .map((r) => r.quick_check)
    .join('; ');
  const stuck = db
    .prepare(`SELECT id, delivering_dc FROM instances WHERE state = 'delivering'`)
    .all() as Array<{
    id: number;
    delivering_dc: string | null;
  }>;
  const requeue = db.prepare(
    `UPDATE instances SET state = 'queued', delivering_dc = NULL, next_attempt_at = 0, updated_at = ? WHERE id = ?`,
  );
  db.transaction(() => {
    for (const row of stuck) {
      requeue.run(nowIso, row.id);
      actions.push({
        action: 'requeued',
        subject: `instance ${row.id}`,
        detail: `upload to data centre ${row.delivering_dc ?? '?'} was cut by the restart; queued again`,
      });
    }
  })();

  const referenced = new Set<string>();
  const rows = db.prepare('SELECT id, state, original_path, dicom_path FROM instances').all() as Array<{
    id: number;
    state: string;
    original_path: string;
    dicom_path: string | null;
  }>;
  for (const row of rows) {
    referenced.add(row.original_path);
    if (row.dicom_path) referenced.add(row.dicom_path);
  }

  let tempFilesRemoved = 0;
  let orphanFiles = 0;
  for (const sub of STORE_DIRS) {
    const dir = join(dataDir, sub);
    if (!existsSync(dir)) continue;
    let moved = false;
    for (const name of readdirSync(dir)) {
      const relative = join(sub, name);
      if (isTempFile(name)) {
        unlinkSync(join(dir, name));
        tempFilesRemoved++;
        actions.push({
          action: 'temp-removed',
          subject: relative,
          detail: 'write interrupted before its rename',
        });
      } else if (!referenced.has(relative)) {
        const orphanDir = join(dataDir, 'orphans', sub);
        mkdirSync(orphanDir, { recursive: true });
        renameSync(join(dir, name), join(orphanDir, name));
        moved = true;
        orphanFiles++;
        actions.push({
          action: 'orphan-kept',
          subject: relative,
          detail: `complete file without a database row (the restart came before its commit); kept in orphans/${sub}`,
        });
      }
    }
    if (moved) {
      fsyncDirectory(dir);
      fsyncDirectory(join(dataDir, 'orphans', sub));
    }
  }

  let missingFiles = 0;
  const quarantine = db.prepare(
    `UPDATE instances SET state = 'quarantined', quarantine_code = 'missing-file', quarantine_reason = ?,
       updated_at = ? WHERE id = ?`,
  );
  db.transaction(() => {
    for (const row of rows) {
      if (SETTLED.has(row.state)) continue;
      const gone = [row.original_path, row.dicom_path].filter(
        (p): p is string => p !== null && !existsSync(join(dataDir, p)),
      );
      if (gone.length === 0) continue;
      const reason = `file missing from the terminal's disk: ${gone.join(', ')}`;
      quarantine.run(reason, nowIso, row.id);
      missingFiles++;
      actions.push({ action: 'missing-file', subject: `instance ${row.id}`, detail: reason });
    }
  })();

  const purgesFinished = finishPurges(db, dataDir);
  if (purgesFinished > 0)
    actions.push({
      action: 'purge-finished',
      subject: `${purgesFinished} file(s)`,
      detail: 'local copies of delivered instances whose removal the restart interrupted: removed',
    });

  return {
    integrity,
    requeued: stuck.length,
    tempFilesRemoved,
    orphanFiles,
    missingFiles,
    purgesFinished,
    actions,
  };
}
