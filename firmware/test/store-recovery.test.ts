import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { crashAtFromEnv, type FaultPoint } from '../src/store/fault-points.ts';
import { StoreError } from '../src/store/types.ts';
import { type StowFn, Uplink, type UplinkEvent } from '../src/uplink/uplink.ts';
import { ecgInput, encodeAndQueue, tempStore } from './helpers/store.ts';

test('the fault points come in write order: file synced, renamed, rows written, committed', async (t) => {
  const hits: FaultPoint[] = [];
  const { store: s } = tempStore({ fault: (p) => hits.push(p) });
  const { id } = await s.receive(ecgInput(Uint8Array.of(1)));
  t.deepEqual(hits, ['file.synced', 'file.renamed', 'store.in-transaction', 'store.committed']);
  hits.length = 0;
  await encodeAndQueue(s, id);
  t.deepEqual(hits, ['file.synced', 'file.renamed', 'store.in-transaction', 'store.committed']);
  s.close();
});

test('a crash inside the commit leaves no row; the complete file it left is kept in orphans/, not deleted', async (t) => {
  let crash = true;
  const { dataDir, store: s } = tempStore({
    fault: (p) => {
      if (crash && p === 'store.in-transaction') throw new Error('crash before COMMIT');
    },
  });
  await t.throwsAsync(() => s.receive(ecgInput(Uint8Array.of(7, 7))), { message: 'crash before COMMIT' });
  crash = false;
  t.is(s.db.prepare('SELECT COUNT(*) AS n FROM instances').pluck().get(), 0, 'the transaction rolled back');
  const [file] = readdirSync(join(dataDir, 'originals'));
  const report = s.recover();
  t.like(report, { orphanFiles: 1, tempFilesRemoved: 0, missingFiles: 0, integrity: 'ok' });
  t.is(report.actions[0]!.action, 'orphan-kept');
  t.deepEqual(readdirSync(join(dataDir, 'originals')), []);
  t.deepEqual(readFileSync(join(dataDir, 'orphans', 'originals', file!)), Buffer.from([7, 7]));
  // The cart sends the same record again (it had no acknowledgement): it is saved as new.
  const again = await s.receive(ecgInput(Uint8Array.of(7, 7)));
  t.false(again.duplicate);
  t.is(s.get(again.id).state, 'captured');
  s.close();
});

test('a DICOM file written but not committed is an orphan; the instance stays captured to be encoded again', async (t) => {
  let crash = false;
  const { dataDir, store: s } = tempStore({
    fault: (p) => {
      if (crash && p === 'store.in-transaction') throw new Error('crash before COMMIT');
    },
  });
  const { id } = await s.receive(ecgInput(Uint8Array.of(3)));
  crash = true;
  await t.throwsAsync(() => encodeAndQueue(s, id));
  crash = false;
  t.is(s.get(id).state, 'captured');
  const report = s.recover();
  t.like(report, { orphanFiles: 1, missingFiles: 0 });
  t.deepEqual(readdirSync(join(dataDir, 'orphans', 'dicom')), [`1.2.3.${id}.1.dcm`]);
  s.close();
});

test('rows whose files are gone are quarantined as missing-file at start; delivered ones are left as they are', async (t) => {
  const { dataDir, store: s } = tempStore();
  const queued = (await s.receive(ecgInput(Uint8Array.of(1)))).id;
  await encodeAndQueue(s, queued, Uint8Array.of(9, 9));
  const delivered = (await s.receive(ecgInput(Uint8Array.of(2)))).id;
  await encodeAndQueue(s, delivered, Uint8Array.of(8, 8));
  s.markDelivering(delivered, 'A');
  s.markDelivered(delivered, 'A', 200);
  rmSync(join(dataDir, s.get(queued).dicom_path!));
  rmSync(join(dataDir, s.get(delivered).original_path));
  const report = s.recover();
  t.like(report, { missingFiles: 1, orphanFiles: 0 });
  t.is(s.get(queued).state, 'quarantined');
  t.is(s.get(queued).quarantine_code, 'missing-file');
  t.regex(s.get(queued).quarantine_reason!, /file missing from the terminal's disk: dicom\//);
  t.is(s.get(delivered).state, 'delivered');
  s.close();
});

test('a corrupted DICOM file is caught by its hash: quarantined, the NOC told, never sent', async (t) => {
  const { dataDir, store: s } = tempStore();
  const { id } = await s.receive(ecgInput(Uint8Array.of(4)));
  await encodeAndQueue(s, id, Uint8Array.of(1, 2, 3, 4, 5, 6));
  const path = join(dataDir, s.get(id).dicom_path!);
  const bytes = readFileSync(path);
  bytes[2] = (bytes[2] ?? 0) ^ 0x10;
  writeFileSync(path, bytes);
  await t.throwsAsync(() => s.readDicom(s.get(id)), {
    instanceOf: StoreError,
    message: /no longer matches its hash/,
  });
  const events: UplinkEvent[] = [];
  let sent = 0;
  const stow: StowFn = async () => {
    sent++;
    return { kind: 'stored', httpStatus: 200, alreadyStored: false };
  };
  const target = { name: 'x', dicomWebUrl: 'http://127.0.0.1:9', timeoutMs: 1000 };
  const uplink = new Uplink({
    store: s,
    targets: { A: target, B: target },
    home: 'A',
    failoverAfter: 3,
    retryInitialMs: 10,
    retryMaxMs: 100,
    stow,
    onEvent: (e) => events.push(e),
  });
  uplink.start();
  const deadline = Date.now() + 5000;
  while (s.get(id).state === 'queued' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  await uplink.stop();
  t.is(sent, 0);
  t.is(s.get(id).state, 'quarantined');
  t.is(s.get(id).quarantine_code, 'corrupted');
  t.like(
    events.find((e) => e.type === 'unsendable'),
    { type: 'unsendable', instanceId: id, code: 'corrupted' },
  );
  t.true(existsSync(path), 'the damaged file is kept for the technician');
  s.close();
});

test('TELEMED_CRASH_AT kills at the Nth hit of its point only, and a malformed value names what is wrong', (t) => {
  let kills = 0;
  const hook = crashAtFromEnv('store.committed:3', () => kills++);
  for (const p of ['store.committed', 'file.synced', 'store.committed', 'file.renamed'] as const) hook(p);
  t.is(kills, 0);
  hook('store.committed');
  t.is(kills, 1);
  hook('store.committed');
  t.is(kills, 1, 'once');
  crashAtFromEnv(undefined, () => kills++)('store.committed');
  t.is(kills, 1);
  t.throws(() => crashAtFromEnv('store.commit:1'), { message: /POINT:N with POINT one of file.synced/ });
  t.throws(() => crashAtFromEnv('store.committed:0'), { message: /N ≥ 1/ });
});
