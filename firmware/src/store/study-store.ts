import { createHmac, webcrypto } from 'node:crypto';
import { mkdirSync, statfsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { AesGcmAtRest, type AtRest, NO_ENCRYPTION } from './at-rest.ts';
import { AuditLog } from './audit-log.ts';
import { createDataKey, DataKeyError, type DataKeyStore } from './data-key.ts';
import { writeFileDurable } from './durable-file.ts';
import { type FaultHook, noFaults } from './fault-points.ts';
import { migrate } from './migrations.ts';
import { openPatientColumns, type PatientColumn } from './patient-columns.ts';
import { type PurgeResult, purgeDelivered } from './purge.ts';
import { type RecoveryReport, reconcile } from './recovery.ts';
import {
  type InstanceKind,
  type InstanceRow,
  type InstanceState,
  type InstanceTransition,
  type QuarantineCode,
  StoreError,
  type StudyRow,
} from './types.ts';

export interface StoreOptions {
  dataDir: string;
  minFreeBytes: number;
  clock?: () => Date;
  /** Free bytes on the data partition; injectable so tests can make the disk "full". */
  freeBytes?: (dir: string) => number;
  /** Called at the store's crash-sensitive moments (the kill test crashes there); none by default. */
  fault?: FaultHook;
  /**
   * Where the device's data key lives: files and patient fields are sealed with AES-256-GCM under
   * it (at-rest.ts). Null or absent: stored as they are (encryption off in the config).
   */
  dataKeys?: DataKeyStore | null;
  /** Told of every committed change of an instance's state, after the commit (the daemon's bus). */
  onTransition?: (transition: InstanceTransition) => void;
}

/** What health and the technician see of the data key (never the key). */
export interface DataKeyInfo {
  keyStore: DataKeyStore['kind'];
  where: string;
  /** HMAC-SHA256 of a fixed label under the key, 16 hex digits: tells keys apart, reveals nothing. */
  fingerprint: string;
  /** Made at this start (first start, or after a factory reset). */
  created: boolean;
}

export const keyFingerprint = (key: Uint8Array): string =>
  createHmac('sha256', key).update('telemed data key check').digest('hex').slice(0, 16);

export interface ReceiveInput {
  kind: InstanceKind;
  source: string;
  bytes: Uint8Array;
  originalName: string | null;
  priority: number;
  /** Set when the transfer did not complete: the bytes are kept, quarantined with this reason. */
  incomplete: string | null;
  /** Video segments: their recording (the store numbers them in the order they are saved). */
  recordingId?: number;
  /** Stills and documents: the consultation study they were taken in. */
  studyUid?: string;
}

export interface EncodedInstance {
  study: {
    uid: string;
    patientId: string | null;
    patientName: string | null;
    birthDate: string | null;
    sex: string | null;
  };
  seriesUid: string;
  sopUid: string;
  dicom: Uint8Array;
  warnings: string[];
  /** A new delivery priority learnt from the capture itself (a cart's STAT code); absent: unchanged. */
  priority?: number;
}

/** SHA-256 in hex, computed on libuv's thread pool. */
async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return Buffer.from(await webcrypto.subtle.digest('SHA-256', bytes)).toString('hex');
}

function statfsFree(dir: string): number {
  const s = statfsSync(dir);
  return Number(s.bavail) * Number(s.bsize);
}

/**
 * The study store: SQLite (WAL, synchronous=FULL) for queue state plus files written durably.
 * INVARIANTS: a row never points at a file that is not yet durable (files are written first,
 * rows committed after); an instance leaves the store only after it is delivered; every state
 * change is one transaction, leaves only the states it names (`WHERE state IN …`: anything else
 * is a BAD_TRANSITION error, never a silent overwrite), and is announced once, after its commit.
 * Saves yield while their files are hashed, sealed and written (off the event loop), so: two saves
 * of the same bytes at once make one instance (the second waits for the first, `receiving`); a
 * segment's index is taken inside its row's transaction; `settled` waits for every save and
 * encode in flight, and the store is closed only after it.
 */
