import { Value } from '@sinclair/typebox/value';
import test from 'ava';
import mqtt from 'mqtt';
import { HealthPayload } from '../../firmware/src/telemetry/payloads.ts';
import { localApi, until, world } from './helpers/harness.ts';

const card = {
  name: '赵秘密',
  sexCode: '1',
  ethnicityCode: '01',
  birthDate: '19700102',
  address: '河南省郑州市秘密路9号',
  idNumber: '410105197001020018',
  issuingOffice: '郑州市公安局',
  validFrom: '20200101',
  validTo: '长期',
};

test.serial(
  'an ID card identifies the patient on the kiosk; the NOC hears that it happened and the reader’s health, never who',
  async (t) => {
    const w = await world({ media: false });
    const client = mqtt.connect(w.rig.broker.url, { protocolVersion: 5 });
    t.teardown(async () => {
      client.end(true);
      await w.stop();
    });
    const messages: Array<{ topic: string; payload: string }> = [];
    client.on('message', (topic, payload) => messages.push({ topic, payload: payload.toString() }));
    await new Promise<void>((resolve) =>
      client.on('connect', () => client.subscribe('telemed/v1/#', () => resolve())),
    );
    const base = 'telemed/v1/henan/rig-county/T-RIG-0001';
    const { status } = localApi(w);
    await until('reader connected', async () => (await status()).idReaders[0]?.state === 'connected', 20_000);

    w.rig.idReader.present(card, 2000);
    await until('patient identified', async () => (await status()).patient !== null, 10_000);
    t.like((await status()).patient, {
      name: '赵秘密',
      idNumberMasked: '4101**********0018',
      sex: 'M',
      birthDate: '1970-01-02',
      verification: 'unverified',
    });
    t.false(JSON.stringify(await status()).includes('秘密路'), 'the address is never kept');
    t.false(
      JSON.stringify(await status()).includes('410105197001020018'),
      'the kiosk gets the masked number',
    );

    const event = await until('the NOC event', () =>
      messages
        .filter((m) => m.topic === `${base}/event`)
        .find((m) => m.payload.includes('patient-identified')),
    );
    t.truthy(event);
    const health = await until('a health message with the reader', () =>
      messages
        .filter((m) => m.topic === `${base}/health`)
        .map((m) => JSON.parse(m.payload))
        .find((h) => h.devices.idReaders?.[0]?.counters.cardsRead === 1),
    );
    t.true(Value.Check(HealthPayload, health), 'health matches its published schema');
    t.is(health.devices.idReaders[0].state, 'connected');
    for (const m of messages) {
      t.false(/赵秘密|秘密路|410105197001020018/.test(m.payload), `no patient data on ${m.topic}`);
    }
  },
);
