import test from 'ava';
import { SimUsbBus } from '../src/usb/sim-usb-bus.ts';
import { localApi, until, world } from './helpers/harness.ts';

test.serial(
  'USB devices seen by the device manager: named from the table, renumbered ports followed, a replugged cart kicked back at once',
  async (t) => {
    const bus = new SimUsbBus();
    const w = await world({ deps: { usbEvents: bus } });
    t.teardown(() => w.stop());
    const api = localApi(w);
    const cable = w.rig.cables[0]!;
    const cartUsb = (name: string) => ({
      vendorId: '1a86',
      productId: '7523',
      serialNumber: 'CART0042',
      port: '1-1.2',
      node: { subsystem: 'tty' as const, name },
    });
    bus.plug(cartUsb('ttyUSB0'));
    await until('device listed', async () => (await api.status()).usbDevices.length === 1);
    t.like((await api.status()).usbDevices[0], {
      kind: 'usb-serial',
      name: 'WCH CH340 USB-serial',
      present: true,
      nodes: ['/dev/ttyUSB0'],
    });

    // The cable pulled: the cart looks for its port with a growing back-off.
    bus.unplug(cartUsb('ttyUSB0'));
    await cable.unplug();
    await until('cart searching', () => w.daemon.carts.get('cart-1')!.state === 'searching', 10_000);
    await new Promise((r) => setTimeout(r, 6000)); // several failed looks: the back-off is now seconds
    await cable.plug();
    const plugged = Date.now();
    bus.plug(cartUsb('ttyUSB1')); // back on another number, as ports renumber
    await until('cart connected', () => w.daemon.carts.get('cart-1')!.state === 'connected', 10_000);
    const back = Date.now() - plugged;
    t.true(back < 1500, `the arrival woke the cart: connected ${back} ms after the port came back`);
    const device = (await api.status()).usbDevices[0]!;
    t.like(device, { present: true, nodes: ['/dev/ttyUSB1'], arrivals: 2, departures: 1 });
    t.true(w.daemon.health().devices.usb.some((d) => d.name === 'WCH CH340 USB-serial' && d.present));
  },
);
