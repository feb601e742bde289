import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';

/**
 * What happened to clinical data on this terminal, for an inspector (China's Cybersecurity Law
 * Art. 21 asks for logs kept at least six months): captured, viewed, sent, set aside, deleted.
 * `subject` names the instance or page, never the patient.
 */
export type AuditAction = 'captured' | 'viewed' | 'sent' | 'set-aside' | 'deleted';

export interface AuditEntry {
  id: number;
  at: string;
  /** Who or what did it: a cart, the kiosk, the camera, the scanner, a data centre, the terminal. */
  actor: string;
  action: AuditAction;
  subject: string;
  detail: string | null;
  prevHash: string;
  hash: string;
}

const GENESIS = '0'.repeat(64);

/** The chain: each entry's hash covers the previous hash and the entry's own fields. */
export function entryHash(prevHash: string, e: Omit<AuditEntry, 'prevHash' | 'hash'>): string {
  return createHash('sha256')
    .update(`${prevHash}\n${JSON.stringify([e.id, e.at, e.actor, e.action, e.subject, e.detail])}`)
    .digest('hex');
}

export interface AuditVerification {
  entries: number;
  /** Hash of the last entry (the NOC keeps it from health: a log cut short no longer ends there). */
  headHash: string;
  /** null when the whole chain holds; else the first entry that does not, and why. */
  broken: { id: number; reason: string } | null;
}

/** A row as SQLite holds it: the entry with its column names. */
type AuditRow = Omit<AuditEntry, 'prevHash'> & { prev_hash: string };

const toEntry = ({ prev_hash, ...rest }: AuditRow): AuditEntry => ({ ...rest, prevHash: prev_hash });

/**
 * An append-only, hash-chained audit log in the store's database (schema 8). Entries are written
 * inside the same transaction as the change they record, so one exists exactly when its change
 * committed; triggers refuse UPDATE and DELETE. Nothing is ever pruned: at a few hundred entries a
 * day, years fit in a few megabytes.
 * INVARIANTS: appends are serialised by SQLite's write lock; `hash` chains in id order.
 */
export class AuditLog {
  constructor(private readonly db: Database.Database) {}

  /**
   * Appends one entry. Called inside the transaction of the change it records, it commits with it;
   * alone, it is its own transaction (better-sqlite3 nests them as savepoints).
   */
  append(
    at: string,
    actor: string,
    action: AuditAction,
    subject: string,
    detail: string | null = null,
  ): void {
    this.db.transaction(() => this.appendNow(at, actor, action, subject, detail))();
  }

  private appendNow(
    at: string,
    actor: string,
    action: AuditAction,
    subject: string,
    detail: string | null,
  ): void {
    const head = this.head();
    const prevHash = head.hash;
    const id = head.entries + 1;
    const hash = entryHash(prevHash, { id, at, actor, action, subject, detail });
    this.db
      .prepare(
        'INSERT INTO audit (id, at, actor, action, subject, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(id, at, actor, action, subject, detail, prevHash, hash);
  }

  /** The newest entry's number and hash (health carries them to the NOC). */
  head(): { entries: number; hash: string } {
    const last = this.db.prepare('SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1').get() as
      | { id: number; hash: string }
      | undefined;
    return { entries: last?.id ?? 0, hash: last?.hash ?? GENESIS };
  }

  /** Walks the whole chain (run at every start). */
  verify(): AuditVerification {
    let prev = GENESIS;
    let entries = 0;
    let expectedId = 1;
    for (const row of this.db.prepare('SELECT * FROM audit ORDER BY id').iterate() as Iterable<AuditRow>) {
      const e = toEntry(row);
      const broken = (reason: string) => ({
        entries: entries + 1,
        headHash: e.hash,
        broken: { id: e.id, reason },
      });
      if (e.id !== expectedId) return broken(`entry ${expectedId} is missing`);
      if (e.prevHash !== prev) return broken('it does not follow the entry before it');
      if (entryHash(prev, e) !== e.hash) return broken('its content no longer matches its hash');
      prev = e.hash;
      entries++;
      expectedId++;
    }
    return { entries, headHash: prev, broken: null };
  }

  /** Entries from `since` (ISO time) on, oldest first, for the inspector's export. */
  *since(since: string | null): Iterable<AuditEntry> {
    const rows = this.db
      .prepare('SELECT * FROM audit WHERE ? IS NULL OR at >= ? ORDER BY id')
      .iterate(since, since) as Iterable<AuditRow>;
    for (const row of rows) yield toEntry(row);
  }
}
