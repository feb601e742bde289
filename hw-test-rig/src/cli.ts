import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { CardText } from '#device-drivers';
import { buildKiosk } from '../../kiosk-ui/build.ts';
import { CartSimulator } from './cart/cart-simulator.ts';
import { synthEcgRecord } from './cart/synth-ecg.ts';
import { wfdbToScp } from './cart/wfdb.ts';
import { type ControlCommand, describeFault, sendControl, startControlServer } from './control.ts';
import { RIG_GPIO } from './gpio/sim-gpio.ts';
import { runKillTest } from './kill-test/kill-test.ts';
import { Rig } from './rig.ts';
import type { DcFault } from './services/fault-proxy.ts';
import { RIG_ROOM } from './services/janus.ts';
import { type LinkShape, LinkShapeError, parseLinkShape } from './services/link-shape.ts';
import { LoopDisk } from './services/loop-disk.ts';
import { SoftTpm } from './services/soft-tpm.ts';
import { SrtListener } from './services/srt-listener.ts';
import { callCommand } from './specialist/call-command.ts';
import { specialistCommand } from './specialist/specialist-command.ts';
import { type RigState, readState, writeState } from './state-file.ts';
import { FirmwareSupervisor } from './supervisor.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const USAGE = `usage: telemed-rig COMMAND --state-file PATH [...]
  up [--carts N] [--disk-mb N] [--firmware FILE.js] [--watchdog-sec S] [--segment-s S] [--tpm]
     [--video-kbps N] [--camera-pattern NAME] [--document-camera]
        start the province side, the devices and the firmware until SIGINT/SIGTERM
        (--segment-s: recording segment length, default 5 s; --tpm: the terminal has a TPM 2.0
        (swtpm) and seals its data key there instead of in a root-only key file; --video-kbps:
        the terminal's video bitrate, default 1000; --camera-pattern: what the rig camera films,
        a videotestsrc pattern, default ball (snow: noise, every frame at the full bitrate);
        --document-camera: a document camera beside the room camera (colour bars, 640×480 at
        15 frames/s) that staff switch to in the kiosk)
  ecg-send [FILE.scp] [--cart cart-1] [--stat]
                                           the cart transmits FILE (or a synthesized 12-lead ECG;
                                           --stat: marked STAT, SCP-ECG stat code 1)
  ecg-send --wfdb REC.hea [--start S] [--seconds N]
                                           the cart plays a real recording (PhysioNet WFDB, format 212)
      ecg-send faults: --cut-after BYTES (pull the cable mid-file), --bit-error-rate R (flip bits
      on the line, 0..1), --noise-before BYTES (garbage before the transfer)
  record --seconds N                       record N seconds from the camera through the terminal's
                                           local API (opens a study if none is open)
  still                                    take a still from the running camera (video or recording)
  call --seconds N [--loss PCT] [--rate KBIT] [--dc-down A|B]
                                           the terminal calls through its local API, the specialist
                                           joins its room, N s later the terminal hangs up; prints
                                           what each end decoded of the other, as one JSON object
                                           (--loss, --rate: the link for the call's media and
                                           uploads; --dc-down: that data centre stops half way)
  specialist [--seconds N] [--dc A|B] [--display NAME]
                                           the province's specialist (headless Chromium, fake camera
                                           and microphone) joins the consultation room on data centre
                                           A's media server (or B's) for N s (or until Ctrl-C), then
                                           prints who was in the room and what it decoded, as JSON
  id-card --id NUMBER --name NAME --sex M|F --birth YYYY-MM-DD [--seconds S]
                                           lay a resident ID card on the simulated reader (3 s)
  qr TEXT [--pos]                          scan TEXT on the barcode/QR scanner (keyboard wedge, or
                                           HID POS with --pos); a patient label is
                                           TMP1|ID NUMBER|NAME|M or F|YYYY-MM-DD
  gpio call-button [--long] | power-fail | power-ok | tamper | tamper-closed
                                           the board's inputs: press (or hold) the call button, the
                                           UPS reports mains power lost / back, the cabinet door
  scan --pages N [--source feeder|flatbed] [--send]
                                           put N pages in the scanner's feeder and scan them through
                                           the local API; --send then sends the document (PDF → DICOM)
  scanner-fault io-error|slow|none         make the scanner fail each page, crawl, or behave
  unplug DEVICE | plug DEVICE              pull or replug a device's cable (cart-1, …, id-reader-1,
                                           hid-scanner-1, camera, document-camera, scanner)
  camera-unplug | camera-plug              pull or replug the camera (live video and a recording
                                           stop cleanly, and resume when it is back)
  encoder-fault start|stream|none          make the board's (simulated) hardware encoder refuse to
                                           start or fail mid-stream; the firmware falls back to software
  garbage [DEVICE] [--bytes N]             line noise on a cart's serial line
  dc-down A|B | dc-up A|B                  stop or restart a data centre
  dc-fault A|B http STATUS [--reason TEXT] [--retry-after S] | slow MS | reset | malformed |
           other-instance | already-stored | claims-stored | none
                                           make a data centre misbehave (through its proxy): an HTTP
                                           error, slowness, TCP cut mid-upload, a broken STOW-RS
                                           answer, one claiming another instance was stored, "already
                                           stored" after storing (a lost answer) or without storing
  link [--rate 10mbit] [--delay 20ms] [--loss 0.5%] | link off
                                           the county link to the data centres: a network namespace
                                           and veth pair (needs root), tbf for the rate, nftables for
                                           random loss, a relay for the delay (each way); 'off': direct
  broker-down | broker-up                  stop or restart the MQTT broker
  kill-firmware [--signal SIGKILL]         signal the firmware (the rig restarts it, as systemd does)
  disk-full | disk-ok                      fill the firmware's disk below its reserve (needs up --disk-mb)
  disk-fill --free-mb N                    fill the firmware's disk until N MB are left (its storage-low
                                           level on the rig is 8 MB, its reserve 2 MB)
  power-cut [--hold]                       the power fails at once: the firmware and its worker die and
                                           writes not yet on the disk are lost (needs up --disk-mb: an
                                           ext4 image on a loop device); the terminal boots again
                                           unless --hold
  kill-test --kills N [--seed S] [--max-run-ms MS] [--drain-timeout-s S] [--power-cuts FRACTION]
                                           captures from every device while the firmware is killed
                                           N times (SIGKILL: random moments, during start-up, at the
                                           store's fault points, its media worker too); checks the
                                           disk after each kill and both data centres at the end;
                                           prints a JSON summary (exit 1 when anything was lost,
                                           duplicated or damaged). Progress goes to stderr.
                                           --power-cuts: that share of the kills are power cuts
                                           (needs up --disk-mb)
  firmware-hold | firmware-release [--crash-at POINT:N] [--hold]
                                           keep the firmware down after its next exit / start it
                                           (crashing itself at a store fault point; held again)`;

class UsageError extends Error {}

const DISK_RESERVE_BYTES = 2 * 1048576;
/** On the rig's disk image: below this the firmware raises its storage-low alarm and purges early. */
const DISK_WARN_BYTES = 8 * 1048576;

async function up(
  stateFile: string,
  flags: Flags,
  devices: { tpm: boolean; documentCamera: boolean },
): Promise<void> {
  const dir = join(dirname(resolve(stateFile)), 'rig');
  mkdirSync(dir, { recursive: true });
  const kioskDir = await buildKiosk();
  const rig = await Rig.start({
    dir,
    kioskDir,
    call: true,
    carts: Number(flags.carts ?? 1),
    ...(flags['camera-pattern'] ? { cameraPattern: flags['camera-pattern'] } : {}),
    documentCamera: devices.documentCamera,
  });
  const dataDir = rig.firmwareConfig().dataDir;
  const diskMb = flags['disk-mb'] ? Number(flags['disk-mb']) : null;
  const loop = diskMb ? LoopDisk.create(dir, dataDir, diskMb) : null;
  const srt = await SrtListener.start(dir);
  const tpm = devices.tpm ? await SoftTpm.start(dir) : null;
  const configFile = rig.writeFirmwareConfig({
    ...(tpm ? { tpmTcti: tpm.tcti } : {}),
    minFreeBytes: diskMb ? DISK_RESERVE_BYTES : 0,
    warnFreeBytes: diskMb ? DISK_WARN_BYTES : 0,
    // A small disk fills in seconds: the firmware looks at it every 2 s, not every minute.
    ...(diskMb ? { storageCheckIntervalS: 2 } : {}),
    ...(flags['segment-s'] ? { segmentS: number(flags['segment-s'], '--segment-s') } : {}),
    ...(flags['video-kbps'] ? { bitrateKbps: number(flags['video-kbps'], '--video-kbps') } : {}),
    live: { uri: srt.uri, passphrase: srt.passphrase },
  });
  const logFile = join(dir, 'firmware.log');
  const entry = resolve(flags.firmware ?? join(ROOT, 'firmware/bin/telemed.js'));
  const disk = loop ? { dataDir, reserveBytes: DISK_RESERVE_BYTES, filled: false, loop } : null;
  let state: RigState | null = null;
  const save = () => {
    if (!state) return;
    state.firmwarePid = supervisor.pid;
    state.firmware = {
      state: supervisor.state,
      restarts: supervisor.restarts,
      watchdogAborts: supervisor.watchdogAborts,
      lastExit: supervisor.lastExit,
    };
    state.carts = rig.cables.map((c, i) => ({
      id: `cart-${i + 1}`,
      cartPty: c.cartEnd,
      terminalPty: c.terminalEnd,
      plugged: c.plugged,
    }));
    for (const dc of ['A', 'B'] as const) {
      state.dataCentres[dc] = { running: rig.dcs[dc].running, fault: describeFault(rig.proxies[dc].fault) };
    }
    state.broker = { running: rig.broker.running };
    state.camera = {
      plugged: rig.camera.plugged,
      socketPath: rig.camera.socketPath,
      restarts: rig.camera.restarts,
    };
    state.hwEncoder = { element: 'vpuenc_h264', fault: rig.hwEncoder.fault };
    state.gpio = {
      ledOn: rig.gpio.ledOn,
      doorOpen: rig.gpio.level(RIG_GPIO.tamper.line) === 1,
      powerFailing: rig.gpio.level(RIG_GPIO.powerFail.line) === 0,
      relaySocket: rig.gpio.socketPath,
    };
    state.hidScanner = {
      plugged: rig.hidScanner.plugged,
      mode: rig.hidScanner.currentMode,
      relaySocket: rig.hidRelay?.path ?? '',
    };
    state.scanner = {
      plugged: rig.scanner.plugged,
      fault: rig.scanner.fault,
      saneConfigDir: rig.scanner.configDir,
    };
    state.link = rig.link?.shape
      ? { ...rig.link.shape, namespace: rig.link.ns, hostInterface: rig.link.hostIf }
      : null;
    if (state.disk && disk) {
      state.disk.filled = disk.filled;
      state.disk.powerCuts = disk.loop.powerCuts;
    }
    writeState(stateFile, state);
  };
  const supervisor = new FirmwareSupervisor({
    command: process.execPath,
    args: [entry, 'daemon', '--config', configFile],
    dir,
    logFile,
    watchdogSec: Number(flags['watchdog-sec'] ?? 10),
    startTimeoutSec: 90,
    onChange: save,
    log: (line) => console.log(`rig: ${line}`),
    // The board's hardware encoder, simulated: the firmware chooses it first, as on a board.
    env: rig.hwEncoder.env,
  });
  const control = await startControlServer({
    rig,
    supervisor,
    disk,
    onChange: save,
  });
  const first = rig.cables[0]!;
  state = {
    orthanc: { A: rig.dcs.A.url, B: rig.dcs.B.url },
    dicomWeb: { A: rig.dcs.A.dicomWebUrl, B: rig.dcs.B.dicomWebUrl },
    mqttUrl: rig.broker.url,
    kioskUrl: rig.kioskUrl,
    apiToken: rig.token,
    firmwarePid: null,
    firmware: { state: 'stopped', restarts: 0, watchdogAborts: 0, lastExit: null },
    cartPty: first.cartEnd,
    terminalPty: first.terminalEnd,
    carts: [],
    dataCentres: { A: { running: true, fault: 'no fault' }, B: { running: true, fault: 'no fault' } },
    broker: { running: true },
    camera: { plugged: rig.camera.plugged, socketPath: rig.camera.socketPath, restarts: 0 },
    hwEncoder: { element: 'vpuenc_h264', fault: null },
    hidScanner: { plugged: true, mode: 'wedge', relaySocket: rig.hidRelay?.path ?? '' },
    gpio: { ledOn: false, doorOpen: false, powerFailing: false, relaySocket: rig.gpio.socketPath },
    scanner: { plugged: true, fault: null, saneConfigDir: rig.scanner.configDir },
    controlUrl: control.url,
    configFile,
    logFile,
    disk: diskMb ? { sizeMb: diskMb, filled: false, powerCuts: 0 } : null,
    srt: { uri: srt.uri, passphrase: srt.passphrase, receivedFile: srt.receivedFile },
    call: rig.janus
      ? {
          janus: {
            A: { ws: rig.janus.A.ws, http: rig.janus.A.http, running: rig.janus.A.running },
            B: { ws: rig.janus.B.ws, http: rig.janus.B.http, running: rig.janus.B.running },
          },
          room: RIG_ROOM,
        }
      : null,
  };
  await supervisor.start();
  console.log(`rig up. kiosk: ${rig.kioskUrl}\nstate: ${resolve(stateFile)}`);
  await new Promise<void>((r) => {
    process.once('SIGINT', r);
    process.once('SIGTERM', r);
  });
  await supervisor.stop();
  control.server.close();
  await srt.stop();
  await tpm?.stop();
  await rig.stop();
  loop?.stop();
}

async function ecgSend(
  stateFile: string,
  file: string | undefined,
  flags: Flags,
  stat: boolean,
): Promise<void> {
  const state = readState(stateFile);
  const cartId = flags.cart ?? 'cart-1';
  const cart = state.carts.find((c) => c.id === cartId);
  if (!cart)
    throw new UsageError(`no cart ${cartId}; the rig has: ${state.carts.map((c) => c.id).join(', ')}`);
  let bytes: Uint8Array;
  let name: string;
  if (flags.wfdb) {
    bytes = wfdbToScp(flags.wfdb, {
      startS: number(flags.start ?? '0', '--start'),
      seconds: number(flags.seconds ?? '10', '--seconds'),
    });
    name = `${basename(flags.wfdb, '.hea')}.SCP`;
  } else if (file) {
    bytes = new Uint8Array(readFileSync(file));
    name = basename(file);
  } else {
    bytes = synthEcgRecord({ seed: Date.now() % 100000, ...(stat ? { statCode: 1 } : {}) });
    name = 'SIM.SCP';
  }
  const faults = {
    ...(flags['cut-after'] !== undefined ? { cutAfterBytes: number(flags['cut-after'], '--cut-after') } : {}),
    ...(flags['bit-error-rate'] !== undefined
      ? { bitErrorRate: number(flags['bit-error-rate'], '--bit-error-rate') }
      : {}),
    ...(flags['noise-before'] !== undefined
      ? { garbageBefore: randomBytes(number(flags['noise-before'], '--noise-before')) }
      : {}),
  };
  await new CartSimulator(cart.cartPty).send([{ name, bytes }], 'ymodem', faults);
  console.log(`sent ${bytes.length} bytes; the terminal acknowledged the transfer`);
}

/** Drives the firmware through the same local API the kiosk uses. */
async function record(stateFile: string, seconds: number): Promise<void> {
  const state = readState(stateFile);
  const api = new URL(state.kioskUrl).origin;
  const headers = { authorization: `Bearer ${state.apiToken}`, 'content-type': 'application/json' };
  const status = async () =>
    (await (await fetch(`${api}/api/v1/status`, { headers })).json()) as {
      video: {
        encoderState: string;
        recording: { state: string; recordingId: number | null; segments: number; lastError: string | null };
      } | null;
    };
  const deadline = Date.now() + 60_000;
  for (;;) {
    const video = (await status()).video;
    if (!video) throw new Error('the terminal runs without video (media.enabled is false)');
    if (video.encoderState === 'ready') break;
    if (video.encoderState === 'none') throw new Error('the terminal has no working H.264 encoder');
    if (Date.now() > deadline) throw new Error('video did not become ready within 60 s');
    await new Promise((r) => setTimeout(r, 250));
  }
  const response = await fetch(`${api}/api/v1/recordings`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ seconds }),
  });
  const body = (await response.json()) as { recordingId?: number; studyUid?: string; error?: string };
  if (!response.ok) throw new Error(`the terminal refused: ${body.error ?? response.status}`);
  console.log(`recording ${body.recordingId} in study ${body.studyUid} for ${seconds} s…`);
  for (;;) {
    await new Promise((r) => setTimeout(r, 250));
    const rec = (await status()).video!.recording;
    if (rec.recordingId === body.recordingId && rec.state === 'idle') {
      if (rec.lastError) throw new Error(`recording ended with an error: ${rec.lastError}`);
      console.log(
        `recording ${body.recordingId}: ${rec.segments} segment(s) saved and queued for the data centre`,
      );
      return;
    }
  }
}

/** A still through the local API, as the kiosk's button does. */
async function still(stateFile: string): Promise<void> {
  const state = readState(stateFile);
  const response = await fetch(`${new URL(state.kioskUrl).origin}/api/v1/stills`, {
    method: 'POST',
    headers: { authorization: `Bearer ${state.apiToken}` },
  });
  const body = (await response.json()) as { instanceId?: number; error?: string };
  if (!response.ok) throw new Error(`the terminal refused: ${body.error ?? response.status}`);
  console.log(`still saved as instance ${body.instanceId} and queued for the data centre`);
}

/**
 * Pages into the scanner's feeder and a scan through the local API, as the kiosk's 扫描 button does;
 * waits for the scan to end and reports the pages (and, with --send, the document's instance).
 */
async function scan(stateFile: string, o: { pages: number; source: string; send: boolean }): Promise<void> {
  const state = readState(stateFile);
  const api = new URL(state.kioskUrl).origin;
  const headers = { authorization: `Bearer ${state.apiToken}`, 'content-type': 'application/json' };
  const started = await fetch(`${api}/api/v1/scans`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ pages: o.pages, source: o.source }),
  });
  if (!started.ok)
    throw new Error(
      `the terminal refused: ${((await started.json()) as { error?: string }).error ?? started.status}`,
    );
  type Scanner = {
    job: string;
    pages: unknown[];
    lastError: string | null;
    progress: { page: number } | null;
  };
  let scanner: Scanner;
  for (;;) {
    await new Promise((r) => setTimeout(r, 250));
    scanner = ((await (await fetch(`${api}/api/v1/status`, { headers })).json()) as { scanner: Scanner })
      .scanner;
    if (scanner.job === 'idle') break;
  }
  if (scanner.lastError) throw new Error(`scan ended with an error: ${scanner.lastError}`);
  console.log(`scanned; the document has ${scanner.pages.length} page(s)`);
  if (!o.send) return;
  const sent = await fetch(`${api}/api/v1/document/send`, { method: 'POST', headers });
  const body = (await sent.json()) as { instanceId?: number; pages?: number; bytes?: number; error?: string };
  if (!sent.ok) throw new Error(`the terminal refused to send: ${body.error ?? sent.status}`);
  console.log(
    `document of ${body.pages} page(s) (${body.bytes} bytes PDF) saved as instance ${body.instanceId} and queued for the data centre`,
  );
}

type Flags = Record<string, string | undefined>;

async function killTest(stateFile: string, flags: Flags): Promise<void> {
  const summary = await runKillTest({
    stateFile,
    kills: number(flags.kills, '--kills'),
    seed: flags.seed !== undefined ? number(flags.seed, '--seed') : Math.floor(Math.random() * 2 ** 31),
    maxRunMs: number(flags['max-run-ms'] ?? '1000', '--max-run-ms'),
    drainTimeoutMs: number(flags['drain-timeout-s'] ?? '180', '--drain-timeout-s') * 1000,
    powerCuts: number(flags['power-cuts'] ?? '0', '--power-cuts'),
    progress: (line) => console.error(`kill-test: ${line}`),
  });
  console.log(JSON.stringify(summary, null, 2));
  if (!summary.ok) process.exitCode = 1;
}

/** `call --loss PCT --rate KBIT`: the link for the call (a bare rate is kbit/s, as the issue writes it). */
function callShape(flags: { loss?: string; rate?: string }): LinkShape | null {
  if (flags.loss === undefined && flags.rate === undefined) return null;
  const rate =
    flags.rate !== undefined && /^\d+(\.\d+)?$/.test(flags.rate) ? `${flags.rate}kbit` : flags.rate;
  try {
    return parseLinkShape({
      ...(rate !== undefined ? { rate } : {}),
      ...(flags.loss !== undefined ? { loss: flags.loss } : {}),
    });
  } catch (error) {
    if (error instanceof LinkShapeError) throw new UsageError(error.message);
    throw error;
  }
}

function dcArg(value: string | undefined): 'A' | 'B' {
  if (value !== 'A' && value !== 'B')
    throw new UsageError(`name the data centre: A or B (got ${value ?? 'nothing'})`);
  return value;
}

function number(value: string | undefined, what: string): number {
  const n = Number(value);
  if (value === undefined || !Number.isFinite(n) || n < 0)
    throw new UsageError(`${what} must be a number (got ${value ?? 'nothing'})`);
  return n;
}

function dcFault(args: string[], flags: Flags): DcFault {
  switch (args[0]) {
    case 'http':
      return {
        mode: 'http-error',
        status: number(args[1], 'the HTTP status'),
        body: flags.reason ?? 'fault injected by the rig',
        ...(flags['retry-after'] !== undefined
          ? { retryAfterS: number(flags['retry-after'], '--retry-after') }
          : {}),
      };
    case 'slow':
      return { mode: 'slow', delayMs: number(args[1], 'the delay in ms') };
    case 'reset':
      return { mode: 'reset' };
    case 'malformed':
      return { mode: 'malformed' };
    case 'other-instance':
      return { mode: 'other-instance' };
    case 'already-stored':
      return { mode: 'already-stored' };
    case 'claims-stored':
      return { mode: 'claims-stored' };
    case 'none':
      return { mode: 'pass' };
    default:
      throw new UsageError(
        'dc-fault A|B http STATUS | slow MS | reset | malformed | other-instance | already-stored | claims-stored | none',
      );
  }
}

/**
 * The card `id-card` lays on the reader. The number is taken as given (a wrong one is how the
 * firmware's refusal is shown); the birth date must at least be a date, the sex M or F.
 */
function idCard(flags: Flags): CardText {
  const { id, name, sex, birth } = flags;
  if (!id || !name) throw new UsageError('id-card needs --id NUMBER and --name NAME');
  if (sex !== 'M' && sex !== 'F') throw new UsageError(`--sex must be M or F (got ${sex ?? 'nothing'})`);
  if (!birth || !/^\d{4}-\d{2}-\d{2}$/.test(birth))
    throw new UsageError(`--birth must be YYYY-MM-DD (got ${birth ?? 'nothing'})`);
  if (id.length > 18 || name.length > 15)
    throw new UsageError('a card holds 18 characters of ID and 15 of name');
  return {
    name,
    sexCode: sex === 'M' ? '1' : '2',
    ethnicityCode: '01',
    birthDate: birth.replace(/-/g, ''),
    address: '河南省郑州市测试路1号',
    idNumber: id,
    issuingOffice: '郑州市公安局',
    validFrom: '20200101',
    validTo: '20400101',
  };
}

/** Turns a fault command line into the command the `up` process carries out. */
function controlCommand(
  command: string,
  args: string[],
  flags: Flags,
  pos?: boolean,
  long?: boolean,
  hold?: boolean,
): ControlCommand {
  switch (command) {
    case 'unplug':
    case 'plug':
      if (!args[0]) throw new UsageError(`${command} needs a DEVICE (cart-1, …)`);
      return { command, device: args[0] };
    case 'garbage':
      return { command, device: args[0] ?? 'cart-1', bytes: number(flags.bytes ?? '256', '--bytes') };
    case 'dc-down':
    case 'dc-up':
      return { command, dc: dcArg(args[0]) };
    case 'dc-fault':
      return { command, dc: dcArg(args[0]), fault: dcFault(args.slice(1), flags) };
    case 'link':
      if (args[0] === 'off') return { command, shape: null };
      if (args[0] !== undefined) throw new UsageError('link [--rate R] [--delay D] [--loss L%] | link off');
      try {
        return { command, shape: parseLinkShape(flags) };
      } catch (error) {
        if (error instanceof LinkShapeError) throw new UsageError(error.message);
        throw error;
      }
    case 'broker-down':
    case 'broker-up':
    case 'camera-unplug':
    case 'camera-plug':
    case 'disk-full':
    case 'disk-ok':
      return { command };
    case 'disk-fill':
      return { command, freeMb: number(flags['free-mb'] ?? '', '--free-mb') };
    case 'kill-firmware':
      return { command, signal: (flags.signal ?? 'SIGKILL') as NodeJS.Signals };
    case 'firmware-hold':
      return { command };
    case 'power-cut':
      return { command, hold: hold === true };
    case 'firmware-release':
      return { command, crashAt: flags['crash-at'] ?? null, hold: hold === true };
    case 'id-card':
      return { command, card: idCard(flags), seconds: number(flags.seconds ?? '3', '--seconds') };
    case 'gpio': {
      const input = args[0];
      if (
        input !== 'call-button' &&
        input !== 'power-fail' &&
        input !== 'power-ok' &&
        input !== 'tamper' &&
        input !== 'tamper-closed'
      )
        throw new UsageError('gpio call-button [--long] | power-fail | power-ok | tamper | tamper-closed');
      return { command, input, long: long === true };
    }
    case 'qr':
      if (!args[0]) throw new UsageError('qr needs the TEXT to scan');
      return { command, text: args[0], pos: pos === true };
    case 'scanner-fault': {
      const fault = args[0];
      if (fault !== 'io-error' && fault !== 'slow' && fault !== 'none')
        throw new UsageError('scanner-fault io-error|slow|none');
      return { command, fault: fault === 'none' ? null : fault };
    }
    case 'encoder-fault': {
      const fault = args[0];
      if (fault !== 'start' && fault !== 'stream' && fault !== 'none')
        throw new UsageError('encoder-fault start|stream|none');
      return { command, fault: fault === 'none' ? null : fault };
    }
    default:
      throw new UsageError(`unknown command ${command}`);
  }
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(rest);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { send, pos, long, hold, tpm, stat, 'document-camera': documentCamera, ...values } = parsed.values;
  const { positionals } = parsed;
  const stateFile = values['state-file'];
  if (!command || !stateFile) throw new UsageError('');
  if (command === 'up')
    return up(stateFile, values, { tpm: tpm === true, documentCamera: documentCamera === true });
  if (command === 'ecg-send') return ecgSend(stateFile, positionals[0], values, stat === true);
  if (command === 'record') return record(stateFile, number(values.seconds, '--seconds'));
  if (command === 'still') return still(stateFile);
  if (command === 'kill-test') return killTest(stateFile, values);
  if (command === 'call')
    return console.log(
      JSON.stringify(
        await callCommand(readState(stateFile), {
          seconds: number(values.seconds, '--seconds'),
          shape: callShape(values),
          dcDown: values['dc-down'] === undefined ? null : dcArg(values['dc-down']),
        }),
      ),
    );
  if (command === 'specialist')
    return specialistCommand(readState(stateFile), {
      seconds: values.seconds === undefined ? null : number(values.seconds, '--seconds'),
      dc: dcArg(values.dc ?? 'A'),
      display: values.display ?? 'specialist',
    });
  if (command === 'scan')
    return scan(stateFile, {
      pages: number(values.pages, '--pages'),
      source: values.source ?? 'feeder',
      send: send === true,
    });
  const control = controlCommand(command, positionals, values, pos, long, hold);
  console.log(await sendControl(readState(stateFile).controlUrl, control));
}

function parseOptions(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    options: {
      'state-file': { type: 'string' },
      carts: { type: 'string' },
      'disk-mb': { type: 'string' },
      'free-mb': { type: 'string' },
      firmware: { type: 'string' },
      'watchdog-sec': { type: 'string' },
      cart: { type: 'string' },
      bytes: { type: 'string' },
      reason: { type: 'string' },
      'retry-after': { type: 'string' },
      signal: { type: 'string' },
      wfdb: { type: 'string' },
      start: { type: 'string' },
      seconds: { type: 'string' },
      'cut-after': { type: 'string' },
      'bit-error-rate': { type: 'string' },
      'noise-before': { type: 'string' },
      id: { type: 'string' },
      name: { type: 'string' },
      sex: { type: 'string' },
      birth: { type: 'string' },
      pages: { type: 'string' },
      source: { type: 'string' },
      send: { type: 'boolean' },
      pos: { type: 'boolean' },
      kills: { type: 'string' },
      seed: { type: 'string' },
      'max-run-ms': { type: 'string' },
      'drain-timeout-s': { type: 'string' },
      'segment-s': { type: 'string' },
      'video-kbps': { type: 'string' },
      'camera-pattern': { type: 'string' },
      'document-camera': { type: 'boolean' },
      dc: { type: 'string' },
      display: { type: 'string' },
      'crash-at': { type: 'string' },
      'power-cuts': { type: 'string' },
      hold: { type: 'boolean' },
      long: { type: 'boolean' },
      tpm: { type: 'boolean' },
      stat: { type: 'boolean' },
      rate: { type: 'string' },
      delay: { type: 'string' },
      loss: { type: 'string' },
      'dc-down': { type: 'string' },
    },
  });
}

main(process.argv.slice(2)).then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    if (error instanceof UsageError) {
      if (error.message) console.error(`telemed-rig: ${error.message}`);
      console.error(USAGE);
      process.exit(64);
    }
    console.error(`telemed-rig: ${(error as Error).message}`);
    process.exit(1);
  },
);
