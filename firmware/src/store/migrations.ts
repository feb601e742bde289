import type Database from 'better-sqlite3';

/**
 * Forward-only schema migrations. Never edit a shipped migration: add the next one.
 * `user_version` holds the number of the last one applied.
 */
export const MIGRATIONS: ReadonlyArray<{ version: number; name: string; sql: string }> = [
  {
    version: 1,
    name: 'studies and instances',
    sql: `
      CREATE TABLE studies (
        id INTEGER PRIMARY KEY,
        study_uid TEXT NOT NULL UNIQUE,
        patient_id TEXT,
        patient_name TEXT,
        patient_birth_date TEXT,
        patient_sex TEXT,
        accession_number TEXT,
        created_at TEXT NOT NULL
      );
      CREATE TABLE instances (
        id INTEGER PRIMARY KEY,
        content_sha256 TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        source TEXT NOT NULL,
        original_path TEXT NOT NULL,
        original_name TEXT,
        study_id INTEGER REFERENCES studies(id),
        series_uid TEXT,
        sop_uid TEXT UNIQUE,
        dicom_path TEXT,
        state TEXT NOT NULL CHECK (state IN
          ('captured','encoded','queued','delivering','delivered','purgeable','quarantined')),
        priority INTEGER NOT NULL,
        quarantine_reason TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        warnings TEXT,
        received_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'per data-centre delivery record and queue index',
    sql: `
      ALTER TABLE instances ADD COLUMN delivering_dc TEXT;
      CREATE TABLE deliveries (
        instance_id INTEGER NOT NULL REFERENCES instances(id),
        dc TEXT NOT NULL CHECK (dc IN ('A','B')),
        delivered_at TEXT NOT NULL,
        http_status INTEGER NOT NULL,
        PRIMARY KEY (instance_id, dc)
      );
      CREATE INDEX instances_queue ON instances (state, priority, next_attempt_at);
    `,
  },
  {
    version: 3,
    name: 'machine-readable quarantine code beside the reason',
    sql: `
      ALTER TABLE instances ADD COLUMN quarantine_code TEXT;
      UPDATE instances SET quarantine_code = 'incomplete-transfer'
        WHERE state = 'quarantined' AND quarantine_reason LIKE 'incomplete transfer:%';
    `,
  },
  {
    version: 4,
    name: 'consultation studies opened on the terminal, recordings and their segments',
    sql: `
      ALTER TABLE studies ADD COLUMN opened_at TEXT;
      ALTER TABLE studies ADD COLUMN closed_at TEXT;
      CREATE TABLE recordings (
        id INTEGER PRIMARY KEY,
        study_uid TEXT NOT NULL,
        series_uid TEXT NOT NULL UNIQUE,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        fps INTEGER NOT NULL,
        encoder TEXT NOT NULL,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        end_reason TEXT
      );
      ALTER TABLE instances ADD COLUMN recording_id INTEGER REFERENCES recordings(id);
      ALTER TABLE instances ADD COLUMN segment_index INTEGER;
    `,
  },
  {
    version: 5,
    name: 'where the patient identity of a study came from, and whether the province confirmed it',
    sql: `
      ALTER TABLE studies ADD COLUMN patient_source TEXT;
      ALTER TABLE studies ADD COLUMN patient_verification TEXT;
    `,
  },
  {
    version: 6,
    name: 'hash of the DICOM file, checked before every upload; the study a capture was taken in',
    sql: `
      ALTER TABLE instances ADD COLUMN dicom_sha256 TEXT;
      ALTER TABLE instances ADD COLUMN capture_study_uid TEXT;
    `,
  },
  {
    version: 7,
    name: 'when the local copy of a delivered instance was removed (retention, or storage low)',
    sql: `
      ALTER TABLE instances ADD COLUMN purged_at TEXT;
      CREATE INDEX IF NOT EXISTS deliveries_by_time ON deliveries (delivered_at);
    `,
  },
  {
    version: 8,
    name: 'append-only, hash-chained audit log (captured, viewed, sent, set aside, deleted)',
    sql: `
      CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL CHECK (action IN ('captured','viewed','sent','set-aside','deleted')),
        subject TEXT NOT NULL,
        detail TEXT,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      );
      CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
      CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    `,
  },
  {
    version: 9,
    name: 'which data key sealed the files and patient fields (a fingerprint, never the key)',
    sql: `
      CREATE TABLE data_key (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        fingerprint TEXT NOT NULL,
        key_store TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 10,
    name: 'what a recording holds: the camera alone, or both sides of a call',
    sql: `
      ALTER TABLE recordings ADD COLUMN holds TEXT NOT NULL DEFAULT 'camera' CHECK (holds IN ('camera', 'call'));
    `,
  },
];

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Applies every migration above the database's version, each in its own transaction. */
export function migrate(db: Database.Database, upTo = MIGRATIONS.length): number[] {
  const applied: number[] = [];
  const current = schemaVersion(db);
  if (current > MIGRATIONS.length) {
    throw new Error(
      `database schema ${current} is newer than this firmware knows (${MIGRATIONS.length}); refusing to touch it`,
    );
  }
  for (const migration of MIGRATIONS) {
    if (migration.version <= current || migration.version > upTo) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    })();
    applied.push(migration.version);
  }
  return applied;
}
