import { basename } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import test from 'ava';
import mqtt from 'mqtt';
import { decodeScp } from '#device-drivers';
import { testWhen } from '../../device-drivers/test/helpers/test-when.ts';
import { readEcgWaveform } from '../../firmware/src/dicom/ecg-read.ts';
import { PRIORITY } from '../../firmware/src/store/types.ts';
import { HealthPayload } from '../../firmware/src/telemetry/payloads.ts';
import { CartSimulator } from '../src/cart/cart-simulator.ts';
import { synthEcgRecord } from '../src/cart/synth-ecg.ts';
import { hasTestdata, readBytes, testdataScpFiles, until, world } from './helpers/harness.ts';

testWhen(
  hasTestdata,
  '../shared/testdata/scp is absent (CI requires it)',
  true,
)('every SCP file in the test data goes cart → store → DICOM → data centre, sample for sample', async (t) => {
  const w = await world();
  t.teardown(() => w.stop());
  const cart = new CartSimulator(w.rig.cables[0]!.cartEnd);
  const files = testdataScpFiles();
  for (const file of files) await cart.send([{ name: basename(file), bytes: readBytes(file) }]);

  const delivered = await until('every record delivered', () => {
    const rows = w.daemon.store.inState('delivered');
    return rows.length === files.length && rows;
  });
  t.is(w.daemon.store.inState('quarantined').length, 0);
  const stored = await w.rig.dcs.A.sopInstanceUids();
  t.is(stored.length, files.length);
  for (const row of delivered) {
    t.deepEqual(
      w.daemon.store.deliveredTo(row.id).map((d) => d.dc),
      ['A'],
    );
    const source = decodeScp(await w.daemon.store.readOriginal(row));
    const back = readEcgWaveform(await w.rig.dcs.A.instanceFile(row.sop_uid!));
    t.is(back.sopInstanceUid, row.sop_uid!);
    t.is(back.leads.length, source.leads.length, row.original_name ?? '');
    source.leads.forEach((lead, i) => {
      const got = back.leads[i]!;
      t.is(got.code, `5.6.3-9-${lead.code}`);
      t.is(got.sensitivityUv, lead.amplitudeNv / 1000);
      t.deepEqual(
        Array.from(got.samples),
        Array.from(lead.samples),
        `${row.original_name ?? ''} ${lead.name}`,
      );
    });
    t.deepEqual(
      Buffer.from(back.originalScp!),
      Buffer.from(await w.daemon.store.readOriginal(row)),
      'SCP original travels with it',
    );
  }
});

test.serial(
  'a record sent twice is one instance; the home data centre stopping moves delivery to the other',
  async (t) => {
    const w = await world();
    t.teardown(() => w.stop());
    const cart = new CartSimulator(w.rig.cables[0]!.cartEnd);
    const records = Array.from({ length: 6 }, (_, i) => synthEcgRecord({ seed: i + 1, seconds: 4 }));
    await cart.send([{ name: 'R0.SCP', bytes: records[0]! }]);
    await cart.send([{ name: 'R0.SCP', bytes: records[0]! }]);
    await cart.send([{ name: 'R1.SCP', bytes: records[1]! }]);
    await until('two delivered to A', () => w.daemon.store.inState('delivered').length === 2);
    t.is(w.daemon.ingest.counters.duplicates, 1);

    await w.rig.dcs.A.stop();
    for (let i = 2; i < 6; i++) await cart.send([{ name: `R${i}.SCP`, bytes: records[i]! }]);
    await until('all six delivered', () => w.daemon.store.inState('delivered').length === 6, 60_000);
    const status = w.daemon.status();
    t.is(status.dataCentres.find((d) => d.id === 'A')!.state, 'down');
    t.is(status.dataCentres.find((d) => d.id === 'B')!.state, 'up');

    await w.rig.dcs.A.start();
    const onA = await w.rig.dcs.A.sopInstanceUids();
    const onB = await w.rig.dcs.B.sopInstanceUids();
    const all = [...onA, ...onB];
    t.is(new Set(all).size, 6, 'every instance is in a data centre');
    t.is(all.length, 6, 'and in exactly one: nothing duplicated');
    for (const row of w.daemon.store.inState('delivered')) {
      const dcs = w.daemon.store.deliveredTo(row.id).map((d) => d.dc);
      t.deepEqual(dcs, [onA.includes(row.sop_uid!) ? 'A' : 'B']);
    }
  },
);

