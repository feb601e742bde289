import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { AesGcmAtRest, type AtRest, NO_ENCRYPTION } from '../../../firmware/src/store/at-rest.ts';
import type { Ledger } from './ledger.ts';

/** What one look at the firmware's disk, right after it died, found wrong. */
export interface CrashCheck {
  integrity: string;
  /** Acknowledged captures with no row, or with a row that lost its data. */
  lostAcknowledged: string[];
  /** Rows whose files are missing or do not match their hashes (half-present). */
  halfPresent: string[];
  rows: number;
}

interface Row {
  id: number;
  content_sha256: string;
  state: string;
  original_path: string;
  dicom_path: string | null;
  dicom_sha256: string | null;
  quarantine_code: string | null;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/**
 * How to open the store's files: they are sealed under the data key the firmware made in
 * `keys/data.key` (the kill test runs without `up --tpm`).
 */
function atRestOf(dataDir: string): AtRest {
  const keyFile = join(dataDir, 'keys', 'data.key');
  return existsSync(keyFile) ? new AesGcmAtRest(readFileSync(keyFile)) : NO_ENCRYPTION;
}

/** The plaintext hash of a stored file; null when it does not open (damaged). */
async function plainHash(atRest: AtRest, file: string): Promise<string | null> {
  try {
    return sha256(await atRest.openFile(readFileSync(file), file));
  } catch {
    return null;
  }
}

/**
 * Looks at the store exactly as the crash left it (the firmware is held down, and a copy of the
 * database is opened, so nothing is checkpointed or repaired in place): SQLite's integrity_check; every
 * acknowledged capture has its row; every row's files exist and match their hashes. Files of rows
 * not in `hashed` are hashed and added to it (a file never changes once written: the ones an
 * earlier check hashed are only stat-ed now).
 */
export async function checkStoreAfterCrash(
  dataDir: string,
  ledger: Ledger,
  hashed: Set<string>,
): Promise<CrashCheck> {
  const path = join(dataDir, 'store.sqlite');
  if (!existsSync(path))
    return { integrity: 'ok', lostAcknowledged: ledger.all().map((a) => a.sha256), halfPresent: [], rows: 0 };
  // A copy of the database and its WAL (not the shared-memory index, which a restart rebuilds), so
  // that looking changes nothing the firmware's own recovery will find.
  const copy = mkdtempSync(join(tmpdir(), 'kill-check-'));
  copyFileSync(path, join(copy, 'store.sqlite'));
  if (existsSync(`${path}-wal`)) copyFileSync(`${path}-wal`, join(copy, 'store.sqlite-wal'));
  const db = new Database(join(copy, 'store.sqlite'), { fileMustExist: true });
  try {
    const integrity = (db.pragma('integrity_check') as Array<{ integrity_check: string }>)
      .map((r) => r.integrity_check)
      .join('; ');
    const rows = db
      .prepare(
        'SELECT id, content_sha256, state, original_path, dicom_path, dicom_sha256, quarantine_code FROM instances',
      )
      .all() as Row[];
    const bySha = new Map(rows.map((r) => [r.content_sha256, r]));
    const lostAcknowledged = ledger
      .all()
      .filter((a) => {
        const row = bySha.get(a.sha256);
        return !row || row.quarantine_code === 'missing-file' || row.quarantine_code === 'corrupted';
      })
      .map((a) => `${a.kind} ${a.sha256.slice(0, 12)} (acknowledged via ${a.via})`);
    const halfPresent: string[] = [];
    const atRest = atRestOf(dataDir);
    for (const row of rows) {
      if (row.state === 'purgeable') continue;
      const original = join(dataDir, row.original_path);
      if (!existsSync(original)) halfPresent.push(`instance ${row.id}: ${row.original_path} missing`);
      else if (!hashed.has(row.original_path)) {
        if ((await plainHash(atRest, original)) === row.content_sha256) hashed.add(row.original_path);
        else halfPresent.push(`instance ${row.id}: ${row.original_path} does not match its hash`);
      }
      if (row.dicom_path) {
        const dicom = join(dataDir, row.dicom_path);
        if (!existsSync(dicom)) halfPresent.push(`instance ${row.id}: ${row.dicom_path} missing`);
        else if (row.dicom_sha256 && !hashed.has(row.dicom_path)) {
          if ((await plainHash(atRest, dicom)) === row.dicom_sha256) hashed.add(row.dicom_path);
          else halfPresent.push(`instance ${row.id}: ${row.dicom_path} does not match its hash`);
        }
      }
    }
    return { integrity, lostAcknowledged, halfPresent, rows: rows.length };
  } finally {
    db.close();
    rmSync(copy, { recursive: true, force: true });
  }
}

/** One instance in a data centre: its SOP Instance UID and the capture it came from. */
export interface DcInstance {
  dc: 'A' | 'B';
  sopUid: string;
  originalSha256: string | null;
}

/**
 * Every instance a data centre (Orthanc) holds, with the SHA-256 of the capture it came from (the
 * terminal's private provenance element (0099,1003)).
 */
export async function inventory(dc: 'A' | 'B', orthancUrl: string): Promise<DcInstance[]> {
  const ids = (await (await fetch(`${orthancUrl}/instances`)).json()) as string[];
  const out: DcInstance[] = [];
  for (const id of ids) {
    const tags = (await (await fetch(`${orthancUrl}/instances/${id}/tags?short`)).json()) as Record<
      string,
      unknown
    >;
    const sop = tags['0008,0018'];
    const original = tags['0099,1003'];
    out.push({
      dc,
      sopUid: typeof sop === 'string' ? sop : '',
      originalSha256: typeof original === 'string' ? original.trim() : null,
    });
  }
  return out;
}

export interface DeliveryVerdict {
  delivered: number;
  /** Captures held by the data centres under more than one SOP Instance UID. */
  duplicates: number;
  missing: number;
  missingList: string[];
  duplicateList: string[];
}

/**
 * Compares the ledger with what the data centres hold. The same SOP Instance UID at both data
 * centres is one instance (they replicate each other); the same capture under two UIDs is a duplicate.
 */
export function judgeDelivery(ledger: Ledger, instances: DcInstance[]): DeliveryVerdict {
  const uidsBySha = new Map<string, Set<string>>();
  for (const i of instances) {
    if (!i.originalSha256) continue;
    const set = uidsBySha.get(i.originalSha256) ?? new Set<string>();
    set.add(i.sopUid);
    uidsBySha.set(i.originalSha256, set);
  }
  const missingList: string[] = [];
  let delivered = 0;
  for (const a of ledger.all()) {
    if (uidsBySha.has(a.sha256)) delivered++;
    else missingList.push(`${a.kind} ${a.sha256.slice(0, 12)} (acknowledged via ${a.via})`);
  }
  const duplicateList = [...uidsBySha.entries()]
    .filter(([, uids]) => uids.size > 1)
    .map(([sha, uids]) => `${sha.slice(0, 12)} as ${[...uids].join(', ')}`);
  return {
    delivered,
    duplicates: duplicateList.length,
    missing: missingList.length,
    missingList,
    duplicateList,
  };
}
