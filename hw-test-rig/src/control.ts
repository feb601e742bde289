import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type CardText, NodeSerialOpener } from '#device-drivers';
import type { Rig } from './rig.ts';
import type { ScannerFault } from './scanner/rig-scanner.ts';
import type { DcFault } from './services/fault-proxy.ts';
import { describeLink, type LinkShape } from './services/link-shape.ts';
import type { LoopDisk } from './services/loop-disk.ts';
import { childPids } from './services/proc.ts';
import type { HwEncoderFault } from './services/rig-hw-encoder.ts';
import type { FirmwareSupervisor } from './supervisor.ts';

export class ControlError extends Error {}

export interface ControlContext {
  rig: Rig;
  supervisor: FirmwareSupervisor;
  /** The firmware's data directory when it sits on the rig's small file system, else null. */
  disk: { dataDir: string; reserveBytes: number; filled: boolean; loop: LoopDisk } | null;
  onChange(): void;
}

/** Parsed fault commands: what the CLI sends and the `up` process carries out. */
export type ControlCommand =
  | { command: 'unplug' | 'plug'; device: string }
  | { command: 'camera-unplug' | 'camera-plug' }
  | { command: 'encoder-fault'; fault: HwEncoderFault | null }
  | { command: 'garbage'; device: string; bytes: number }
  | { command: 'dc-down' | 'dc-up'; dc: 'A' | 'B' }
  | { command: 'dc-fault'; dc: 'A' | 'B'; fault: DcFault }
  /** Shape the link to the data centres (rate, delay each way, loss each way), or unshape it (null). */
  | { command: 'link'; shape: LinkShape | null }
  | { command: 'broker-down' | 'broker-up' }
  /** The call room's recorded levels since `fromMs` (call-measure/room.ts), as JSON in the message. */
  | { command: 'room-report'; fromMs: number }
  | { command: 'kill-firmware'; signal: NodeJS.Signals }
  /** Keep the firmware down after its next exit (the kill test inspects the disk), then start it. */
  | { command: 'firmware-hold' }
  /** `crashAt`: the started firmware kills itself at that store fault point (TELEMED_CRASH_AT). */
  | { command: 'firmware-release'; crashAt: string | null; hold: boolean }
  | { command: 'disk-full' | 'disk-ok' }
  /** Leaves `freeMb` MB free on the firmware's disk (between its reserve and its warning level, say). */
  | { command: 'disk-fill'; freeMb: number }
  /** Mains and battery gone at once: the firmware and its worker die, unsynced writes are lost. */
  | { command: 'power-cut'; hold: boolean }
  /** Lay a resident ID card on the simulated reader (for `seconds`, then it is lifted). */
  | { command: 'id-card'; card: CardText; seconds: number }
  /** Make the document scanner fail every page read, crawl (one byte per read), or behave. */
  | { command: 'scanner-fault'; fault: ScannerFault }
  /** A scan through the barcode/QR scanner, typed in keyboard-wedge mode or sent as HID POS. */
  | { command: 'qr'; text: string; pos: boolean }
  /** The board's inputs: the call button (pressed, or held for a long press), the door, the UPS. */
  | {
      command: 'gpio';
      input: 'call-button' | 'power-fail' | 'power-ok' | 'tamper' | 'tamper-closed';
      long: boolean;
    };

/** The ID card reader's cable: pulled and replugged like a cart's; its reader restarts with it. */
async function idReaderCable(ctx: ControlContext, plug: boolean): Promise<string> {
  const { idReaderCable: cable, idReader } = ctx.rig;
  if (plug) {
    if (cable.plugged) throw new ControlError('id-reader-1 is already plugged in');
    await cable.plug();
    await idReader.start();
    return 'id-reader-1 plugged in';
  }
  if (!cable.plugged) throw new ControlError('id-reader-1 is already unplugged');
  await idReader.stop();
  await cable.unplug();
  return 'id-reader-1 unplugged';
}

function documentCamera(ctx: ControlContext) {
  if (!ctx.rig.documentCamera)
    throw new ControlError('this rig has no document camera (start it with up --document-camera)');
  return ctx.rig.documentCamera;
}

