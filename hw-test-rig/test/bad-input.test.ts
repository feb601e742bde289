import test from 'ava';
import mqtt from 'mqtt';
import { TransferFailed } from '#device-drivers';
import { CartSimulator } from '../src/cart/cart-simulator.ts';
import { synthEcgRecord } from '../src/cart/synth-ecg.ts';
import { type DcFault, OTHER_INSTANCE_UID } from '../src/services/fault-proxy.ts';
import { until, world } from './helpers/harness.ts';

const record = (seed: number) => synthEcgRecord({ seed, seconds: 3 });

/** Instance `id` once both data centres failed it and it waits for its next attempt. */
const triedAtBoth = (w: Awaited<ReturnType<typeof world>>, id: number) =>
  until(`instance ${id} tried at both data centres`, () => {
    const row = w.daemon.store.get(id);
    return row.attempts >= 2 && row.state === 'queued' && row.last_error ? row : false;
  });

test.serial('garbage bytes and bit errors on the serial line: the record still arrives intact', async (t) => {
  const w = await world();
  t.teardown(() => w.stop());
  const cart = new CartSimulator(w.rig.cables[0]!.cartEnd);
  const bytes = record(1);
  const garbage = Uint8Array.from({ length: 300 }, (_, i) => (i * 37 + 11) & 0xff).filter(
    (b) => b !== 0x01 && b !== 0x02 && b !== 0x04,
  );
  await cart.send([{ name: 'N.SCP', bytes }], 'ymodem', { garbageBefore: garbage, bitErrorRate: 0.0005 });
  const row = await until('delivered', () => w.daemon.store.inState('delivered')[0]);
  t.deepEqual(Buffer.from(await w.daemon.store.readOriginal(row)), Buffer.from(bytes));
  const counters = w.daemon.health().devices.ecgCarts[0]!.counters;
  t.true(counters['noiseBytes']! > 0, JSON.stringify(counters));
});

test.serial(
  'a transfer cut off mid-file: bytes kept and quarantined, kiosk says so, next record fine',
  async (t) => {
    const w = await world();
    t.teardown(() => w.stop());
    const cart = new CartSimulator(w.rig.cables[0]!.cartEnd);
    const error = await t.throwsAsync(
      cart.send([{ name: 'CUT.SCP', bytes: record(2) }], 'ymodem', { cutAfterBytes: 4096 }),
    );
    t.truthy(error);
    const row = await until('quarantined', () => w.daemon.store.inState('quarantined')[0], 60_000);
    t.regex(row.quarantine_reason!, /incomplete transfer/);
    t.true((await w.daemon.store.readOriginal(row)).length >= 4096);
    const status = w.daemon.status();
    t.is(status.studiesToday[0]!.display, 'attention');
    t.true(status.notices.some((n) => n.code === 'cart-problem'));
    t.is(w.daemon.health().devices.ecgCarts[0]!.counters['cancelledTransfers'], 1);
    await cart.send([{ name: 'OK.SCP', bytes: record(3) }]);
    await until('the next record delivered', () => w.daemon.store.inState('delivered').length === 1);
  },
);

test.serial('an SCP record with a bad CRC is kept, quarantined with the reason, and counted', async (t) => {
  const w = await world();
  t.teardown(() => w.stop());
  const bytes = record(4);
  bytes[0]! ^= 0xff;
  await new CartSimulator(w.rig.cables[0]!.cartEnd).send([{ name: 'BAD.SCP', bytes }]);
  const row = await until('quarantined', () => w.daemon.store.inState('quarantined')[0]);
  t.regex(
    row.quarantine_reason!,
    /cannot decode the cart's record: Record: CRC: stored 0x[0-9a-f]{4} does not match/,
  );
  t.is(row.quarantine_code, 'undecodable');
  t.deepEqual(Buffer.from(await w.daemon.store.readOriginal(row)), Buffer.from(bytes));
  t.is(w.daemon.health().ingest['decodeFailures'], 1);
  t.true(w.daemon.status().notices.some((n) => n.code === 'quarantined'));
});

