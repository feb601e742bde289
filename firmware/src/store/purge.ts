import { statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';

export interface PurgeResult {
  instances: number;
  bytes: number;
}

/**
 * Removes the local copies of delivered instances, oldest delivery first: the row stays (state
 * 'purgeable', `purged_at` set) as the record of what went to which data centre.
 *
 * `deliveredBefore` (ISO time) limits it to deliveries older than that (the retention period);
 * `wantBytes` stops it once that many bytes are freed (disk pressure). Only 'delivered' rows are
 * touched: whatever is not yet in a data centre is never evicted, whatever the disk pressure.
 *
 * Write order: the row becomes 'purgeable' (committed) before its files go, so that a crash in
 * between leaves files the start-up recovery removes (`finishPurges`), never a delivered row whose
 * files vanished, which recovery would have to call missing.
 */
export function purgeDelivered(
  db: Database.Database,
  dataDir: string,
  o: { deliveredBefore: string | null; wantBytes: number | null; nowIso: string },
  /** Called inside the transaction that marks each instance (the audit log's entry). */
  marked: (id: number, nowIso: string) => void = () => {},
): PurgeResult {
  const candidates = db.prepare(
    `SELECT i.id, i.original_path, i.dicom_path, MAX(d.delivered_at) AS last_delivery
       FROM instances i JOIN deliveries d ON d.instance_id = i.id
      WHERE i.state = 'delivered'
      GROUP BY i.id
     HAVING ? IS NULL OR last_delivery < ?
      ORDER BY last_delivery, i.id
      LIMIT 100`,
  );
  const mark = db.prepare(
    `UPDATE instances SET state = 'purgeable', purged_at = ?, updated_at = ? WHERE id = ? AND state = 'delivered'`,
  );
  const result: PurgeResult = { instances: 0, bytes: 0 };
  for (;;) {
    const batch = candidates.all(o.deliveredBefore, o.deliveredBefore) as Array<{
      id: number;
      original_path: string;
      dicom_path: string | null;
    }>;
    if (batch.length === 0) return result;
    for (const row of batch) {
      if (o.wantBytes !== null && result.bytes >= o.wantBytes) return result;
      const changed = db.transaction(() => {
        if (mark.run(o.nowIso, o.nowIso, row.id).changes === 0) return false;
        marked(row.id, o.nowIso);
        return true;
      })();
      if (!changed) continue;
      result.instances++;
      result.bytes += removeFiles(dataDir, [row.original_path, row.dicom_path]).bytes;
    }
  }
}

/** Files of rows already 'purgeable' that a crash left behind: removed now. Returns how many. */
export function finishPurges(db: Database.Database, dataDir: string): number {
  const rows = db
    .prepare(`SELECT original_path, dicom_path FROM instances WHERE state = 'purgeable'`)
    .all() as Array<{ original_path: string; dicom_path: string | null }>;
  let removed = 0;
  for (const row of rows) removed += removeFiles(dataDir, [row.original_path, row.dicom_path]).files;
  return removed;
}

/** Removes what exists of `paths` (relative to the data directory); a file already gone is fine. */
function removeFiles(dataDir: string, paths: Array<string | null>): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const path of paths) {
    if (path === null) continue;
    const full = join(dataDir, path);
    try {
      const size = statSync(full).size;
      unlinkSync(full);
      files++;
      bytes += size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return { files, bytes };
}