export class StudyStore {
  readonly db: Database.Database;
  readonly audit: AuditLog;
  /** Seals and opens files and patient fields (AES-256-GCM, or off). */
  readonly atRest: AtRest;
  readonly dataKey: DataKeyInfo | null;
  private readonly clock: () => Date;
  private readonly freeBytes: (dir: string) => number;
  private readonly fault: FaultHook;
  /** Captures being written now, by content hash: a second copy waits for the first (see receive). */
  private readonly receiving = new Map<string, Promise<number>>();
  private readonly writing = new Set<Promise<unknown>>();

  constructor(private readonly options: StoreOptions) {
    this.clock = options.clock ?? (() => new Date());
    this.freeBytes = options.freeBytes ?? statfsFree;
    this.fault = options.fault ?? noFaults;
    for (const sub of ['originals', 'dicom']) mkdirSync(join(options.dataDir, sub), { recursive: true });
    this.db = new Database(join(options.dataDir, 'store.sqlite'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    migrate(this.db);
    this.audit = new AuditLog(this.db);
    const { atRest, info } = this.openDataKey(options.dataKeys ?? null);
    this.atRest = atRest;
    this.dataKey = info;
  }

  /**
   * Loads the data key (making one on the first start) and checks it is the key this store's data
   * was sealed under: a lost key must never be replaced silently by a new one, which would leave
   * every sealed file unreadable while new captures carried on.
   */
  private openDataKey(keys: DataKeyStore | null): { atRest: AtRest; info: DataKeyInfo | null } {
    const recorded = this.db.prepare('SELECT fingerprint, key_store FROM data_key WHERE id = 1').get() as
      | { fingerprint: string; key_store: string }
      | undefined;
    if (!keys) {
      if (recorded)
        throw new DataKeyError(
          `storage.encryption.enabled is false, but this store holds data sealed under data key ${recorded.fingerprint}: turn encryption back on (or factory-reset the terminal)`,
        );
      return { atRest: NO_ENCRYPTION, info: null };
    }
    // Read once: from a TPM each read is an unseal.
    const existing = keys.load();
    if (recorded && existing === null)
      throw new DataKeyError(
        `the data key is gone from ${keys.where}, but this store holds data sealed under key ${recorded.fingerprint} (${recorded.key_store}): restore the key, or factory-reset the terminal (the data is lost)`,
      );
    const { key, created } = existing ? { key: existing, created: false } : createDataKey(keys);
    const fingerprint = keyFingerprint(key);
    if (recorded && recorded.fingerprint !== fingerprint)
      throw new DataKeyError(
        `${keys.where} holds data key ${fingerprint}, but this store was sealed under ${recorded.fingerprint}: the wrong key store is configured, or the key was replaced`,
      );
    const atRest = new AesGcmAtRest(key);
    if (!recorded) {
      this.db.transaction(() => {
        this.db
          .prepare('INSERT INTO data_key (id, fingerprint, key_store, created_at) VALUES (1, ?, ?, ?)')
          .run(fingerprint, keys.kind, this.now());
        this.sealPlaintextPatients(atRest);
      })();
    }
    return { atRest, info: { keyStore: keys.kind, where: keys.where, fingerprint, created } };
  }

  /** Patient fields written before encryption was turned on are sealed when it is (in one transaction). */
  private sealPlaintextPatients(atRest: AtRest): void {
    const rows = this.db.prepare('SELECT * FROM studies').all() as StudyRow[];
    const update = this.db.prepare(
      'UPDATE studies SET patient_id = ?, patient_name = ?, patient_birth_date = ?, patient_sex = ?, accession_number = ? WHERE id = ?',
    );
    for (const row of rows) {
      const seal = (column: PatientColumn) => atRest.sealField(column, atRest.openField(column, row[column]));
      update.run(
        seal('patient_id'),
        seal('patient_name'),
        seal('patient_birth_date'),
        seal('patient_sex'),
        seal('accession_number'),
        row.id,
      );
    }
  }

  /** Resolves once every capture and DICOM file being written now is recorded (or refused). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.writing]);
  }

  /** Closes the database; call `settled` first, or writes still in flight fail. */
  close(): void {
    this.db.close();
  }

  /** No file is written for a store already closed (a capture or encode finishing as the daemon stops). */
  private requireOpen(): void {
    if (!this.db.open)
      throw new StoreError('WRITE_FAILED', 'the store is closed: the terminal is stopping', true);
  }

  /** A write in flight until it settles, for `settled`. */
  private tracked<T>(work: Promise<T>): Promise<T> {
    this.writing.add(work);
    const done = () => this.writing.delete(work);
    work.then(done, done);
    return work;
  }

  private now(): string {
    return this.clock().toISOString();
  }

  /** Free bytes on the data partition now (the disk guard's measure too). */
  freeBytesNow(): number {
    return this.freeBytes(this.options.dataDir);
  }

  /** The data partition's size. */
  totalBytesNow(): number {
    const s = statfsSync(this.options.dataDir);
    return Number(s.blocks) * Number(s.bsize);
  }

  /** Bytes that can still be written before the reserve (`storage.minFreeBytes`) is reached. */
  headroomBytes(): number {
    return this.freeBytes(this.options.dataDir) - this.options.minFreeBytes;
  }

  /** Why new captures are refused regardless of space (mains power failed), or null. */
  private refusal: string | null = null;

  /** Refuses every new capture with `reason` until {@link acceptCaptures} (power failing). */
  refuseCaptures(reason: string): void {
    this.refusal = reason;
  }

  acceptCaptures(): void {
    this.refusal = null;
  }

  /**
   * Everything committed is in the main database file and on the disk: the WAL is checkpointed
   * into it (TRUNCATE) — with synchronous=FULL each commit was already durable; this makes a
   * restart after the power cut skip WAL recovery.
   */
  flush(): void {
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  private ensureSpace(bytes: number): void {
    if (this.refusal) throw new StoreError('REFUSED', this.refusal, true);
    const free = this.freeBytes(this.options.dataDir);
    if (free - bytes < this.options.minFreeBytes) {
      throw new StoreError(
        'DISK_LOW',
        `storage nearly full: ${Math.round(free / 1048576)} MB free, ${Math.round(this.options.minFreeBytes / 1048576)} MB must stay free; new captures are refused until studies are delivered`,
        true,
      );
    }
  }

  /**
   * Makes received bytes durable and records them. Resolves only when both the file and the row
   * are on disk; the same bytes received again return the existing instance (also while the
   * first copy is still being written). Hashing, sealing and the file's writes and fsyncs run off
   * the event loop (a 30 s video segment is about 15 MB).
   */
  receive(input: ReceiveInput): Promise<{ id: number; duplicate: boolean }> {
    return this.tracked(this.receiveOnce(input));
  }

  private async receiveOnce(input: ReceiveInput): Promise<{ id: number; duplicate: boolean }> {
    this.requireOpen();
    const [sha, sealed] = await Promise.all([sha256Hex(input.bytes), this.atRest.sealFile(input.bytes)]);
    for (let first = this.receiving.get(sha); first; first = this.receiving.get(sha)) {
      const kept = await first.catch(() => null);
      if (kept !== null) return { id: kept, duplicate: true };
      // the first copy was refused (disk low): this one is tried in its own right
    }
    const existing = this.db.prepare('SELECT id FROM instances WHERE content_sha256 = ?').get(sha) as
      | { id: number }
      | undefined;
    if (existing) return { id: existing.id, duplicate: true };
    const keeping = this.keep(input, sha, sealed);
    this.receiving.set(sha, keeping);
    try {
      return { id: await keeping, duplicate: false };
    } finally {
      this.receiving.delete(sha);
    }
  }

  private async keep(input: ReceiveInput, sha: string, sealed: Uint8Array[]): Promise<number> {
    this.ensureSpace(input.bytes.length);
    const extension = { ecg: 'scp', video: 'mp4', still: 'jpg', document: 'pdf' }[input.kind];
    const relative = join('originals', `${sha}.${extension}`);
    try {
      await writeFileDurable(join(this.options.dataDir, relative), sealed, this.fault);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new StoreError(
        code === 'ENOSPC' ? 'DISK_LOW' : 'WRITE_FAILED',
        code === 'ENOSPC'
          ? 'storage is full: the capture could not be saved'
          : `could not save the capture: ${(error as Error).message}`,
        true,
      );
    }
    const now = this.now();
    // A segment's index is its place among its recording's saved segments, taken in the same
    // transaction as the row, so that two segments saved at once cannot share one.
    const insert = this.db.prepare(
      `INSERT INTO instances (content_sha256, kind, source, original_path, original_name, state, priority,
           quarantine_reason, quarantine_code, received_at, updated_at, recording_id, segment_index,
           capture_study_uid)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const nextSegment = this.db.prepare(
      'SELECT COALESCE(MAX(segment_index) + 1, 0) AS next FROM instances WHERE recording_id = ?',
    );
    const id = this.committed(() => {
      const segmentIndex =
        input.recordingId === undefined
          ? null
          : (nextSegment.get(input.recordingId) as { next: number }).next;
      const inserted = insert.run(
        sha,
        input.kind,
        input.source,
        relative,
        input.originalName,
        input.incomplete ? 'quarantined' : 'captured',
        input.priority,
        input.incomplete ? `incomplete transfer: ${input.incomplete}` : null,
        input.incomplete ? 'incomplete-transfer' : null,
        now,
        now,
        input.recordingId ?? null,
        segmentIndex,
        input.studyUid ?? null,
      ).lastInsertRowid;
      this.audit.append(
        now,
        input.source,
        input.incomplete ? 'set-aside' : 'captured',
        `instance ${inserted} (${input.kind})`,
        input.incomplete ? `incomplete transfer: ${input.incomplete}` : null,
      );
      return inserted;
    });
    this.announce(
      Number(id),
      input.incomplete ? 'quarantined' : 'captured',
      input.incomplete ? `incomplete transfer: ${input.incomplete}` : null,
    );
    return Number(id);
  }

  /** One transaction, with the fault points inside it (before COMMIT) and right after it. */
  private committed<T>(work: () => T): T {
    const result = this.db.transaction(() => {
      const value = work();
      this.fault('store.in-transaction');
      return value;
    })();
    this.fault('store.committed');
    return result;
  }

  /**
   * Moves instance `id` from one of `from` to `to`, with `set` (more `column = ?` pairs) in the same
   * UPDATE; throws BAD_TRANSITION when the instance is in none of `from`.
   */
  private move(
    id: number,
    from: readonly InstanceState[],
    to: InstanceState,
    set: Record<string, string | number | null> = {},
  ): void {
    const columns = Object.keys(set);
    const changed = this.db
      .prepare(
        `UPDATE instances SET state = ?, updated_at = ?${columns.map((c) => `, ${c} = ?`).join('')}
         WHERE id = ? AND state IN (${from.map(() => '?').join(', ')})`,
      )
      .run(to, this.now(), ...columns.map((c) => set[c] ?? null), id, ...from).changes;
    if (changed === 1) return;
    const row = this.db.prepare('SELECT state FROM instances WHERE id = ?').get(id) as
      | { state: InstanceState }
      | undefined;
    throw new StoreError(
      'BAD_TRANSITION',
      row
        ? `instance ${id} is ${row.state}: it cannot become ${to} (only from ${from.join(' or ')})`
        : `instance ${id} does not exist`,
      false,
    );
  }

  private announce(instanceId: number, state: InstanceState, reason: string | null = null): void {
    this.options.onTransition?.({ instanceId, state, reason });
  }

  get dataDir(): string {
    return this.options.dataDir;
  }

  /** Throws when the database no longer answers (the watchdog feeds only after this succeeds). */
  ping(): void {
    this.db.prepare('SELECT 1').get();
  }

  get(id: number): InstanceRow {
    const row = this.db.prepare('SELECT * FROM instances WHERE id = ?').get(id) as InstanceRow | undefined;
    if (!row) throw new StoreError('NOT_FOUND', `no instance ${id}`, false);
    return row;
  }

  /** A study's UID (no patient fields read: nothing to open). */
  studyUid(id: number): string | undefined {
    return (
      this.db.prepare('SELECT study_uid FROM studies WHERE id = ?').get(id) as
        | { study_uid: string }
        | undefined
    )?.study_uid;
  }

  inState(state: InstanceState): InstanceRow[] {
    return this.db
      .prepare('SELECT * FROM instances WHERE state = ? ORDER BY priority, id')
      .all(state) as InstanceRow[];
  }

  /**
   * The capture as it was received, decrypted and checked against its content hash: a file that
   * changed on disk is CORRUPTED, one that is gone NOT_FOUND (never encoded and sent as good).
   */
  async readOriginal(row: InstanceRow): Promise<Uint8Array> {
    const what = `the original of instance ${row.id} (${row.original_path})`;
    let stored: Uint8Array;
    try {
      stored = await readFile(join(this.options.dataDir, row.original_path));
    } catch (error) {
      throw new StoreError('NOT_FOUND', `${what} cannot be read: ${(error as Error).message}`, false);
    }
    const bytes = await this.atRest.openFile(stored, what);
    const sha = await sha256Hex(bytes);
    if (sha !== row.content_sha256)
      throw new StoreError(
        'CORRUPTED',
        `${what} no longer matches its hash: recorded ${row.content_sha256.slice(0, 12)}…, now ${sha.slice(0, 12)}…`,
        false,
      );
    return bytes;
  }

  /**
   * The DICOM file of an instance, checked against the hash recorded when it was written. The file
   * read, the decryption and the hash run on libuv's thread pool, off the event loop (the uplink
   * reads every file it sends, several MB for a video segment).
   */
  async readDicom(row: InstanceRow): Promise<Uint8Array> {
    if (!row.dicom_path) throw new StoreError('NOT_FOUND', `instance ${row.id} has no DICOM file yet`, false);
    let stored: Uint8Array;
    try {
      stored = await readFile(join(this.options.dataDir, row.dicom_path));
    } catch (error) {
      throw new StoreError(
        'NOT_FOUND',
        `the DICOM file of instance ${row.id} cannot be read: ${(error as Error).message}`,
        false,
      );
    }
    const bytes = await this.atRest.openFile(
      stored,
      `the DICOM file of instance ${row.id} (${row.dicom_path})`,
    );
    const sha = row.dicom_sha256 === null ? null : await sha256Hex(bytes);
    if (sha !== row.dicom_sha256)
      throw new StoreError(
        'CORRUPTED',
        `the DICOM file of instance ${row.id} (${row.dicom_path}) no longer matches its hash: recorded ${row.dicom_sha256?.slice(0, 12)}…, now ${sha?.slice(0, 12)}…`,
        false,
      );
    return bytes;
  }

  /** Sets an instance aside with the reason; anything not yet delivered may be set aside. */
  quarantine(id: number, code: QuarantineCode, reason: string): void {
    const now = this.now();
    this.db.transaction(() => {
      this.move(id, ['captured', 'encoded', 'queued', 'delivering'], 'quarantined', {
        quarantine_code: code,
        quarantine_reason: reason,
        delivering_dc: null,
      });
      this.audit.append(now, 'terminal', 'set-aside', `instance ${id}`, `${code}: ${reason}`);
    })();
    this.announce(id, 'quarantined', reason);
  }

  /**
   * Writes the DICOM file durably (hashed, sealed and written off the event loop), then records
   * study, UIDs and the 'encoded' state in one transaction.
   */
  attachEncoded(id: number, encoded: EncodedInstance): Promise<void> {
    return this.tracked(this.attach(id, encoded));
  }

  private async attach(id: number, encoded: EncodedInstance): Promise<void> {
    this.requireOpen();
    const relative = join('dicom', `${encoded.sopUid}.dcm`);
    const [dicomSha, sealed] = await Promise.all([
      sha256Hex(encoded.dicom),
      this.atRest.sealFile(encoded.dicom),
    ]);
    await writeFileDurable(join(this.options.dataDir, relative), sealed, this.fault);
    const now = this.now();
    this.committed(() => {
      const s = encoded.study;
      this.db
        .prepare(
          `INSERT INTO studies (study_uid, patient_id, patient_name, patient_birth_date, patient_sex, created_at)
           VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (study_uid) DO NOTHING`,
        )
        .run(
          s.uid,
          this.atRest.sealField('patient_id', s.patientId),
          this.atRest.sealField('patient_name', s.patientName),
          this.atRest.sealField('patient_birth_date', s.birthDate),
          this.atRest.sealField('patient_sex', s.sex),
          now,
        );
      const study = this.db.prepare('SELECT id FROM studies WHERE study_uid = ?').get(s.uid) as {
        id: number;
      };
      const priority = encoded.priority ?? this.get(id).priority;
      this.move(id, ['captured'], 'encoded', {
        study_id: study.id,
        series_uid: encoded.seriesUid,
        sop_uid: encoded.sopUid,
        dicom_path: relative,
        dicom_sha256: dicomSha,
        warnings: JSON.stringify(encoded.warnings),
        priority,
      });
    });
    this.announce(id, 'encoded');
  }

  enqueue(id: number): void {
    this.move(id, ['encoded'], 'queued', { next_attempt_at: 0 });
    this.announce(id, 'queued');
  }

  /**
   * The next instance due for delivery: highest priority, oldest first. A retry set further ahead
   * than `horizonMs` (longer than any backoff) was scheduled before the clock went back: it is due.
   */
  nextDue(nowMs: number, horizonMs: number, maxPriority = Number.MAX_SAFE_INTEGER): InstanceRow | undefined {
    return this.db
      .prepare(
        `SELECT * FROM instances WHERE state = 'queued' AND (next_attempt_at <= ? OR next_attempt_at > ?)
           AND priority <= ?
         ORDER BY priority, id LIMIT 1`,
      )
      .get(nowMs, nowMs + horizonMs, maxPriority) as InstanceRow | undefined;
  }

  /** The most urgent queued instance (up to `maxPriority`), whenever it is due. */
  nextQueued(maxPriority = Number.MAX_SAFE_INTEGER): InstanceRow | undefined {
    return this.db
      .prepare(
        `SELECT * FROM instances WHERE state = 'queued' AND priority <= ? ORDER BY priority, id LIMIT 1`,
      )
      .get(maxPriority) as InstanceRow | undefined;
  }

  /**
   * No queued instance due before `at` (the province is unreachable: the link is tried once per
   * backoff, not once per instance whose own wait ran out). Waits already longer are kept.
   */
  postponeQueued(at: number): void {
    this.db
      .prepare(`UPDATE instances SET next_attempt_at = ? WHERE state = 'queued' AND next_attempt_at < ?`)
      .run(at, at);
  }

  /** Every queued instance due now (the province is reachable again after an outage). */
  makeQueuedDue(): void {
    this.db.prepare(`UPDATE instances SET next_attempt_at = 0 WHERE state = 'queued'`).run();
  }

  /** When the next queued instance becomes due (ms epoch), or null when nothing is queued. */
  nextDueAt(): number | null {
    const row = this.db
      .prepare(`SELECT MIN(next_attempt_at) AS at FROM instances WHERE state = 'queued'`)
      .get() as {
      at: number | null;
    };
    return row.at;
  }

  /** Removes local copies of delivered instances, oldest delivery first (see purge.ts). */
  purge(o: { deliveredBefore: string | null; wantBytes: number | null }): PurgeResult {
    return purgeDelivered(this.db, this.options.dataDir, { ...o, nowIso: this.now() }, (id, nowIso) =>
      this.audit.append(nowIso, 'storage', 'deleted', `instance ${id}`, 'local copy removed after delivery'),
    );
  }

  /** An upload to `dc` begins (again, to the other data centre, when the first failed). */
  markDelivering(id: number, dc: string): void {
    const attempts = this.get(id).attempts + 1;
    this.move(id, ['queued', 'delivering'], 'delivering', { delivering_dc: dc, attempts });
    this.announce(id, 'delivering');
  }

  markDelivered(id: number, dc: 'A' | 'B', httpStatus: number): void {
    const now = this.now();
    this.committed(() => {
      this.db
        .prepare(
          `INSERT INTO deliveries (instance_id, dc, delivered_at, http_status) VALUES (?, ?, ?, ?)
           ON CONFLICT (instance_id, dc) DO NOTHING`,
        )
        .run(id, dc, now, httpStatus);
      this.move(id, ['delivering'], 'delivered', { delivering_dc: null, last_error: null });
      this.audit.append(now, `data centre ${dc}`, 'sent', `instance ${id}`, `HTTP ${httpStatus}`);
    });
    this.announce(id, 'delivered');
  }

  /** Back in the queue, due at `nextAttemptAt`, with the reason the upload failed. */
  markRetry(id: number, error: string, nextAttemptAt: number): void {
    this.move(id, ['delivering', 'queued'], 'queued', {
      delivering_dc: null,
      last_error: error,
      next_attempt_at: nextAttemptAt,
    });
    this.announce(id, 'queued', error);
  }

  deliveredTo(id: number): Array<{ dc: 'A' | 'B'; delivered_at: string; http_status: number }> {
    return this.db
      .prepare('SELECT dc, delivered_at, http_status FROM deliveries WHERE instance_id = ?')
      .all(id) as Array<{
      dc: 'A' | 'B';
      delivered_at: string;
      http_status: number;
    }>;
  }

  /** Start-up reconciliation of the database with the files on disk (see recovery.ts). */
  recover(): RecoveryReport {
    return reconcile(this.db, this.options.dataDir, this.now());
  }

  /** Queue depth and oldest undelivered age per priority, for health telemetry. */
  queueStats(nowMs: number): Array<{ priority: number; depth: number; oldestAgeS: number }> {
    const rows = this.db
      .prepare(
        `SELECT priority, COUNT(*) AS depth, MIN(received_at) AS oldest FROM instances
         WHERE state IN ('captured','encoded','queued','delivering') GROUP BY priority ORDER BY priority`,
      )
      .all() as Array<{ priority: number; depth: number; oldest: string }>;
    return rows.map((r) => ({
      priority: r.priority,
      depth: r.depth,
      oldestAgeS: Math.max(0, Math.round((nowMs - Date.parse(r.oldest)) / 1000)),
    }));
  }

  countByState(): Record<InstanceState, number> {
    const counts: Record<InstanceState, number> = {
      captured: 0,
      encoded: 0,
      queued: 0,
      delivering: 0,
      delivered: 0,
      purgeable: 0,
      quarantined: 0,
    };
    for (const row of this.db
      .prepare('SELECT state, COUNT(*) AS n FROM instances GROUP BY state')
      .all() as Array<{
      state: InstanceState;
      n: number;
    }>) {
      counts[row.state] = row.n;
    }
    return counts;
  }

  /** Instances received since `since` (ISO), newest first, with their study, for the kiosk. */
  recent(since: string): Array<InstanceRow & { patient_name: string | null; patient_id: string | null }> {
    return (
      this.db
        .prepare(
          `SELECT i.*, s.patient_name, s.patient_id FROM instances i LEFT JOIN studies s ON s.id = i.study_id
         WHERE i.received_at >= ? ORDER BY i.id DESC LIMIT 200`,
        )
        .all(since) as Array<InstanceRow & { patient_name: string | null; patient_id: string | null }>
    ).map((row) => openPatientColumns(this.atRest, row));
  }
}