test.serial(
  'a STAT ECG (the cart’s stat code) goes to the province before the routine ones queued before it',
  async (t) => {
    const w = await world();
    t.teardown(() => w.stop());
    const cart = new CartSimulator(w.rig.cables[0]!.cartEnd);
    // Both data centres away: a backlog of routine ECGs builds up, then a STAT one comes.
    await Promise.all([w.rig.dcs.A.stop(), w.rig.dcs.B.stop()]);
    for (let i = 0; i < 3; i++)
      await cart.send([{ name: `R${i}.SCP`, bytes: synthEcgRecord({ seed: 40 + i, seconds: 3 }) }]);
    await cart.send([{ name: 'STAT.SCP', bytes: synthEcgRecord({ seed: 50, seconds: 3, statCode: 1 }) }]);
    // Queued, or being tried against the data centres that are away.
    const waiting = () => [...w.daemon.store.inState('queued'), ...w.daemon.store.inState('delivering')];
    await until('all four waiting for the province', () => waiting().length === 4, 30_000);
    const stat = waiting().find((r) => r.priority === PRIORITY.statEcg);
    t.truthy(stat, 'the STAT ECG waits at the STAT priority');
    t.is(waiting().filter((r) => r.priority === PRIORITY.ecg).length, 3);
    await Promise.all([w.rig.dcs.A.start(), w.rig.dcs.B.start()]);
    await until('all four delivered', () => w.daemon.store.inState('delivered').length === 4, 60_000);
    const order = w.daemon.store
      .inState('delivered')
      .map((r) => ({ id: r.id, at: w.daemon.store.deliveredTo(r.id)[0]!.delivered_at }))
      .sort((a, b) => a.at.localeCompare(b.at) || a.id - b.id);
    t.is(order[0]!.id, stat!.id, 'the STAT ECG arrived first, though it was captured last');
  },
);

test.serial(
  'health goes to MQTT: online retained, periodic health without patient data, offline on stop',
  async (t) => {
    const w = await world();
    let stopped = false;
    const client = mqtt.connect(w.rig.broker.url, { protocolVersion: 5 });
    t.teardown(async () => {
      client.end(true);
      if (!stopped) await w.stop();
    });
    const messages: Array<{ topic: string; payload: string; retain: boolean }> = [];
    client.on('message', (topic, payload, packet) =>
      messages.push({ topic, payload: payload.toString(), retain: packet.retain }),
    );
    await new Promise<void>((resolve) =>
      client.on('connect', () => client.subscribe('telemed/v1/#', () => resolve())),
    );
    const base = 'telemed/v1/henan/rig-county/T-RIG-0001';
    const cart = new CartSimulator(w.rig.cables[0]!.cartEnd);
    await cart.send([
      {
        name: 'H.SCP',
        bytes: synthEcgRecord({ seed: 99, seconds: 3, patient: { id: 'ID-SECRET-42', lastName: '王秘密' } }),
      },
    ]);
    await until('delivered', () => w.daemon.store.inState('delivered').length === 1);
    const health = await until('a health message after delivery', () => {
      const found = messages.filter((m) => m.topic === `${base}/health`).map((m) => JSON.parse(m.payload));
      return found.find((h) => h.uplink.A.delivered === 1);
    });
    const state = messages.find((m) => m.topic === `${base}/state`);
    t.truthy(state);
    t.is(JSON.parse(state!.payload).state, 'online');
    t.true(Value.Check(HealthPayload, health), 'health matches its published schema');
    t.is(health.v, 1);
    t.is(health.devices.ecgCarts[0].state, 'connected');
    t.is(health.devices.ecgCarts[0].counters.files, 1);
    t.is(health.queue.depth, 0);
    t.is(health.uplink.A.state, 'up');
    // B takes no uploads while A is healthy, but its probes say how it is.
    t.is(health.uplink.B.state, 'up');
    t.false(health.uplink.B.active);
    t.true(health.uplink.B.probes >= 1);
    t.true(health.disk.freeBytes > 0);
    for (const m of messages) {
      t.false(m.payload.includes('SECRET') || m.payload.includes('王秘密'), `no patient data on ${m.topic}`);
    }
    await w.stop();
    stopped = true;
    const offline = await until('offline state', () =>
      messages
        .filter((m) => m.topic === `${base}/state`)
        .map((m) => JSON.parse(m.payload))
        .find((p) => p.state === 'offline'),
    );
    t.is(offline.state, 'offline');
  },
);