test.serial('data centre answers 500, or is slower than the timeout: the other one takes it', async (t) => {
  const w = await world({ requestTimeoutMs: 1000 });
  t.teardown(() => w.stop());
  const cart = new CartSimulator(w.rig.cables[0]!.cartEnd);
  w.rig.proxies.A.fault = { mode: 'http-error', status: 500, body: 'internal error' };
  await cart.send([{ name: 'A.SCP', bytes: record(5) }]);
  const first = await until('delivered', () => w.daemon.store.inState('delivered')[0]);
  t.deepEqual(
    w.daemon.store.deliveredTo(first.id).map((d) => d.dc),
    ['B'],
  );
  t.true(w.rig.proxies.A.requests.some((r) => r.answered === '500'));

  w.rig.proxies.A.fault = { mode: 'slow', delayMs: 3000 };
  await cart.send([{ name: 'B.SCP', bytes: record(6) }]);
  await until('second delivered', () => w.daemon.store.inState('delivered').length === 2, 60_000);
  t.is(w.daemon.status().dataCentres.find((d) => d.id === 'A')!.state, 'down');
});

test.serial(
  'both data centres reject with 400: quarantined with the server reason, not retried',
  async (t) => {
    const w = await world();
    t.teardown(() => w.stop());
    for (const dc of ['A', 'B'] as const) {
      w.rig.proxies[dc].fault = { mode: 'http-error', status: 400, body: 'Patient ID missing in dataset' };
    }
    await new CartSimulator(w.rig.cables[0]!.cartEnd).send([{ name: 'R.SCP', bytes: record(7) }]);
    const row = await until('quarantined', () => w.daemon.store.inState('quarantined')[0]);
    t.is(row.quarantine_reason, 'HTTP 400: Patient ID missing in dataset');
    t.is(row.quarantine_code, 'rejected-by-dc');
    // One upload to A (the other requests are its health probes, GET).
    t.is(w.rig.proxies.A.requests.filter((r) => r.method === 'POST').length, 1);
  },
);

test.serial(
  'a data centre answering 503 with Retry-After, cutting the upload mid-way, answering malformed STOW-RS, or claiming another instance: never taken as delivered; retried; then delivered once',
  async (t) => {
    const w = await world();
    t.teardown(() => w.stop());
    const cart = new CartSimulator(w.rig.cables[0]!.cartEnd);
    const faults: Array<[DcFault, RegExp]> = [
      [
        { mode: 'http-error', status: 503, body: 'down for maintenance', retryAfterS: 4 },
        /HTTP 503: down for maintenance/,
      ],
      [{ mode: 'reset' }, /connection to the data centre was cut mid-request/],
      [{ mode: 'malformed' }, /HTTP 200 but the response is not DICOM JSON/],
      [
        { mode: 'other-instance' },
        new RegExp(`lists another instance as stored \\(${OTHER_INSTANCE_UID.replace(/\./g, '\\.')}\\)`),
      ],
    ];
    for (const [i, [fault, reason]] of faults.entries()) {
      // Both data centres misbehave alike, so that neither can take it instead.
      for (const dc of ['A', 'B'] as const) w.rig.proxies[dc].fault = fault;
      await cart.send([{ name: `F${i}.SCP`, bytes: record(20 + i) }]);
      const id = i + 1;
      const failed = await triedAtBoth(w, id);
      t.regex(failed.last_error!, reason, fault.mode);
      t.deepEqual(w.daemon.store.deliveredTo(id), [], `${fault.mode}: not delivered`);
      if (fault.mode === 'http-error')
        t.true(failed.next_attempt_at - Date.now() > 2500, 'the next attempt waits for Retry-After');
      t.true(w.rig.proxies.A.requests.some((r) => r.method === 'POST' && r.answered !== '200'));
      for (const dc of ['A', 'B'] as const) w.rig.proxies[dc].fault = { mode: 'pass' };
      await until(`instance ${id} delivered`, () => w.daemon.store.get(id).state === 'delivered', 60_000);
    }
    // Exactly once in the province: every SOP Instance UID once, across both data centres.
    const uids = [...(await w.rig.dcs.A.sopInstanceUids()), ...(await w.rig.dcs.B.sopInstanceUids())];
    t.is(uids.length, faults.length);
    t.is(new Set(uids).size, faults.length);
    t.false(uids.includes(OTHER_INSTANCE_UID));
  },
);

