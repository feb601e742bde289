import type { Logger } from 'pino';
import {
  type DeviceKind,
  knownDevice,
  UdevadmMonitor,
  type UsbEvent,
  type UsbEventSource,
} from '#device-drivers';
import type { Config } from '../config/schema.ts';
import type { EventBus } from '../events.ts';
import type { Service } from '../service.ts';

/** A USB device the terminal has seen since it started, present or gone. */
export interface SeenDevice {
  /** Serial number when the device has one, else its physical port (same port, same device). */
  key: string;
  kind: DeviceKind | 'unknown';
  name: string;
  vendorId: string | null;
  productId: string | null;
  serialNumber: string | null;
  busPath: string | null;
  /** Its ports now (/dev/ttyUSB0, /dev/hidraw1): a port that renumbers shows here. */
  nodes: string[];
  present: boolean;
  firstSeen: string;
  lastSeen: string;
  arrivals: number;
  departures: number;
}

export interface DeviceManagerOptions {
  source: UsbEventSource;
  log: Logger;
  /** A serial port, HID node or document scanner arriving is told here ('usb-arrival'). */
  bus: EventBus;
  now?: () => Date;
}

/**
 * Sees USB devices come and go (udev), names them from the table of known models, keeps per
 * device presence and counters for health and the kiosk, and wakes the drivers waiting for a
 * device when one arrives — a replugged cart is back in well under a second instead of after
 * its back-off. Drivers still find their own port by identity (serial number, VID:PID), so a
 * port that renumbers (ttyACM0 → ttyACM1) is simply found under its new name.
 */
export class DeviceManager implements Service<SeenDevice[]> {
  readonly name = 'devices';
  private readonly devices = new Map<string, SeenDevice>();
  /** devpath → device key, to place a port's or a removal's event. */
  private readonly byDevpath = new Map<string, string>();
  problem: string | null = null;
  private readonly now: () => Date;

  constructor(private readonly options: DeviceManagerOptions) {
    this.now = options.now ?? (() => new Date());
  }

  start(): void {
    this.options.source.start(
      (event) => this.handle(event),
      (message) => {
        this.problem = message;
        this.options.log.warn({ problem: message }, 'device events unavailable');
        this.changed();
      },
    );
  }

  stop(): Promise<void> {
    return this.options.source.stop();
  }

  snapshot(): SeenDevice[] {
    return this.list();
  }

  private changed(): void {
    this.options.bus.emit({ type: 'changed', part: this.name });
  }

  private arrived(kind: 'tty' | 'hidraw' | 'document-scanner'): void {
    this.options.bus.emit({ type: 'usb-arrival', kind });
  }

  list(): SeenDevice[] {
    return [...this.devices.values()].map((d) => ({ ...d, nodes: [...d.nodes] }));
  }

  handle(event: UsbEvent): void {
    const at = this.now().toISOString();
    // A port's event belongs to the USB device it hangs under (its devpath starts with the device's).
    const parent = [...this.byDevpath.entries()].find(([path]) => event.devpath.startsWith(`${path}/`));
    const key =
      event.subsystem === 'usb'
        ? event.serialNumber
          ? `sn:${event.vendorId}:${event.productId}:${event.serialNumber}`
          : `port:${event.busPath ?? event.devpath}`
        : (parent?.[1] ?? null);
    if (event.subsystem === 'usb') {
      const known = event.vendorId && event.productId ? knownDevice(event.vendorId, event.productId) : null;
      const existing = this.devices.get(key as string);
      const device: SeenDevice = existing ?? {
        key: key as string,
        kind: known?.kind ?? 'unknown',
        name: known?.name ?? `USB device ${event.vendorId ?? '?'}:${event.productId ?? '?'}`,
        vendorId: event.vendorId,
        productId: event.productId,
        serialNumber: event.serialNumber,
        busPath: event.busPath,
        nodes: [],
        present: false,
        firstSeen: at,
        lastSeen: at,
        arrivals: 0,
        departures: 0,
      };
      device.lastSeen = at;
      if (event.action === 'add') {
        device.present = true;
        device.arrivals++;
        this.byDevpath.set(event.devpath, device.key);
        this.options.log.info({ device: device.name, key: device.key }, 'USB device arrived');
        if (device.kind === 'document-scanner') this.arrived('document-scanner');
      } else {
        device.present = false;
        device.departures++;
        device.nodes = [];
        this.byDevpath.delete(event.devpath);
        this.options.log.info({ device: device.name, key: device.key }, 'USB device gone');
      }
      this.devices.set(device.key, device);
    } else {
      const device = key ? this.devices.get(key) : undefined;
      if (device && event.devname) {
        device.nodes =
          event.action === 'add'
            ? [...new Set([...device.nodes, event.devname])]
            : device.nodes.filter((n) => n !== event.devname);
        device.lastSeen = at;
      }
      if (event.action === 'add') this.arrived(event.subsystem === 'tty' ? 'tty' : 'hidraw');
    }
    this.changed();
  }
}

const NO_USB_EVENTS: UsbEventSource = { start: () => {}, stop: async () => {} };

/** USB events as configured: udev's (udevadm monitor), or none where the board has no udev. */
export function usbEventSource(config: Pick<Config, 'usbEvents'>): UsbEventSource {
  return config.usbEvents === 'udev' ? new UdevadmMonitor() : NO_USB_EVENTS;
}
