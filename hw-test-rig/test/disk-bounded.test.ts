import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { testWhen } from '../../device-drivers/test/helpers/test-when.ts';
import type { StatusResponse } from '../../firmware/src/api/types.ts';
import { type RigState, readState } from '../src/state-file.ts';
import { until } from './helpers/harness.ts';
import { RIG_BIN, rigUp } from './helpers/rig-up.ts';

const rootTest = testWhen(process.getuid?.() === 0, 'the disk image needs a loop device (root)', true);

function rig(stateFile: string, ...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [RIG_BIN, args[0]!, '--state-file', stateFile, ...args.slice(1)],
      { timeout: 60_000 },
      (error, stdout, stderr) =>
        done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    );
  });
}

async function status(state: RigState): Promise<StatusResponse> {
  const res = await fetch(`${new URL(state.kioskUrl).origin}/api/v1/status`, {
    headers: { authorization: `Bearer ${state.apiToken}` },
  });
  return (await res.json()) as StatusResponse;
}

async function delivered(state: RigState): Promise<number> {
  let n = 0;
  for (const base of [state.orthanc.A, state.orthanc.B])
    n += ((await (await fetch(`${base}/instances`)).json()) as string[]).length;
  return n;
}

rootTest(
  'a small disk image filled up: the alarm comes first, delivered copies go oldest first, undelivered ones stay; full refuses captures; emptied, everything arrives',
  async (t) => {
    t.timeout(4 * 60_000);
    const { stateFile, state: s0 } = await rigUp(t, 'disk-bounded', ['--disk-mb', '48']);
    const dataDir = (JSON.parse(readFileSync(s0.configFile, 'utf8')) as { dataDir: string }).dataDir;
    const originals = () => readdirSync(join(dataDir, 'originals')).length;
    // The NOC's view: the terminal's alarms on its event topic.
    const noc = mqtt.connect(s0.mqttUrl, { protocolVersion: 5 });
    t.teardown(() => noc.end(true));
    const alarms: Array<{ code: string; severity: string }> = [];
    noc.on('message', (topic, payload) => {
      if (topic.endsWith('/event')) alarms.push(JSON.parse(payload.toString()) as (typeof alarms)[number]);
    });
    await new Promise<void>((resolve) =>
      noc.on('connect', () => noc.subscribe('telemed/v1/#', { qos: 1 }, () => resolve())),
    );
    await until('cart connected', async () => (await status(s0)).carts[0]?.state === 'connected', 30_000);

    // Three ECGs reach the province; then both data centres go away and two more wait here.
    for (let i = 0; i < 3; i++) t.is((await rig(stateFile, 'ecg-send')).code, 0);
    await until('three delivered', async () => (await delivered(s0)) === 3, 30_000);
    for (const dc of ['A', 'B']) t.is((await rig(stateFile, 'dc-down', dc)).code, 0);
    for (let i = 0; i < 2; i++) t.is((await rig(stateFile, 'ecg-send')).code, 0);
    t.is(originals(), 5);

    // Below the warning level (8 MB on the rig): alarm, and the delivered copies are removed.
    t.regex((await rig(stateFile, 'disk-fill', '--free-mb', '5')).out, /KiB left/);
    await until('the storage-low alarm at the NOC', () => alarms.some((a) => a.code === 'disk-low'), 20_000);
    t.is(alarms.find((a) => a.code === 'disk-low')?.severity, 'alarm');
    await until('delivered copies removed', () => originals() === 2, 20_000);
    const low = await status(s0);
    t.true(
      low.notices.some((n) => n.code === 'disk-low'),
      'the kiosk is told',
    );
    // (An undelivered one may be 'delivering': an attempt at a data centre that is down.)
    const states = low.studiesToday.map((s) => (s.state === 'delivering' ? 'queued' : s.state)).sort();
    t.deepEqual(states, ['purgeable', 'purgeable', 'purgeable', 'queued', 'queued']);
    t.true(
      low.studiesToday.filter((s) => s.state === 'purgeable').every((s) => s.display === 'delivered'),
      'shown as delivered',
    );

    // Below the reserve: a new record is refused, the cart is told, nothing already saved is touched.
    t.regex((await rig(stateFile, 'disk-full')).out, /below its reserve/);
    const refused = await rig(stateFile, 'ecg-send');
    t.not(refused.code, 0, refused.out);
    await until('the storage-full alarm', () => alarms.some((a) => a.code === 'disk-full'), 20_000);
    t.is(originals(), 2);

    // Room again, the data centres back: the backlog and a new record arrive; nothing was lost.
    t.regex((await rig(stateFile, 'disk-ok')).out, /filler removed/);
    await until('storage ok at the NOC', () => alarms.some((a) => a.code === 'disk-ok'), 20_000);
    for (const dc of ['A', 'B']) t.is((await rig(stateFile, 'dc-up', dc)).code, 0);
    t.is((await rig(stateFile, 'ecg-send')).code, 0);
    await until('all six delivered', async () => (await delivered(s0)) === 6, 90_000);
    const health = readState(stateFile);
    t.is(health.disk?.filled, false);
  },
);
