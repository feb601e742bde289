import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import test from 'ava';
import pino from 'pino';
import { encodeScp } from '../../device-drivers/src/scp-ecg/encode.ts';
import { smallRecord } from '../../device-drivers/test/helpers/scp-fixtures.ts';
import { until } from '../../device-drivers/test/helpers/until.ts';
import { StatusResponse } from '../src/api/types.ts';
import { parseConfig } from '../src/config/schema.ts';
import { Daemon } from '../src/daemon.ts';
import { HealthPayload } from '../src/telemetry/payloads.ts';
import type { StowFn } from '../src/uplink/uplink.ts';

const log = pino({ level: process.env['TELEMED_TEST_LOG'] ?? 'silent' });
const TOKEN = 'k'.repeat(32);

/**
 * The daemon in-process, with no rig: no devices, no video, the data centres and the broker
 * unreachable, and a STOW client of the test's that stores everything it is given.
 */
function daemon() {
  const dataDir = mkdtempSync(join(tmpdir(), 'daemon-'));
  const config = parseConfig({
    device: { id: 'T-0001', province: 'henan', county: 'lankao', uidRoot: '1.2.826.0.1.3680043.10.1391.7' },
    dataDir,
    carts: [],
    dataCentres: {
      home: 'A',
      A: { name: 'DC-A', dicomWebUrl: 'http://127.0.0.1:9/dicom-web' },
      B: { name: 'DC-B', dicomWebUrl: 'http://127.0.0.1:9/dicom-web' },
    },
    mqtt: { brokers: ['mqtt://127.0.0.1:9'] },
    api: { token: TOKEN, port: 0 },
    media: { enabled: false },
    scanner: { enabled: false },
    usbEvents: 'none',
  });
  const stored: string[] = [];
  const stow: StowFn = async (_target, _dicom, sopUid) => {
    stored.push(sopUid);
    return { kind: 'stored', httpStatus: 200, alreadyStored: false };
  };
  return { daemon: new Daemon(config, { log, stow, dataKeys: null }), stored };
}

test('started in dependency order and stopped in reverse; every listener gone after stop', async (t) => {
  const { daemon: d } = daemon();
  t.deepEqual(d.services.names, [
    'event-loop',
    'cpu',
    'notices',
    'telemetry',
    'store',
    'api',
    'disk',
    'ecg-ingest',
    'uplink',
    'carts',
    'patient-desk',
    'documents',
    'power',
    'panel',
    'devices',
    'health',
  ]);
  await d.start();
  t.true(d.bus.owners().includes('uplink'));
  await d.stop();
  t.deepEqual(d.bus.owners(), [], 'each service removed its own listeners');
});

test('status and health are built from the parts; health matches its published schema and names no patient', async (t) => {
  const { daemon: d, stored } = daemon();
  await d.start();
  t.teardown(() => d.stop());
  const api = `http://127.0.0.1:${d.api.port}`;
  const identified = await fetch(`${api}/api/v1/patient`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ idNumber: '11010519491231002X', name: '王芳' }),
  });
  t.is(identified.status, 200, await identified.clone().text());
  await d.ingest.receive({
    cartId: 'cart-1',
    fileName: 'A.SCP',
    protocol: 'ymodem',
    bytes: encodeScp(smallRecord({ patient: { id: '11010519491231002X' } })),
    incomplete: null,
  });
  await until('the ECG delivered', () => stored.length === 1);
  const status = (await (
    await fetch(`${api}/api/v1/status`, { headers: { authorization: `Bearer ${TOKEN}` } })
  ).json()) as StatusResponse;
  t.is(status.device.id, 'T-0001');
  t.true(
    Value.Check(StatusResponse, status),
    [...Value.Errors(StatusResponse, status)].map((e) => e.path).join(),
  );
  t.is(d.api.snapshot().invalidResponses, 0, 'every answer kept to its schema');
  const item = await until('the kiosk shows it delivered', () =>
    d.status().studiesToday.find((i) => i.display === 'delivered'),
  );
  t.is(item.kind, 'ecg');
  t.is(item.patientName, '王芳', 'the kiosk shows staff the patient');
  const health = d.health();
  t.true(
    Value.Check(HealthPayload, health),
    [...Value.Errors(HealthPayload, health)].map((e) => e.path).join(),
  );
  t.is(health.ingest.encoded, 1);
  t.is(health.instances.delivered, 1);
  t.is(health.eventLoop.budgetP99Ms, 50);
  const text = JSON.stringify(health);
  t.false(text.includes('王芳') || text.includes('11010519491231002X'), 'no patient data in health');
});
