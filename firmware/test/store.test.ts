import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import Database from 'better-sqlite3';
import { writeFileDurable, writeFileDurableSync } from '../src/store/durable-file.ts';
import { MIGRATIONS, migrate, schemaVersion } from '../src/store/migrations.ts';
import { RecordingRows } from '../src/store/recordings.ts';
import { StoreError } from '../src/store/types.ts';
import { ecgInput, tempStore } from './helpers/store.ts';

function store(free = () => 10 ** 12, minFreeBytes = 0) {
  return tempStore({ freeBytes: free, minFreeBytes });
}

test('the database is WAL with synchronous=FULL and at the latest schema', (t) => {
  const { store: s } = store();
  t.is(s.db.pragma('journal_mode', { simple: true }), 'wal');
  t.is(s.db.pragma('synchronous', { simple: true }), 2);
  t.is(schemaVersion(s.db), MIGRATIONS.length);
  s.close();
});

test('a database of the first schema, with data, upgrades to the latest and keeps its rows', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mig-'));
  const db = new Database(join(dir, 'store.sqlite'));
  t.deepEqual(migrate(db, 1), [1]);
  db.prepare(
    `INSERT INTO instances (content_sha256, kind, source, original_path, state, priority, received_at, updated_at)
     VALUES ('abc', 'ecg', 'cart-1', 'originals/abc.scp', 'queued', 1, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')`,
  ).run();
  db.prepare(
    `INSERT INTO instances (content_sha256, kind, source, original_path, state, priority, quarantine_reason,
       received_at, updated_at)
     VALUES ('def', 'ecg', 'cart-1', 'originals/def.scp', 'quarantined', 1, 'incomplete transfer: cut off',
       '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')`,
  ).run();
  t.deepEqual(migrate(db, 9), [2, 3, 4, 5, 6, 7, 8, 9]);
  db.prepare(
    `INSERT INTO recordings (study_uid, series_uid, width, height, fps, encoder, started_at)
     VALUES ('1.2.3', '1.2.3.4', 640, 360, 30, 'x264enc', '2026-01-01T00:00:00Z')`,
  ).run();
  t.deepEqual(migrate(db), [10]);
  t.deepEqual(migrate(db), []);
  t.is(
    (db.prepare('SELECT holds FROM recordings').get() as { holds: string }).holds,
    'camera',
    'version 10: a recording made before it held the camera alone',
  );
  const [row, cut] = db.prepare('SELECT * FROM instances ORDER BY id').all() as Array<
    Record<string, unknown>
  >;
  t.is(row!['content_sha256'], 'abc');
  t.is(row!['delivering_dc'], null);
  t.is(row!['quarantine_code'], null);
  t.is(cut!['quarantine_code'], 'incomplete-transfer', 'version 3 classifies old quarantined rows');
  t.is(
    (db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'deliveries'").get() as { n: number })
      .n,
    1,
  );
  db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
  t.throws(() => migrate(db), { message: /newer than this firmware knows/ });
});

test('received bytes are durable before the call returns; the same bytes again are one instance', async (t) => {
  const { dataDir, store: s } = store();
  const bytes = Uint8Array.from([1, 2, 3, 4]);
  const first = await s.receive(ecgInput(bytes));
  t.false(first.duplicate);
  const row = s.get(first.id);
  t.is(row.state, 'captured');
  t.true(existsSync(join(dataDir, row.original_path)));
  t.deepEqual([...(await s.readOriginal(row))], [1, 2, 3, 4]);
  t.deepEqual(await s.receive(ecgInput(bytes)), { id: first.id, duplicate: true });
  t.is(s.countByState().captured, 1);
  s.close();
});

test('an incomplete transfer is kept, quarantined with its reason', async (t) => {
  const { store: s } = store();
  const { id } = await s.receive({
    ...ecgInput(Uint8Array.of(9, 9)),
    incomplete: 'transfer cut off after 2 bytes',
  });
  const row = s.get(id);
  t.is(row.state, 'quarantined');
  t.regex(row.quarantine_reason!, /incomplete transfer: transfer cut off/);
  t.is(row.quarantine_code, 'incomplete-transfer');
  t.deepEqual([...(await s.readOriginal(row))], [9, 9]);
  s.close();
});

test('below the free-space reserve new captures are refused with a clear message', async (t) => {
  const { store: s } = store(() => 100 * 1048576, 500 * 1048576);
  const error = await t.throwsAsync(() => s.receive(ecgInput(Uint8Array.of(1))), { instanceOf: StoreError });
  t.is(error!.code, 'DISK_LOW');
  t.regex(error!.message, /storage nearly full: 100 MB free, 500 MB must stay free/);
  t.is(s.countByState().captured, 0);
  s.close();
});

test('recovery re-queues interrupted uploads and removes temp files of interrupted writes', async (t) => {
  const { dataDir, store: s } = store();
  const { id } = await s.receive(ecgInput(Uint8Array.of(5)));
  s.db.prepare("UPDATE instances SET state = 'delivering', delivering_dc = 'A' WHERE id = ?").run(id);
  writeFileSync(join(dataDir, 'originals', '.x.scp.1234.tmp'), 'partial');
  const report = s.recover();
  t.like(report, { integrity: 'ok', requeued: 1, tempFilesRemoved: 1, orphanFiles: 0, missingFiles: 0 });
  t.deepEqual(
    report.actions.map((a) => a.action),
    ['requeued', 'temp-removed'],
  );
  t.is(s.get(id).state, 'queued');
  t.false(readdirSync(join(dataDir, 'originals')).some((n) => n.endsWith('.tmp')));
  s.close();
});