function cable(ctx: ControlContext, device: string) {
  const index = ctx.rig.cables.findIndex((_, i) => `cart-${i + 1}` === device);
  const found = ctx.rig.cables[index];
  if (!found) {
    const known = ctx.rig.cables.map((_, i) => `cart-${i + 1}`).join(', ');
    throw new ControlError(
      `no device ${device}; the rig has: ${known}, id-reader-1, hid-scanner-1, camera, document-camera, scanner`,
    );
  }
  return found;
}

const FILLER = 'rig-disk-filler.bin';

/**
 * A scan on hid-scanner-1. Switching between keyboard and POS mode re-enumerates the scanner (as
 * scanning its setup code does); the scan waits until the firmware has it open again.
 */
async function qrScan(ctx: ControlContext, text: string, pos: boolean): Promise<string> {
  const scanner = ctx.rig.hidScanner;
  if (!scanner.plugged) throw new ControlError('hid-scanner-1 is unplugged; plug it in first');
  const mode = pos ? 'pos' : 'wedge';
  if (scanner.currentMode !== mode) scanner.setMode(mode);
  const deadline = Date.now() + 15_000;
  while (!scanner.scan(text)) {
    if (Date.now() > deadline) throw new ControlError('the terminal did not open hid-scanner-1 within 15 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  return `scanned ${JSON.stringify(text)} on hid-scanner-1 (${pos ? 'HID POS' : 'keyboard wedge'})`;
}

/** Carries out one command; returns a line for the person who typed it. */
export async function execute(ctx: ControlContext, c: ControlCommand): Promise<string> {
  switch (c.command) {
    case 'id-card':
      if (!ctx.rig.idReaderCable.plugged)
        throw new ControlError('id-reader-1 is unplugged; plug it in first');
      ctx.rig.idReader.present(c.card, c.seconds * 1000);
      return `ID card of ${c.card.name} laid on id-reader-1 for ${c.seconds} s`;
    case 'qr':
      return qrScan(ctx, c.text, c.pos);
    case 'gpio':
      switch (c.input) {
        case 'call-button':
          await ctx.rig.gpio.press(c.long ? 2500 : 150);
          return c.long ? 'call button held 2.5 s (a long press)' : 'call button pressed';
        case 'power-fail':
          ctx.rig.gpio.setPowerFailing(true);
          return 'UPS: mains power failed (running on battery)';
        case 'power-ok':
          ctx.rig.gpio.setPowerFailing(false);
          return 'UPS: mains power back';
        case 'tamper':
          ctx.rig.gpio.setDoorOpen(true);
          return 'cabinet door opened';
        case 'tamper-closed':
          ctx.rig.gpio.setDoorOpen(false);
          return 'cabinet door closed';
      }
      break;
    case 'scanner-fault':
      ctx.rig.scanner.setFault(c.fault);
      return c.fault === null
        ? 'scanner healthy again'
        : c.fault === 'io-error'
          ? 'scanner will fail every page with an I/O error'
          : 'scanner will crawl (a page takes seconds)';
    case 'unplug':
      if (c.device === 'camera') return execute(ctx, { command: 'camera-unplug' });
      if (c.device === 'document-camera') {
        const camera = documentCamera(ctx);
        if (!camera.plugged) throw new ControlError('the document camera is already unplugged');
        await camera.unplug();
        return 'document camera unplugged';
      }
      if (c.device === 'hid-scanner-1') {
        if (!ctx.rig.hidScanner.plugged) throw new ControlError('hid-scanner-1 is already unplugged');
        ctx.rig.hidScanner.unplug();
        return 'hid-scanner-1 unplugged';
      }
      if (c.device === 'scanner') {
        if (!ctx.rig.scanner.plugged) throw new ControlError('the scanner is already unplugged');
        ctx.rig.scanner.unplug();
        return 'scanner unplugged';
      }
      if (c.device === 'id-reader-1') return idReaderCable(ctx, false);
      await cable(ctx, c.device).unplug();
      return `${c.device} unplugged`;
    case 'plug':
      if (c.device === 'camera') return execute(ctx, { command: 'camera-plug' });
      if (c.device === 'document-camera') {
        const camera = documentCamera(ctx);
        if (camera.plugged) throw new ControlError('the document camera is already plugged in');
        await camera.plug();
        return 'document camera plugged in';
      }
      if (c.device === 'hid-scanner-1') {
        if (ctx.rig.hidScanner.plugged) throw new ControlError('hid-scanner-1 is already plugged in');
        ctx.rig.hidScanner.plug();
        return 'hid-scanner-1 plugged in';
      }
      if (c.device === 'scanner') {
        if (ctx.rig.scanner.plugged) throw new ControlError('the scanner is already plugged in');
        ctx.rig.scanner.plug();
        return 'scanner plugged in';
      }
      if (c.device === 'id-reader-1') return idReaderCable(ctx, true);
      await cable(ctx, c.device).plug();
      return `${c.device} plugged in`;
    case 'camera-unplug':
      if (!ctx.rig.camera.plugged) throw new ControlError('the camera is already unplugged');
      await ctx.rig.camera.unplug();
      return 'camera unplugged';
    case 'encoder-fault':
      ctx.rig.hwEncoder.setFault(c.fault);
      return c.fault === null
        ? 'hardware encoder healthy again (the firmware tries it after its next restart)'
        : c.fault === 'start'
          ? 'hardware encoder will refuse to start'
          : 'hardware encoder will fail mid-stream';
    case 'camera-plug':
      if (ctx.rig.camera.plugged) throw new ControlError('the camera is already plugged in');
      await ctx.rig.camera.plug();
      return 'camera plugged in';
    case 'garbage': {
      const end = cable(ctx, c.device);
      if (!end.plugged) throw new ControlError(`${c.device} is unplugged; plug it in first`);
      const link = await new NodeSerialOpener().open(end.cartEnd, { baudRate: 115200 });
      try {
        await link.write(randomBytes(c.bytes));
      } finally {
        await link.close();
      }
      return `${c.bytes} random bytes sent down ${c.device}'s line`;
    }
    // A data centre down is all of it: its PACS and, on a rig with calls, its media server.
    case 'dc-down': {
      const janus = ctx.rig.janus?.[c.dc];
      await Promise.all([ctx.rig.dcs[c.dc].stop(), janus?.stop()]);
      return `data centre ${c.dc} stopped${janus ? ' (and its media server)' : ''}`;
    }
    case 'dc-up': {
      const janus = ctx.rig.janus?.[c.dc];
      await Promise.all([ctx.rig.dcs[c.dc].start(), janus && !janus.running ? janus.start() : undefined]);
      return `data centre ${c.dc} running`;
    }
    case 'dc-fault':
      ctx.rig.proxies[c.dc].fault = c.fault;
      return `data centre ${c.dc}: ${describeFault(c.fault)}`;
    case 'link':
      await ctx.rig.shapeLink(c.shape);
      ctx.onChange();
      return `link to the data centres: ${describeLink(c.shape)}`;
    case 'room-report':
      if (!ctx.rig.room) throw new ControlError('this rig has no call room (start it with `telemed-rig up`)');
      return JSON.stringify(ctx.rig.room.report(c.fromMs));
    case 'broker-down':
      await ctx.rig.broker.stop();
      return 'MQTT broker stopped';
    case 'broker-up':
      await ctx.rig.broker.start();
      return 'MQTT broker running';
    case 'kill-firmware': {
      const pid = ctx.supervisor.pid;
      if (!ctx.supervisor.kill(c.signal)) throw new ControlError('the firmware is not running right now');
      return `${c.signal} sent to the firmware (pid ${pid}); the supervisor restarts it`;
    }
    case 'firmware-hold':
      ctx.supervisor.hold();
      return 'the firmware is not restarted after its next exit until released';
    case 'firmware-release':
      if (ctx.supervisor.pid)
        throw new ControlError('the firmware is running; it can only be released once it exited');
      ctx.supervisor.release(c.crashAt ? { TELEMED_CRASH_AT: c.crashAt } : {}, c.hold);
      return `firmware started${c.crashAt ? ` (it crashes at ${c.crashAt})` : ''}${c.hold ? '; held again after its next exit' : ''}`;
    case 'disk-full': {
      if (!ctx.disk)
        throw new ControlError('the rig was started without --disk-mb N: restart it with --disk-mb 64');
      const left = fillDisk(ctx.disk, () => Math.floor(ctx.disk!.reserveBytes / 2));
      return `filled the firmware's disk: ${Math.round(left / 1024)} KiB left, below its reserve`;
    }
    case 'power-cut': {
      if (!ctx.disk)
        throw new ControlError(
          'power cuts need the firmware on the rig’s disk image: restart it with --disk-mb 64',
        );
      const ms = await powerCut(ctx, ctx.disk.loop);
      if (!c.hold) ctx.supervisor.release();
      return `power cut: the firmware and its media worker died, writes not yet on the disk were lost (cut and remount ${Math.round(ms)} ms)${c.hold ? '; the firmware stays down until firmware-release' : '; the terminal boots again'}`;
    }
    case 'disk-fill': {
      if (!ctx.disk)
        throw new ControlError('the rig was started without --disk-mb N: restart it with --disk-mb 64');
      const left = fillDisk(ctx.disk, (free) => {
        const leave = Math.round(c.freeMb * 1048576);
        if (free <= leave)
          throw new ControlError(`only ${Math.round(free / 1048576)} MB are free: nothing to fill`);
        return leave;
      });
      return `filled the firmware's disk: ${Math.round(left / 1024)} KiB left`;
    }
    case 'disk-ok':
      if (!ctx.disk) throw new ControlError('the rig was started without --disk-mb N');
      rmSync(join(ctx.disk.dataDir, FILLER), { force: true });
      ctx.disk.filled = false;
      return 'disk filler removed';
  }
}

/**
 * Fills the firmware's disk with one filler file until `leave(free)` bytes are left; returns
 * them. A filler already there is replaced, not added to: its space counts as free.
 */
function fillDisk(disk: NonNullable<ControlContext['disk']>, leave: (free: number) => number): number {
  rmSync(join(disk.dataDir, FILLER), { force: true });
  const fs = statfsSync(disk.dataDir);
  const free = fs.bavail * fs.bsize;
  const left = Math.min(free, leave(free));
  writeFileSync(join(disk.dataDir, FILLER), Buffer.alloc(free - left));
  disk.filled = true;
  return left;
}

/** Everything the firmware runs dies at once; then the disk keeps only what reached it. */
async function powerCut(ctx: ControlContext, disk: LoopDisk): Promise<number> {
  const { supervisor } = ctx;
  supervisor.hold();
  const pid = supervisor.pid;
  if (pid) {
    const tree = [...childPids(pid), pid];
    for (const p of tree) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (
      let i = 0;
      i < 1000 &&
      (supervisor.pid !== null || tree.some((p) => existsSync(`/proc/${p}/cmdline`) && !zombie(p)));
      i++
    )
      await new Promise((r) => setTimeout(r, 10));
  }
  return disk.powerCut();
}

function zombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

export function describeFault(fault: DcFault): string {
  switch (fault.mode) {
    case 'pass':
      return 'no fault';
    case 'http-error':
      return `answers HTTP ${fault.status}${fault.retryAfterS !== undefined ? ` (Retry-After ${fault.retryAfterS} s)` : ''}`;
    case 'slow':
      return `answers after ${fault.delayMs} ms`;
    case 'reset':
      return 'cuts every connection mid-upload';
    case 'malformed':
      return 'answers uploads with a malformed STOW-RS response';
    case 'other-instance':
      return 'answers uploads claiming another instance was stored';
    case 'already-stored':
      return 'stores uploads, then answers that it had them already (409, 0x0111)';
    case 'claims-stored':
      return 'answers uploads that it has them already (409, 0x0111) without storing them';
  }
}

/** The `up` process's end: POST /control with a ControlCommand as JSON. Loopback only. */
export async function startControlServer(ctx: ControlContext): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const reply = (status: number, payload: object) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
      if (req.method !== 'POST' || req.url !== '/control') return reply(404, { error: 'POST /control only' });
      let command: ControlCommand;
      try {
        command = JSON.parse(body) as ControlCommand;
      } catch {
        return reply(400, { error: 'body is not JSON' });
      }
      execute(ctx, command).then(
        (message) => {
          ctx.onChange();
          reply(200, { message });
        },
        (error: Error) => reply(error instanceof ControlError ? 409 : 500, { error: error.message }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** The CLI's end. */
export async function sendControl(controlUrl: string, command: ControlCommand): Promise<string> {
  let response: Response;
  try {
    response = await fetch(`${controlUrl}/control`, { method: 'POST', body: JSON.stringify(command) });
  } catch (error) {
    throw new Error(
      `cannot reach the rig at ${controlUrl}: is \`telemed-rig up\` still running? (${(error as Error).message})`,
    );
  }
  const payload = (await response.json()) as { message?: string; error?: string };
  if (!response.ok) throw new Error(payload.error ?? `HTTP ${response.status}`);
  return payload.message ?? '';
}
