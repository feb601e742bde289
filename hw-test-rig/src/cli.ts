import { spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildKiosk } from '../../kiosk-ui/build.ts';
import { CartSimulator } from './cart/cart-simulator.ts';
import { synthEcgRecord } from './cart/synth-ecg.ts';
import { Rig } from './rig.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const USAGE = `usage:
  telemed-rig up --state-file PATH          start everything until SIGINT/SIGTERM
  telemed-rig ecg-send --state-file PATH [FILE.scp]   the cart transmits FILE (or a synthesized ECG)`;

interface RigState {
  orthanc: { A: string; B: string };
  dicomWeb: { A: string; B: string };
  mqttUrl: string;
  kioskUrl: string;
  apiToken: string;
  firmwarePid: number | null;
  cartPty: string;
  terminalPty: string;
  configFile: string;
  logFile: string;
}

async function up(stateFile: string): Promise<void> {
  const dir = join(dirname(resolve(stateFile)), 'rig');
  mkdirSync(dir, { recursive: true });
  const kioskDir = await buildKiosk();
  const rig = await Rig.start({ dir, kioskDir });
  const configFile = rig.writeFirmwareConfig();
  const logFile = join(dir, 'firmware.log');
  const state: RigState = {
    orthanc: { A: rig.dcs.A.url, B: rig.dcs.B.url },
    dicomWeb: { A: rig.dcs.A.dicomWebUrl, B: rig.dcs.B.dicomWebUrl },
    mqttUrl: rig.broker.url,
    kioskUrl: rig.kioskUrl,
    apiToken: rig.token,
    firmwarePid: null,
    cartPty: rig.cables[0]!.cartEnd,
    terminalPty: rig.cables[0]!.terminalEnd,
    configFile,
    logFile,
  };
  const save = () => writeFileSync(stateFile, `${JSON.stringify(state, null, 2)}\n`);
  let stopping = false;
  let child: ReturnType<typeof spawn> | null = null;
  let delay = 500;
  // Supervise the firmware as systemd does on the board: restart when it exits, short back-off.
  const startFirmware = () => {
    const out = openLog(logFile);
    child = spawn(
      process.execPath,
      [join(ROOT, 'firmware/bin/telemed.js'), 'daemon', '--config', configFile],
      {
        stdio: ['ignore', out, out],
      },
    );
    state.firmwarePid = child.pid ?? null;
    save();
    const startedAt = Date.now();
    child.once('exit', () => {
      state.firmwarePid = null;
      save();
      if (stopping) return;
      delay = Date.now() - startedAt > 10_000 ? 500 : Math.min(delay * 2, 10_000);
      setTimeout(startFirmware, delay);
    });
  };
  startFirmware();
  console.log(`rig up. kiosk: ${rig.kioskUrl}\nstate: ${resolve(stateFile)}`);
  await new Promise<void>((r) => {
    process.once('SIGINT', r);
    process.once('SIGTERM', r);
  });
  stopping = true;
  const c = child as ReturnType<typeof spawn> | null;
  if (c && c.exitCode === null) {
    await new Promise((r) => {
      c.once('exit', r);
      c.kill('SIGTERM');
    });
  }
  await rig.stop();
}

function openLog(path: string): number {
  return openSync(path, 'a');
}

async function ecgSend(stateFile: string, file: string | undefined): Promise<void> {
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as RigState;
  const bytes = file ? new Uint8Array(readFileSync(file)) : synthEcgRecord({ seed: Date.now() % 100000 });
  await new CartSimulator(state.cartPty).send([{ name: file ? basename(file) : 'SIM.SCP', bytes }]);
  console.log(`sent ${bytes.length} bytes; the terminal acknowledged the transfer`);
}

const [command, ...rest] = process.argv.slice(2);
const { values, positionals } = parseArgs({
  args: rest,
  allowPositionals: true,
  options: { 'state-file': { type: 'string' } },
});
const stateFile = values['state-file'];
if (!stateFile || (command !== 'up' && command !== 'ecg-send')) {
  console.error(USAGE);
  process.exit(64);
}
(command === 'up' ? up(stateFile) : ecgSend(stateFile, positionals[0])).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`telemed-rig: ${(error as Error).message}`);
    process.exit(1);
  },
);
