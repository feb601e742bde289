import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { FileKeyStore } from '../firmware/src/store/data-key.ts';
import { StudyStore } from '../firmware/src/store/study-store.ts';
import { PRIORITY } from '../firmware/src/store/types.ts';
import type { Row } from './scp-decode.ts';
import { fmt, median } from './stats.ts';

const RUNS = 5;
const COMMITS = 300;

/** Commits per second of one run of `n` operations. */
function rate(n: number, fn: (i: number) => void): number {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) fn(i);
  return n / ((performance.now() - t0) / 1000);
}

/** The same for operations that resolve when done, one after the other. */
async function rateAwaited(n: number, fn: (i: number) => Promise<void>): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn(i);
  return n / ((performance.now() - t0) / 1000);
}

function bareLoop(root: string, pragmas: string[]): number {
  const dir = mkdtempSync(join(root, 'bare-'));
  const db = new Database(join(dir, 'bare.sqlite'));
  for (const p of pragmas) db.pragma(p);
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, sha TEXT, state TEXT, at TEXT)');
  const insert = db.prepare('INSERT INTO t (sha, state, at) VALUES (?, ?, ?)');
  const r = rate(COMMITS, (i) => insert.run(`sha-${i}`, 'captured', new Date().toISOString()));
  db.close();
  rmSync(dir, { recursive: true, force: true });
  return r;
}

/**
 * Store commits per second with the store's durability settings (WAL, synchronous=FULL), as a
 * ratio to a bare better-sqlite3 insert loop run in the same process on the same disk.
 */
export async function benchStoreCommits(root: string): Promise<Row[]> {
  const bare = median(Array.from({ length: RUNS }, () => bareLoop(root, [])));
  const bareWal = median(
    Array.from({ length: RUNS }, () => bareLoop(root, ['journal_mode = WAL', 'synchronous = FULL'])),
  );
  const transitions: number[] = [];
  const captures: number[] = [];
  const sealedCaptures: number[] = [];
  for (let run = 0; run < RUNS * 2; run++) {
    // Odd runs seal (AES-256-GCM, the key in a file), even runs do not: interleaved, same disk.
    const sealed = run % 2 === 1;
    const dataDir = mkdtempSync(join(root, 'store-'));
    const store = new StudyStore({
      dataDir,
      minFreeBytes: 0,
      dataKeys: sealed ? new FileKeyStore(join(dataDir, 'keys', 'data.key')) : null,
    });
    const record = new Uint8Array(30_000).map((_, i) => (i * 31 + run) & 0xff);
    const ids: number[] = [];
    (sealed ? sealedCaptures : captures).push(
      await rateAwaited(COMMITS / 3, async (i) => {
        record[0] = i & 0xff;
        record[1] = i >> 8;
        const { id } = await store.receive({
          bytes: record,
          kind: 'ecg',
          source: 'bench',
          originalName: `B${i}.SCP`,
          priority: PRIORITY.ecg,
          incomplete: null,
        });
        ids.push(id);
      }),
    );
    // A delivery with one retry, as the uplink commits it: delivering, retry, delivering, delivered.
    // Each instance is queued first, untimed (the store takes each step only from its state).
    if (!sealed) {
      for (const id of ids) {
        await store.attachEncoded(id, {
          study: { uid: '1.2.3', patientId: null, patientName: null, birthDate: null, sex: null },
          seriesUid: `1.2.3.${id}`,
          sopUid: `1.2.3.${id}.1`,
          dicom: Uint8Array.of(id & 0xff, id >> 8),
          warnings: [],
        });
        store.enqueue(id);
      }
      transitions.push(
        rate(ids.length, (i) => {
          const id = ids[i]!;
          store.markDelivering(id, 'A');
          store.markRetry(id, 'HTTP 503', 0);
          store.markDelivering(id, 'B');
          store.markDelivered(id, 'B', 200);
        }) * 4,
      );
    }
    store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const t = median(transitions);
  const c = median(captures);
  const sealedC = median(sealedCaptures);
  return [
    {
      what: 'baseline: bare better-sqlite3 insert loop, autocommit, library defaults',
      median: fmt(bare, 0),
      ratio: '1.00',
    },
    {
      what: 'bare insert loop, WAL + synchronous=FULL (the store’s settings, no store code)',
      median: fmt(bareWal, 0),
      ratio: fmt(bareWal / bare),
    },
    {
      what: 'StudyStore queue-state commits (delivering, retry, delivering, delivered), WAL + synchronous=FULL',
      median: fmt(t, 0),
      ratio: fmt(t / bare),
    },
    {
      what: 'StudyStore.receive of a 30 kB record: temp file + fsync + rename + dir fsync + row',
      median: fmt(c, 0),
      ratio: fmt(c / bare),
    },
    {
      what: 'the same with encryption at rest (file sealed with AES-256-GCM, key in a file)',
      median: fmt(sealedC, 0),
      ratio: `${fmt(sealedC / bare)} (${fmt(sealedC / c)} of encryption off)`,
    },
  ];
}