test('writeFileDurable replaces atomically, writes its parts in order and leaves no temp file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dur-'));
  await writeFileDurable(join(dir, 'f'), Uint8Array.of(1));
  await writeFileDurable(join(dir, 'f'), [Uint8Array.of(2, 3), new Uint8Array(0), Uint8Array.of(4)]);
  writeFileDurableSync(join(dir, 'g'), Uint8Array.of(5));
  t.deepEqual(readdirSync(dir).sort(), ['f', 'g']);
  t.deepEqual([...readFileSync(join(dir, 'f'))], [2, 3, 4]);
  t.deepEqual([...readFileSync(join(dir, 'g'))], [5]);
  t.is(statSync(join(dir, 'f')).mode & 0o777, 0o600);
  await t.throwsAsync(() => writeFileDurable(join(dir, 'gone', 'f'), Uint8Array.of(1)), { code: 'ENOENT' });
});

test('the same bytes received twice at once are one instance: the second waits for the first', async (t) => {
  const { store: s } = store();
  const bytes = new Uint8Array(200_000).fill(7);
  const results = await Promise.all([s.receive(ecgInput(bytes)), s.receive(ecgInput(bytes))]);
  t.is(results[0].id, results[1].id);
  t.deepEqual(results.map((r) => r.duplicate).sort(), [false, true]);
  t.is(s.countByState().captured, 1);
  t.is(s.audit.head().entries, 1);
  s.close();
});

test('segments of one recording saved at once are numbered in the order their rows commit, none twice', async (t) => {
  const { store: s } = store();
  const recordings = new RecordingRows(s.db, () => new Date().toISOString());
  const recording = recordings.start(
    { study_uid: '1.2.3', width: 640, height: 480, fps: 25, encoder: 'x264enc', holds: 'camera' },
    (id) => `1.2.3.${id}`,
  );
  const segment = (i: number) => ({
    kind: 'video' as const,
    source: `recording-${recording.id}`,
    // Sizes differ, so the writes finish in no fixed order.
    bytes: new Uint8Array(1000 + ((i * 7919) % 5) * 100_000).fill(i + 1),
    originalName: `segment-${i}.mp4`,
    priority: 3,
    incomplete: null,
    recordingId: recording.id,
  });
  const ids = await Promise.all(Array.from({ length: 6 }, (_, i) => s.receive(segment(i))));
  const indexes = ids.map(({ id }) => s.get(id).segment_index);
  t.deepEqual([...indexes].sort(), [0, 1, 2, 3, 4, 5]);
  const byCommit = [...ids].sort((a, b) => a.id - b.id).map(({ id }) => s.get(id).segment_index);
  t.deepEqual(byCommit, [0, 1, 2, 3, 4, 5]);
  s.close();
});

test('settled waits for the writes in flight, so that closing the store loses none', async (t) => {
  const { dataDir, store: s } = store();
  const pending = s.receive(ecgInput(new Uint8Array(2_000_000).fill(3)));
  await s.settled();
  s.close();
  t.false((await pending).duplicate);
  await t.throwsAsync(() => s.receive(ecgInput(Uint8Array.of(1))), { message: /store is closed/ });
  t.is(readdirSync(join(dataDir, 'originals')).length, 1, 'nothing written once closed');
});

test('queue order: priority first, then arrival; retries wait for their time', async (t) => {
  const { store: s } = store();
  const ids: number[] = [];
  for (const [i, priority] of [2, 0, 1].entries())
    ids.push((await s.receive({ ...ecgInput(Uint8Array.of(i)), priority })).id);
  for (const id of ids) s.db.prepare("UPDATE instances SET state = 'queued' WHERE id = ?").run(id);
  t.is(s.nextDue(Date.now(), 3_600_000)!.id, ids[1]!);
  s.markRetry(ids[1]!, 'HTTP 503', Date.now() + 60_000);
  t.is(s.nextDue(Date.now(), 3_600_000)!.id, ids[2]!);
  t.is(s.nextDueAt(), 0);
  s.close();
});

test('a clock that went back a day: retries scheduled before it are due, not a day away', async (t) => {
  const { store: s } = store();
  const id = (await s.receive(ecgInput(Uint8Array.of(7)))).id;
  s.db.prepare("UPDATE instances SET state = 'queued' WHERE id = ?").run(id);
  const before = Date.parse('2026-11-29T10:00:00Z');
  s.markRetry(id, 'HTTP 503', before + 60_000);
  t.is(s.nextDue(before, 3_600_000), undefined, 'a minute to wait');
  // NTP puts the clock back a day: the retry now looks a day and a minute away.
  const after = before - 86_400_000;
  t.is(s.nextDue(after, 3_600_000)?.id, id, 'further ahead than any backoff: due now');
  // And forward a day: simply due.
  t.is(s.nextDue(before + 86_400_000, 3_600_000)?.id, id);
  s.close();
});
