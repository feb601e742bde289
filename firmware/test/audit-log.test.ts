import { join } from 'node:path';
import test from 'ava';
import fc from 'fast-check';
import { AuditLog } from '../src/store/audit-log.ts';
import { cli, writeConfig } from './helpers/cli.ts';
import { ecgInput, encodeAndQueue, tempStore } from './helpers/store.ts';

/** An attacker with root can drop the triggers; the chain still tells. */
function unprotect(store: ReturnType<typeof tempStore>['store']): void {
  store.db.exec('DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;');
}

test('captured, set aside, sent, deleted: each change writes its entry in its own transaction, chained', async (t) => {
  const { store } = tempStore();
  const a = (await store.receive(ecgInput(Uint8Array.of(1)))).id;
  const b = (await store.receive(ecgInput(Uint8Array.of(2)))).id;
  await store.receive({ ...ecgInput(Uint8Array.of(3)), incomplete: 'cable pulled' });
  await encodeAndQueue(store, a);
  store.markDelivering(a, 'B');
  store.markDelivered(a, 'B', 200);
  store.quarantine(b, 'undecodable', 'not SCP-ECG');
  store.purge({ deliveredBefore: null, wantBytes: null });
  const entries = [...store.audit.since(null)];
  t.deepEqual(
    entries.map((e) => [e.actor, e.action, e.subject]),
    [
      ['cart-1', 'captured', `instance ${a} (ecg)`],
      ['cart-1', 'captured', `instance ${b} (ecg)`],
      ['cart-1', 'set-aside', 'instance 3 (ecg)'],
      ['data centre B', 'sent', `instance ${a}`],
      ['terminal', 'set-aside', `instance ${b}`],
      ['storage', 'deleted', `instance ${a}`],
    ],
  );
  t.regex(entries[2]!.detail!, /cable pulled/);
  const check = store.audit.verify();
  t.deepEqual(check, { entries: 6, headHash: entries[5]!.hash, broken: null });
  t.deepEqual(store.audit.head(), { entries: 6, hash: entries[5]!.hash });
  // The same bytes again are the same capture: no second entry.
  await store.receive(ecgInput(Uint8Array.of(1)));
  t.is(store.audit.head().entries, 6);
});

test('the log refuses UPDATE and DELETE; altered or removed entries break the chain where it happened', async (t) => {
  const { store } = tempStore();
  for (let i = 1; i <= 5; i++) await store.receive(ecgInput(Uint8Array.of(i)));
  t.throws(() => store.db.prepare("UPDATE audit SET actor = 'x' WHERE id = 2").run(), {
    any: true,
    message: /append-only/,
  });
  t.throws(() => store.db.prepare('DELETE FROM audit WHERE id = 5').run(), {
    any: true,
    message: /append-only/,
  });
  unprotect(store);
  store.db.prepare("UPDATE audit SET detail = 'nothing to see' WHERE id = 3").run();
  t.deepEqual(store.audit.verify().broken, { id: 3, reason: 'its content no longer matches its hash' });
  const { store: other } = tempStore();
  for (let i = 1; i <= 5; i++) await other.receive(ecgInput(Uint8Array.of(i)));
  unprotect(other);
  other.db.prepare('DELETE FROM audit WHERE id = 2').run();
  t.deepEqual(other.audit.verify().broken, { id: 3, reason: 'entry 2 is missing' });
});

test('property: any run of appends verifies; changing any one field of any entry is found', (t) => {
  const entry = fc.record({
    actor: fc.string({ minLength: 1, maxLength: 20 }),
    action: fc.constantFrom('captured', 'viewed', 'sent', 'set-aside', 'deleted' as const),
    subject: fc.string({ maxLength: 30 }),
    detail: fc.option(fc.string({ maxLength: 30 })),
  });
  fc.assert(
    fc.property(
      fc.array(entry, { minLength: 1, maxLength: 12 }),
      fc.nat(),
      fc.constantFrom('at', 'actor', 'subject', 'detail', 'prev_hash'),
      (entries, pick, field) => {
        const { store } = tempStore();
        const log = new AuditLog(store.db);
        for (const [i, e] of entries.entries())
          log.append(
            new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
            e.actor,
            e.action,
            e.subject,
            e.detail,
          );
        t.is(log.verify().broken, null);
        unprotect(store);
        const id = 1 + (pick % entries.length);
        store.db.prepare(`UPDATE audit SET ${field} = coalesce(${field}, '') || '!' WHERE id = ?`).run(id);
        t.is(log.verify().broken?.id, id);
        store.close();
      },
    ),
    { numRuns: 60 },
  );
});

test('telemed audit-export: JSON lines for the inspector, the chain checked; a broken chain exits 65', async (t) => {
  const { dataDir, store } = tempStore();
  for (let i = 1; i <= 3; i++) await store.receive(ecgInput(Uint8Array.of(i)));
  const config = join(dataDir, 'config.json');
  writeConfig(config, dataDir);
  const ok = await cli(['audit-export', '--config', config]);
  t.is(ok.code, 0, ok.stderr);
  const lines = ok.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { id: number; action: string });
  t.deepEqual(
    lines.map((l) => [l.id, l.action]),
    [
      [1, 'captured'],
      [2, 'captured'],
      [3, 'captured'],
    ],
  );
  t.regex(ok.stderr, /3 entries, chain intact, head [0-9a-f]{64}/);
  t.is((await cli(['audit-export', '--config', config, '--since', '2999-01-01'])).stdout, '');
  unprotect(store);
  store.db.prepare("UPDATE audit SET subject = 'instance 9' WHERE id = 2").run();
  const broken = await cli(['audit-export', '--config', config]);
  t.is(broken.code, 65);
  t.regex(broken.stderr, /BREAKS at entry 2: its content no longer matches its hash/);
  t.is((await cli(['audit-export', '--config', config, '--since', 'yesterday'])).code, 64);
});
