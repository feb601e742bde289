import { existsSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import fc from 'fast-check';
import pino from 'pino';
import { type DaemonEvent, EventBus } from '../src/events.ts';
import { describe as describeEvent } from '../src/notices.ts';
import { DiskGuard, type DiskTrimmer } from '../src/store/disk-guard.ts';
import { parseVacuumFreed } from '../src/store/journal-trimmer.ts';
import type { StudyStore } from '../src/store/study-store.ts';
import { StoreError } from '../src/store/types.ts';
import { ecgInput, encodeAndQueue, tempStore } from './helpers/store.ts';

const DAY = 86_400_000;
const T0 = Date.parse('2026-11-01T08:00:00Z');
const log = pino({ level: 'silent' });

/** A store whose clock the test moves, with `n` ECGs of 1000 bytes each, encoded and queued. */
async function filledStore(n: number) {
  let now = T0;
  const { dataDir, store } = tempStore({ clock: () => new Date(now) });
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    const { id } = await store.receive(ecgInput(new Uint8Array(1000).fill(i + 1)));
    await encodeAndQueue(store, id, new Uint8Array(500).fill(i + 1));
    ids.push(id);
  }
  return {
    dataDir,
    store,
    ids,
    at: (ms: number) => {
      now = ms;
    },
    files: (id: number) => {
      const row = store.get(id);
      return [row.original_path, row.dicom_path!].map((p) => existsSync(join(dataDir, p)));
    },
  };
}

function deliverAt(f: Awaited<ReturnType<typeof filledStore>>, id: number, ms: number): void {
  f.at(ms);
  f.store.markDelivering(id, 'A');
  f.store.markDelivered(id, 'A', 200);
}

test('purging takes delivered copies only, oldest delivery first; the rows stay as the record', async (t) => {
  const f = await filledStore(5);
  const [a, b, c, queued, rejected] = f.ids as [number, number, number, number, number];
  deliverAt(f, b, T0 + 1000);
  deliverAt(f, a, T0 + 2000);
  deliverAt(f, c, T0 + 3000);
  f.store.quarantine(rejected, 'rejected-by-dc', 'HTTP 400');

  // Asked for one byte: the copy delivered longest ago goes, nothing else.
  const first = f.store.purge({ deliveredBefore: null, wantBytes: 1 });
  t.deepEqual(first, { instances: 1, bytes: 1500 });
  t.is(f.store.get(b).state, 'purgeable');
  t.truthy(f.store.get(b).purged_at);
  t.deepEqual(f.files(b), [false, false]);
  t.deepEqual(f.files(a), [true, true]);
  t.deepEqual(
    f.store.deliveredTo(b).map((d) => d.dc),
    ['A'],
    'where it went is still known',
  );

  // Asked for everything: the delivered ones go; queued and quarantined ones are never touched.
  const rest = f.store.purge({ deliveredBefore: null, wantBytes: 10 ** 12 });
  t.deepEqual(rest, { instances: 2, bytes: 3000 });
  for (const id of [queued, rejected]) t.deepEqual(f.files(id), [true, true]);
  t.is(f.store.get(queued).state, 'queued');
  t.is(f.store.get(rejected).state, 'quarantined');
  t.deepEqual(f.store.purge({ deliveredBefore: null, wantBytes: null }), { instances: 0, bytes: 0 });

  // The same record sent again by a cart is still recognised as one already taken.
  t.true((await f.store.receive(ecgInput(new Uint8Array(1000).fill(2)))).duplicate);
});

test('a purge cut by a crash is finished at start-up; nothing is called missing', async (t) => {
  const f = await filledStore(1);
  const id = f.ids[0]!;
  deliverAt(f, id, T0);
  // The crash came after the row was marked and before its files were removed.
  f.store.db.prepare("UPDATE instances SET state = 'purgeable', purged_at = ? WHERE id = ?").run('x', id);
  const report = f.store.recover();
  t.is(report.purgesFinished, 2);
  t.is(report.missingFiles, 0);
  t.is(report.orphanFiles, 0);
  t.deepEqual(f.files(id), [false, false]);
  t.is(f.store.recover().purgesFinished, 0);
});

/** A guard over `store` with free space the test sets; what happens is written to `trace`. */
function guarded(
  store: StudyStore,
  o: { free: () => number; trimmers?: DiskTrimmer[]; retentionDays?: number; at: () => number },
) {
  const trace: string[] = [];
  const events: Extract<DaemonEvent, { type: 'disk-state' }>[] = [];
  const bus = new EventBus((e) => {
    throw e;
  });
  bus.on('test', (e) => {
    if (e.type !== 'disk-state') return;
    events.push(e);
    trace.push(`level ${e.level}`);
  });
  const guard = new DiskGuard({
    config: {
      minFreeBytes: 2000,
      warnFreeBytes: 10_000,
      retentionDays: o.retentionDays ?? 30,
      checkIntervalS: 60,
    },
    disk: {
      freeBytesNow: o.free,
      totalBytesNow: () => 10 ** 12,
      purge: (p) => {
        const result = store.purge(p);
        if (result.instances > 0) trace.push(`purged ${result.instances}`);
        return result;
      },
    },
    trimmers: o.trimmers ?? [],
    bus,
    log,
    clock: () => new Date(o.at()),
  });
  return { guard, trace, events };
}