test.serial(
  '"already stored" (a lost answer, retried): delivered once the data centre’s copy is checked to be ours; a data centre that only claims it is not believed',
  async (t) => {
    const w = await world();
    t.teardown(() => w.stop());
    const cart = new CartSimulator(w.rig.cables[0]!.cartEnd);
    // A stores the upload and answers 409 "already stored", as when its first answer was lost.
    w.rig.proxies.A.fault = { mode: 'already-stored' };
    await cart.send([{ name: 'S.SCP', bytes: record(30) }]);
    await until('delivered', () => w.daemon.store.get(1).state === 'delivered');
    t.deepEqual(
      w.daemon.store.deliveredTo(1).map((d) => [d.dc, d.http_status]),
      [['A', 409]],
    );
    t.true(
      w.rig.proxies.A.requests.some(
        (r) => r.method === 'GET' && r.path.endsWith(w.daemon.store.get(1).sop_uid!),
      ),
      'its copy was fetched (WADO-RS) and compared',
    );
    // Both claim to have the next one but hold nothing: it is not delivered until one really takes it.
    for (const dc of ['A', 'B'] as const) w.rig.proxies[dc].fault = { mode: 'claims-stored' };
    await cart.send([{ name: 'T.SCP', bytes: record(31) }]);
    const claimed = await triedAtBoth(w, 2);
    t.regex(claimed.last_error!, /already stored but does not have it/);
    for (const dc of ['A', 'B'] as const) w.rig.proxies[dc].fault = { mode: 'pass' };
    await until('delivered for real', () => w.daemon.store.get(2).state === 'delivered', 60_000);
    const uids = [...(await w.rig.dcs.A.sopInstanceUids()), ...(await w.rig.dcs.B.sopInstanceUids())];
    t.deepEqual(uids.sort(), [w.daemon.store.get(1).sop_uid, w.daemon.store.get(2).sop_uid].sort());
  },
);

test.serial(
  'data centre A stopped mid-run: B takes the uploads at once; A back, the terminal goes home once its probes answered three times in a row',
  async (t) => {
    const w = await world({ probeIntervalMs: 300 });
    t.teardown(() => w.stop());
    const cart = new CartSimulator(w.rig.cables[0]!.cartEnd);
    const dc = (id: 'A' | 'B') => w.daemon.status().dataCentres.find((d) => d.id === id)!;
    const deliveredAt = async (id: number) => {
      await until(`instance ${id} delivered`, () => w.daemon.store.get(id).state === 'delivered', 60_000);
      return w.daemon.store.deliveredTo(id).map((d) => d.dc);
    };
    await cart.send([{ name: 'H1.SCP', bytes: record(40) }]);
    t.deepEqual(await deliveredAt(1), ['A']);
    await w.rig.dcs.A.stop();
    await cart.send([{ name: 'H2.SCP', bytes: record(41) }]);
    t.deepEqual(await deliveredAt(2), ['B'], 'failed over at once, nothing waits');
    t.is(dc('A').state, 'down');
    t.true(dc('B').active);
    await w.rig.dcs.A.start();
    // Up again only after three answers in a row (hysteresis), then home is active again.
    await until('A healthy and active', () => dc('A').state === 'up' && dc('A').active, 30_000);
    await cart.send([{ name: 'H3.SCP', bytes: record(42) }]);
    t.deepEqual(await deliveredAt(3), ['A'], 'failed back home');
    t.deepEqual(w.daemon.health().uplinkSwitches, { failovers: 1, failbacks: 1 });
    t.is((await w.rig.dcs.A.sopInstanceUids()).length, 2);
    t.deepEqual(await w.rig.dcs.B.sopInstanceUids(), [w.daemon.store.get(2).sop_uid]);
  },
);

