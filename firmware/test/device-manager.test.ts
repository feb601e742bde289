import test from 'ava';
import pino from 'pino';
import type { UsbEvent, UsbEventSource } from '#device-drivers';
import { DeviceManager } from '../src/devices/device-manager.ts';
import { EventBus } from '../src/events.ts';

class ScriptedSource implements UsbEventSource {
  emit: (event: UsbEvent) => void = () => {};
  problem: (message: string) => void = () => {};
  start(onEvent: (event: UsbEvent) => void, onProblem: (message: string) => void): void {
    this.emit = onEvent;
    this.problem = onProblem;
  }
  async stop(): Promise<void> {}
}

const CART = '/devices/platform/xhci-hcd.0/usb1/1-1/1-1.2';
const usb = (
  action: 'add' | 'remove',
  serial: string | null,
  busPath = 'platform-xhci-hcd.0-usb-0:1.2',
): UsbEvent => ({
  action,
  subsystem: 'usb',
  devpath: CART,
  devname: '/dev/bus/usb/001/004',
  vendorId: '1a86',
  productId: '7523',
  serialNumber: serial,
  busPath,
});
const tty = (action: 'add' | 'remove', name: string): UsbEvent => ({
  action,
  subsystem: 'tty',
  devpath: `${CART}/1-1.2:1.0/${name}/tty/${name}`,
  devname: `/dev/${name}`,
  vendorId: '1a86',
  productId: '7523',
  serialNumber: 'CART0042',
  busPath: null,
});

test('devices are named from the table, their ports followed across renumbering, arrivals wake the drivers', (t) => {
  const source = new ScriptedSource();
  const arrivals: string[] = [];
  let changes = 0;
  let clock = 0;
  const bus = new EventBus((error) => {
    throw error;
  });
  bus.on('test', (e) => {
    if (e.type === 'usb-arrival') arrivals.push(e.kind);
    if (e.type === 'changed') changes++;
  });
  const manager = new DeviceManager({
    source,
    log: pino({ level: 'silent' }),
    bus,
    now: () => new Date(Date.UTC(2026, 10, 28, 12, 0, clock++)),
  });
  manager.start();
  source.emit(usb('add', 'CART0042'));
  source.emit(tty('add', 'ttyUSB0'));
  const [cart] = manager.list();
  t.like(cart, {
    kind: 'usb-serial',
    name: 'WCH CH340 USB-serial',
    present: true,
    nodes: ['/dev/ttyUSB0'],
    arrivals: 1,
  });
  t.deepEqual(arrivals, ['tty']);
  // Unplugged and back on another port number: the same device, now ttyUSB1.
  source.emit(tty('remove', 'ttyUSB0'));
  source.emit(usb('remove', 'CART0042'));
  t.like(manager.list()[0], { present: false, nodes: [], departures: 1 });
  source.emit(usb('add', 'CART0042'));
  source.emit(tty('add', 'ttyUSB1'));
  t.is(manager.list().length, 1);
  t.like(manager.list()[0], { present: true, nodes: ['/dev/ttyUSB1'], arrivals: 2 });
  t.deepEqual(arrivals, ['tty', 'tty']);
  t.true(changes >= 6);
});

test('a device without a serial number is known by its physical port; an unknown one by its IDs; no udev is said once', (t) => {
  const source = new ScriptedSource();
  const manager = new DeviceManager({
    source,
    log: pino({ level: 'silent' }),
    bus: new EventBus(() => {}),
  });
  manager.start();
  source.emit(usb('add', null));
  t.is(manager.list()[0]?.key, 'port:platform-xhci-hcd.0-usb-0:1.2');
  source.emit({ ...usb('add', 'X1'), vendorId: 'dead', productId: 'beef', devpath: '/devices/x/1-3' });
  t.like(manager.list()[1], { kind: 'unknown', name: 'USB device dead:beef' });
  source.problem('udevadm is not installed: device arrivals are found by polling only');
  t.regex(manager.problem ?? '', /polling only/);
});