test('retention: copies go once delivered longer ago than the period; clock jumps a day either way do no harm', async (t) => {
  const f = await filledStore(3);
  const [a, b, c] = f.ids as [number, number, number];
  deliverAt(f, a, T0);
  deliverAt(f, b, T0 + DAY);
  // Delivered while the clock was ten days ahead (fixed since): not purged by a bogus age.
  deliverAt(f, c, T0 + 10 * DAY);
  let now = T0 + 2.5 * DAY;
  const { guard } = guarded(f.store, { free: () => 10 ** 9, retentionDays: 2, at: () => now });
  await guard.check();
  t.is(f.store.get(a).state, 'purgeable', 'delivered 2.5 days ago');
  t.is(f.store.get(b).state, 'delivered', 'delivered 1.5 days ago');
  // The clock goes back a day: everything looks younger, nothing more goes.
  now -= DAY;
  await guard.check();
  t.is(f.store.get(b).state, 'delivered');
  // Forward a day past where it was: b's time has come, c (delivered "in the future") stays.
  now += 2 * DAY;
  await guard.check();
  t.is(f.store.get(b).state, 'purgeable');
  t.is(f.store.get(c).state, 'delivered');
  t.is(guard.counters.purgedInstances, 2);
  t.is(guard.level, 'ok');
});

test('storage low: the alarm first, then the journal, then delivered copies oldest first, never the undelivered; below the reserve captures are refused', async (t) => {
  const f = await filledStore(6);
  const delivered = f.ids.slice(0, 4);
  for (const [i, id] of delivered.entries()) deliverAt(f, id, T0 + i * 1000);
  // The disk: 4000 bytes free to start with; whatever is removed comes back as free space.
  let base = 4000;
  let freed = 0;
  let vacuumed = false;
  const free = () => base + freed;
  const trimmer: DiskTrimmer = {
    name: 'journal',
    trim: async () => {
      // A journal once vacuumed has nothing more to give.
      const bytes = vacuumed ? 0 : 2500;
      vacuumed = true;
      trace.push('journal trimmed');
      freed += bytes;
      return bytes;
    },
  };
  const store = f.store;
  const { guard, trace, events } = guarded(
    {
      purge: (p: Parameters<StudyStore['purge']>[0]) => {
        const r = store.purge(p);
        freed += r.bytes;
        return r;
      },
    } as StudyStore,
    { free, trimmers: [trimmer], at: () => T0 + 5000 },
  );
  await guard.check();
  // 4000 + 2500 from the journal = 6500, short of 10 000 by 3500 (+ a margin): three copies of 1500.
  t.deepEqual(trace, ['level low', 'journal trimmed', 'purged 3', 'level ok']);
  t.deepEqual(
    delivered.map((id) => f.store.get(id).state),
    ['purgeable', 'purgeable', 'purgeable', 'delivered'],
    'oldest deliveries first, and no more than needed',
  );
  for (const id of f.ids.slice(4)) t.deepEqual(f.files(id), [true, true], 'undelivered copies kept');
  t.is(events[0]!.freeBytes, 4000);
  t.regex(describeEvent(events[0]!)!.notice.message, /storage low: .*undelivered studies are kept/);
  t.is(describeEvent(events[0]!)!.severity, 'alarm');

  // The disk fills further: the alarm says full at once; the last delivered copy is not enough.
  trace.length = 0;
  base = 400 - freed;
  await guard.check();
  t.deepEqual(trace, ['level full', 'journal trimmed', 'purged 1']);
  t.is(guard.level, 'full');
  t.is(describeEvent(events.at(-1)!)!.notice.code, 'disk-full');
  for (const id of f.ids.slice(4)) t.is(f.store.get(id).state, 'queued');
  const tight = tempStore({ minFreeBytes: 2000, freeBytes: free });
  await t.throwsAsync(() => tight.store.receive(ecgInput(Uint8Array.of(9))), {
    instanceOf: StoreError,
    message: /storage nearly full/,
  });

  // Space comes back: ok, said once.
  base = 10 ** 9;
  await guard.check();
  await guard.check();
  t.deepEqual(trace.slice(-1), ['level ok']);
  t.is(describeEvent(events.at(-1)!)!.notice.code, 'disk-ok');
  t.is(guard.counters.lowEpisodes, 2);
});

test('journalctl --vacuum-size output: freed sizes summed over journal directories; any text parses', (t) => {
  t.is(
    parseVacuumFreed(
      'Deleted archived journal /var/log/journal/x/system@1.journal (8.0M).\nVacuuming done, freed 8.0M of archived journals from /var/log/journal/x.\nVacuuming done, freed 512K of archived journals from /run/log/journal.\n',
    ),
    8 * 1048576 + 512 * 1024,
  );
  t.is(parseVacuumFreed('No journal files were found.\nVacuuming done, freed 0B of archived journals.'), 0);
  fc.assert(
    fc.property(fc.string(), (text) => {
      const n = parseVacuumFreed(text);
      t.true(Number.isInteger(n) && n >= 0);
    }),
    { numRuns: 500 },
  );
});