test.serial('a data centre that is down, then back: nothing lost, delivered once', async (t) => {
  const w = await world();
  t.teardown(() => w.stop());
  await w.rig.dcs.A.stop();
  await w.rig.dcs.B.stop();
  const cart = new CartSimulator(w.rig.cables[0]!.cartEnd);
  await cart.send([{ name: 'D.SCP', bytes: record(8) }]);
  // Both data centres tried (A, then B at once), and the failure recorded for the next round.
  await until('retrying', () => {
    const row = w.daemon.store.get(1);
    return row.attempts >= 2 && row.last_error !== null;
  });
  t.is(w.daemon.status().studiesToday[0]!.display, 'sending');
  t.truthy(w.daemon.status().studiesToday[0]!.lastError);
  await w.rig.dcs.B.start();
  await until('delivered', () => w.daemon.store.inState('delivered').length === 1, 60_000);
  t.deepEqual(await w.rig.dcs.B.sopInstanceUids(), [w.daemon.store.get(1).sop_uid]);
});

test.serial(
  'a full disk when a record arrives: refused, the cart told so, the daemon keeps running',
  async (t) => {
    let free = 10 * 1048576;
    const w = await world({ minFreeBytes: 100 * 1048576, deps: { freeBytes: () => free } });
    t.teardown(() => w.stop());
    const cart = new CartSimulator(w.rig.cables[0]!.cartEnd);
    const error = await t.throwsAsync(cart.send([{ name: 'F.SCP', bytes: record(9) }]));
    t.true(error instanceof TransferFailed && error.cancelledByReceiver);
    t.is(w.daemon.store.countByState().captured + w.daemon.store.countByState().queued, 0);
    const notice = w.daemon.status().notices.find((n) => n.code === 'capture-refused');
    t.regex(notice!.message, /storage nearly full/);
    t.is(w.daemon.health().ingest['refused'], 1);
    free = 10 * 1024 * 1048576;
    await cart.send([{ name: 'F.SCP', bytes: record(9) }]);
    await until('delivered after space returned', () => w.daemon.store.inState('delivered').length === 1);
  },
);

test.serial(
  'the broker down at start and going down later: health is buffered and replayed as historical',
  async (t) => {
    const w = await world({ brokerDown: true });
    t.teardown(() => w.stop());
    // The observer is on the broker before the terminal can reach it, so the replay cannot be missed.
    const client = mqtt.connect(w.rig.broker.url, { protocolVersion: 5 });
    t.teardown(() => client.end(true));
    const seen: Array<{ topic: string; body: Record<string, unknown> }> = [];
    client.on('message', (topic, payload) => seen.push({ topic, body: JSON.parse(payload.toString()) }));
    await new Promise<void>((resolve) =>
      client.on('connect', () => client.subscribe('telemed/v1/#', { qos: 1 }, () => resolve())),
    );
    await new Promise((r) => setTimeout(r, 2500));
    t.not(w.daemon.telemetry.state, 'online');
    t.true(w.daemon.health().telemetry.counters.buffered > 0, 'health kept while the broker is unreachable');
    t.is(w.daemon.status().telemetry, w.daemon.telemetry.state, 'the kiosk is told');
    w.rig.brokerLink.up = true;
    await until(
      'historical health replayed',
      () => seen.some((m) => m.topic.endsWith('/health') && m.body['historical'] === true),
      90_000,
    );
    await until('online', () => w.daemon.telemetry.state === 'online');
    w.rig.brokerLink.up = false;
    await until('offline', () => w.daemon.telemetry.state === 'offline', 20_000);
    await until(
      'the broker published the last will',
      () => seen.some((m) => m.topic.endsWith('/state') && m.body['state'] === 'offline'),
      20_000,
    );
    w.rig.brokerLink.up = true;
    await until('online again', () => w.daemon.telemetry.state === 'online', 90_000);
    t.true(w.daemon.telemetry.counters.connects >= 2);
    t.true(w.daemon.telemetry.counters.replayed >= 1);
  },
);
