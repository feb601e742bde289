import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import fc from 'fast-check';
import { parseLockPid, recoverStaleLock } from '../src/serial/stale-lock.ts';
import { KNOWN_DEVICES, knownDevice } from '../src/usb/known-devices.ts';
import { UdevEventReader, usbEvent } from '../src/usb/udev-events.ts';
import { udevRules } from '../src/usb/udev-rules.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** What `udevadm monitor --udev --property` prints when a CH340 cart cable is plugged in. */
const PLUG = `monitor will print the received events for:
UDEV - the event which udev sends out after rule processing

UDEV  [8123.456789] add      /devices/platform/xhci-hcd.0/usb1/1-1/1-1.2 (usb)
ACTION=add
DEVPATH=/devices/platform/xhci-hcd.0/usb1/1-1/1-1.2
SUBSYSTEM=usb
DEVNAME=/dev/bus/usb/001/004
DEVTYPE=usb_device
PRODUCT=1a86/7523/264
ID_VENDOR_ID=1a86
ID_MODEL_ID=7523
ID_SERIAL_SHORT=CART0042
ID_PATH=platform-xhci-hcd.0-usb-0:1.2

UDEV  [8123.467000] add      /devices/platform/xhci-hcd.0/usb1/1-1/1-1.2/1-1.2:1.0 (usb)
ACTION=add
DEVTYPE=usb_interface

UDEV  [8123.501234] add      /devices/platform/xhci-hcd.0/usb1/1-1/1-1.2/1-1.2:1.0/ttyUSB0/tty/ttyUSB0 (tty)
ACTION=add
SUBSYSTEM=tty
DEVNAME=/dev/ttyUSB0
ID_VENDOR_ID=1a86
ID_MODEL_ID=7523
ID_SERIAL_SHORT=CART0042
ID_PATH=platform-xhci-hcd.0-usb-0:1.2:1.0

`;

test('udev events: devices and their ports, split anywhere; interfaces and other subsystems skipped', (t) => {
  const expected = [
    {
      action: 'add',
      subsystem: 'usb',
      devpath: '/devices/platform/xhci-hcd.0/usb1/1-1/1-1.2',
      devname: '/dev/bus/usb/001/004',
      vendorId: '1a86',
      productId: '7523',
      serialNumber: 'CART0042',
      busPath: 'platform-xhci-hcd.0-usb-0:1.2',
    },
    {
      action: 'add',
      subsystem: 'tty',
      devpath: '/devices/platform/xhci-hcd.0/usb1/1-1/1-1.2/1-1.2:1.0/ttyUSB0/tty/ttyUSB0',
      devname: '/dev/ttyUSB0',
      vendorId: '1a86',
      productId: '7523',
      serialNumber: 'CART0042',
      busPath: 'platform-xhci-hcd.0-usb-0:1.2:1.0',
    },
  ];
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: PLUG.length }), { maxLength: 5 }), (cuts) => {
      const reader = new UdevEventReader();
      const points = [0, ...cuts.sort((a, b) => a - b), PLUG.length];
      const events = points.slice(1).flatMap((end, i) => reader.push(PLUG.slice(points[i], end)));
      t.deepEqual(
        events.map(usbEvent).filter((e) => e !== null),
        expected,
      );
    }),
    { numRuns: 100 },
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (text) => {
      for (const e of new UdevEventReader().push(text)) usbEvent(e);
      t.pass();
    }),
    { numRuns: 300 },
  );
});

test('known devices: exact product first, then the vendor; unknown is null', (t) => {
  t.is(knownDevice('1A86', '7523')?.kind, 'usb-serial');
  t.is(knownDevice('0x04c5', '132b')?.kind, 'document-scanner');
  t.is(knownDevice('0c2e', '0b61')?.name, 'Honeywell / Metrologic scanner');
  t.is(knownDevice('dead', 'beef'), null);
  const keys = KNOWN_DEVICES.map((d) => `${d.vendorId}:${d.productId}`);
  t.is(new Set(keys).size, keys.length, 'no device listed twice');
});

test('the udev rules the image ships are the ones made from the table (npm run udev-rules)', (t) => {
  const shipped = readFileSync(
    join(ROOT, 'yocto-layer/recipes-telemed/telemed-firmware/files/90-telemed-usb.rules'),
    'utf8',
  );
  t.is(shipped, udevRules());
  for (const d of KNOWN_DEVICES) t.true(shipped.includes(`ATTR{idVendor}=="${d.vendorId}"`));
  t.regex(shipped, /ATTR\{power\/control\}="on"/);
});

test('UUCP lock files: PIDs in either format; a dead holder’s lock removed, a live one named', async (t) => {
  t.is(parseLockPid(new TextEncoder().encode('      4242\n')), 4242);
  t.is(parseLockPid(Uint8Array.from([0x92, 0x10, 0, 0])), 4242);
  t.is(parseLockPid(new TextEncoder().encode('abc')), null);
  t.is(parseLockPid(new TextEncoder().encode('0')), null);
  const dir = mkdtempSync(join(tmpdir(), 'lock-'));
  const port = join(dir, 'ttyACM0');
  writeFileSync(join(dir, 'LCK..ttyACM0'), '   4194000\n');
  const stale = recoverStaleLock(port, { dirs: [dir], isAlive: () => false });
  t.like(stale, { state: 'removed', pid: 4194000 });
  t.false(existsSync(join(dir, 'LCK..ttyACM0')));
  const holder = spawn('sleep', ['30']);
  t.teardown(() => holder.kill());
  writeFileSync(join(dir, 'LCK..ttyACM0'), `${String(holder.pid).padStart(10)}\n`);
  t.like(recoverStaleLock(port, { dirs: [dir] }), { state: 'held', pid: holder.pid, holder: 'sleep' });
  t.true(existsSync(join(dir, 'LCK..ttyACM0')), 'a live holder’s lock stays');
  t.deepEqual(recoverStaleLock(join(dir, 'ttyUSB9'), { dirs: [dir] }), { state: 'none' });
});
