import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { LinkShape } from './services/link-shape.ts';
import type { FirmwareState } from './supervisor.ts';

/** The JSON file `telemed-rig up` keeps current: every endpoint a person, test or script needs. */
export interface RigState {
  orthanc: { A: string; B: string };
  dicomWeb: { A: string; B: string };
  mqttUrl: string;
  kioskUrl: string;
  apiToken: string;
  /** The running firmware's pid, or null while it is being restarted. */
  firmwarePid: number | null;
  firmware: { state: FirmwareState; restarts: number; watchdogAborts: number; lastExit: string | null };
  /** The first cart's ends (kept for scripts written against the first rig). */
  cartPty: string;
  terminalPty: string;
  carts: Array<{ id: string; cartPty: string; terminalPty: string; plugged: boolean }>;
  dataCentres: Record<'A' | 'B', { running: boolean; fault: string }>;
  broker: { running: boolean };
  /** The rig camera: plugged or not, and the socket its frames come from (its "device node"). */
  /** `restarts`: times the rig camera stalled and was started again (rig-camera.ts). */
  camera: { plugged: boolean; socketPath: string; restarts: number };
  /** The document scanner (SANE's test backend): plugged or not, its fault, its SANE config. */
  scanner: { plugged: boolean; fault: 'io-error' | 'slow' | null; saneConfigDir: string };
  /** The board's GPIO as the rig drives it: the status LED now, the door, the UPS input; the relay socket. */
  gpio: { ledOn: boolean; doorOpen: boolean; powerFailing: boolean; relaySocket: string };
  /** The barcode/QR scanner (simulated HID behind the relay socket): plugged or not, its mode. */
  hidScanner: { plugged: boolean; mode: 'wedge' | 'pos'; relaySocket: string };
  /** The board's hardware encoder as the rig simulates it, and the fault it is set to. */
  hwEncoder: { element: string; fault: 'start' | 'stream' | null };
  /** `telemed-rig` fault commands are sent here (loopback HTTP, served by the `up` process). */
  controlUrl: string;
  configFile: string;
  logFile: string;
  /**
   * Set when the firmware's data directory is the rig's small ext4 image on a loop device
   * (`--disk-mb`): it can be filled, and lose power (`powerCuts` so far).
   */
  disk: { sizeMb: number; filled: boolean; powerCuts: number } | null;
  /** The link to the data centres as `link` shaped it, with its namespace and veth (null: direct). */
  link?: (LinkShape & { namespace: string; hostInterface: string }) | null;
  /**
   * The data centres' WebRTC media servers (Janus: VideoRoom over WebSocket, and its HTTP API) and
   * the consultation room; null when the rig was started without them.
   */
  call?: {
    janus: Record<'A' | 'B', { ws: string; http: string; running: boolean }>;
    room: number;
  } | null;
  /** The SRT listener the rig provides as the province media server; live video lands in receivedFile. */
  srt: { uri: string; passphrase: string; receivedFile: string };
}

export function readState(path: string): RigState {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new Error(`no rig state at ${path}: is \`telemed-rig up --state-file ${path}\` running?`);
  }
  return JSON.parse(text) as RigState;
}

/** Replaced atomically, so a reader never sees half a file. */
export function writeState(path: string, state: RigState): void {
  writeFileSync(`${path}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
}
