import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { DataKeyStore } from './data-key.ts';
import { fsyncDirectory } from './durable-file.ts';

export interface FactoryResetReport {
  keyStore: DataKeyStore['kind'];
  where: string;
  /** The fingerprint of the key that was destroyed (from the store), or null when none was recorded. */
  fingerprint: string | null;
  /** Whether a key was there to destroy. */
  keyErased: boolean;
  /** What was removed from the data directory (top-level names). */
  removed: string[];
}

/**
 * The factory-reset path (issue 5 §5): crypto-erase first — the data key is destroyed (TPM object
 * evicted, or key file overwritten and unlinked), which makes every sealed file and patient field
 * unreadable at once, wherever copies of them sit (flash blocks remapped by wear levelling, an old
 * backup). Only then is the data directory emptied, which may take a while on a full card and may be
 * cut by a power failure without consequence: the next start finds no key and a sealed store, and
 * says to run the reset again.
 *
 * The daemon must be stopped first (systemctl stop telemed): the caller checks.
 */
export function factoryReset(dataDir: string, keys: DataKeyStore): FactoryResetReport {
  let fingerprint: string | null = null;
  const dbPath = join(dataDir, 'store.sqlite');
  if (existsSync(dbPath)) {
    const db = new Database(dbPath, { readonly: true, fileMustExist: true });
    try {
      const hasTable = db
        .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'data_key'")
        .get();
      if (hasTable)
        fingerprint =
          (
            db.prepare('SELECT fingerprint FROM data_key WHERE id = 1').get() as
              | { fingerprint: string }
              | undefined
          )?.fingerprint ?? null;
    } finally {
      db.close();
    }
  }
  const keyErased = keys.present();
  keys.erase();
  const removed: string[] = [];
  if (existsSync(dataDir)) {
    for (const name of readdirSync(dataDir).sort()) {
      rmSync(join(dataDir, name), { recursive: true, force: true });
      removed.push(name);
    }
    fsyncDirectory(dataDir);
  }
  return { keyStore: keys.kind, where: keys.where, fingerprint, keyErased, removed };
}
